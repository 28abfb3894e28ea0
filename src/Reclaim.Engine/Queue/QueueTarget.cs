using System.Text;
using Reclaim.Core.Layouts;
using Reclaim.Core.Storage;

namespace Reclaim.Engine.Queue;

/// <summary>What one request removes: a single key or a folder prefix (ending in <c>/</c>), never both.</summary>
/// <param name="Key">The object, or <see langword="null"/>.</param>
/// <param name="Prefix">The folder, or <see langword="null"/>.</param>
/// <param name="Group">
/// The layout group the request is about (a folder ending in <c>/</c>, or the key itself for an object layout), when
/// the policy has a layout; its <c>references</c> are looked up for this group. <see langword="null"/> otherwise.
/// </param>
public readonly record struct QueueTarget(string? Key, string? Prefix, string? Group = null)
{
    /// <summary>The key or the prefix, for logs and errors.</summary>
    public string Text => Key ?? Prefix ?? string.Empty;

    /// <summary>
    /// Turns a request's path into what it removes, or says why the request must not be executed. The checks
    /// come first and are all textual: nothing is listed or deleted for a request that fails one.
    /// </summary>
    /// <param name="path">The request's <c>storage_path</c> (or key/prefix for the own queue).</param>
    /// <param name="folder">Whether the policy's target is <c>folder</c>.</param>
    /// <param name="folderDepth">Segments dropped from the path for a folder target (1 or more): <c>orgs/1/uploads/2/raw/a.mp4</c> with 2 is <c>orgs/1/uploads/2/</c>.</param>
    /// <param name="requirePrefix">The folder every target must lie inside (ending in <c>/</c>), or <see langword="null"/>.</param>
    /// <param name="target">The target when valid.</param>
    /// <param name="layout">
    /// The policy's layout, or <see langword="null"/>. With a layout, <paramref name="folderDepth"/> is not used: a folder
    /// target is the layout group holding the path (never a shallower prefix), a key target must be a key of the
    /// layout, and a path the layout does not match is rejected.
    /// </param>
    /// <returns>The reason the request is rejected, or <see langword="null"/> when <paramref name="target"/> is set.</returns>
    public static string? TryResolve(string? path, bool folder, int folderDepth, string? requirePrefix, out QueueTarget target, Layout? layout = null)
    {
        target = default;
        var shown = Shown(path);
        if (CheckText(path) is { } problem || path is null)
        {
            return CheckText(path) ?? "rejected: the path is NULL; nothing was deleted";
        }

        if (requirePrefix is { Length: > 0 } && !path.StartsWith(requirePrefix, StringComparison.Ordinal))
        {
            return $"rejected: the path {shown} is outside require_prefix '{requirePrefix}'; nothing was deleted";
        }

        if (layout is not null)
        {
            return ResolveByLayout(path, shown, folder, requirePrefix, layout, out target);
        }

        if (!folder)
        {
            if (path[^1] == '/')
            {
                return $"rejected: the path {shown} names a folder, but the policy's target is key; nothing was deleted";
            }

            target = new QueueTarget(path, null);
            return null;
        }

        if (path[^1] == '/')
        {
            return $"rejected: the path {shown} ends in '/': a folder target needs an object's path to drop {folderDepth} segments from; nothing was deleted";
        }

        var segments = path.Split('/');
        var kept = segments.Length - folderDepth;
        if (kept < 1)
        {
            return $"rejected: the path {shown} has {segments.Length} segments; folder_depth {folderDepth} leaves no folder; nothing was deleted";
        }

        var prefix = string.Join('/', segments[..kept]) + "/";
        if (prefix.Trim('/').Length == 0)
        {
            return $"rejected: the path {shown} expands to the empty folder '{prefix}'; nothing was deleted";
        }

        if (requirePrefix is { Length: > 0 } && prefix.Length <= requirePrefix.Length)
        {
            return $"rejected: the path {shown} expands to '{prefix}', which is require_prefix '{requirePrefix}' or above it (wrong depth?); nothing was deleted";
        }

        target = new QueueTarget(null, prefix);
        return null;
    }

    private static string? ResolveByLayout(string path, string shown, bool folder, string? requirePrefix, Layout layout, out QueueTarget target)
    {
        target = default;
        if (!folder && path[^1] == '/')
        {
            return $"rejected: the path {shown} names a folder, but the policy's target is key; nothing was deleted";
        }

        // A folder layout's group is the folder holding the path (or the path, when it names that folder); an
        // object layout's group is the key itself.
        var group = layout.MatchGroup(path);
        if (group is null)
        {
            return $"rejected: the path {shown} does not match the policy's layout '{layout.Template}', so no group holds it; nothing was deleted";
        }

        if (requirePrefix is { Length: > 0 } && !(group.StartsWith(requirePrefix, StringComparison.Ordinal) && group.Length > requirePrefix.Length))
        {
            return $"rejected: the path {shown} is in the group '{Shorten(ObjectKey.Printable(group))}', which is not inside require_prefix '{requirePrefix}'; nothing was deleted";
        }

        target = folder ? new QueueTarget(null, group, group) : new QueueTarget(path, null, group);
        return null;
    }

    /// <summary>
    /// The textual checks every request passes before anything else: not empty, no NUL, no backslash, no <c>..</c>
    /// or <c>.</c> segment, at most <see cref="ObjectKey.MaxKeyBytes"/> UTF-8 bytes, a valid relative key.
    /// </summary>
    /// <param name="path">The path, key or prefix.</param>
    /// <returns>Why it is rejected, or <see langword="null"/>.</returns>
    public static string? CheckText(string? path)
    {
        var shown = Shown(path);
        if (string.IsNullOrWhiteSpace(path))
        {
            return $"rejected: the path {shown} is empty; nothing was deleted";
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            return $"rejected: the path {shown} contains a NUL character; nothing was deleted";
        }

        if (path.Contains('\\', StringComparison.Ordinal))
        {
            return $"rejected: the path {shown} contains a backslash; nothing was deleted";
        }

        if (path.Split('/').Any(s => s is ".." or "."))
        {
            return $"rejected: the path {shown} has a '..' or '.' segment; nothing was deleted";
        }

        var bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes > ObjectKey.MaxKeyBytes)
        {
            return $"rejected: the path {shown} is {bytes} bytes long, more than a key may be ({ObjectKey.MaxKeyBytes}); nothing was deleted";
        }

        if (ObjectKey.Validate(path) is { } invalid)
        {
            return $"rejected: the path {shown} is not a valid key ({invalid}); nothing was deleted";
        }

        return null;
    }

    /// <summary>Checks a folder prefix given directly (the own queue): the textual checks, and it must end in <c>/</c>.</summary>
    /// <param name="prefix">The prefix.</param>
    /// <returns>Why it is rejected, or <see langword="null"/>.</returns>
    public static string? CheckPrefix(string? prefix) =>
        CheckText(prefix) ?? (prefix![^1] == '/' ? null : $"rejected: the prefix {Shown(prefix)} does not end in '/': prefixes are folders; nothing was deleted");

    /// <summary>
    /// Checks a request of the own queue: a key (as <see cref="TryResolve"/> with a key target) or a folder prefix
    /// (<see cref="CheckPrefix"/>), inside <paramref name="requirePrefix"/> when given and, for a prefix, deeper
    /// than it (emptying all of <c>require_prefix</c> is what it exists to prevent).
    /// </summary>
    /// <param name="key">The key, or <see langword="null"/> for a prefix request.</param>
    /// <param name="prefix">The prefix, or <see langword="null"/> for a key request.</param>
    /// <param name="requirePrefix">The request's store's <c>own_queue.require_prefix</c>, or <see langword="null"/>.</param>
    /// <param name="target">The target when valid.</param>
    /// <returns>Why it is rejected, or <see langword="null"/> when <paramref name="target"/> is set.</returns>
    public static string? TryResolveOwn(string? key, string? prefix, string? requirePrefix, out QueueTarget target)
    {
        if (key is not null)
        {
            return TryResolve(key, folder: false, 1, requirePrefix, out target);
        }

        target = default;
        if (CheckPrefix(prefix) is { } problem)
        {
            return problem;
        }

        if (requirePrefix is { Length: > 0 } && !(prefix!.StartsWith(requirePrefix, StringComparison.Ordinal) && prefix.Length > requirePrefix.Length))
        {
            return $"rejected: the prefix {Shown(prefix)} is not inside require_prefix '{requirePrefix}' of its store; nothing was deleted";
        }

        target = new QueueTarget(null, prefix);
        return null;
    }

    private static string Shown(string? path) => path is null ? "NULL" : $"'{Shorten(ObjectKey.Printable(path))}'";

    private static string Shorten(string text) => text.Length <= 200 ? text : string.Concat(text.AsSpan(0, 200), "...");
}
