using System.Collections.Concurrent;
using Reclaim.Core.Storage;

namespace Reclaim.Testing;

/// <summary>
/// An <see cref="InterceptingStore"/> with object tagging (<see cref="IObjectTagging"/>) kept in memory beside a real
/// store, as S3 keeps tags beside an object: the gate then quarantines on it in place, as on an s3 store with
/// <c>quarantine_mode: tag</c>. Every tag request is recorded (<c>get-tags</c>, <c>put-tags</c>) and passes
/// <see cref="InterceptingStore.Before"/> first, so a test can fail, cancel or race it.
/// </summary>
/// <remarks>
/// A tag set belongs to the object it was put on: once the key holds another object (written again, or deleted and
/// written again — another size or modification time), it has no tags, as a new S3 object has none. A put of more
/// than 10 tags is refused as S3 refuses it.
/// </remarks>
/// <param name="inner">The real store.</param>
public sealed class TaggingStore(IObjectStore inner) : InterceptingStore(inner), IObjectTagging
{
    /// <summary>Tags S3 allows on one object.</summary>
    public const int MaxTags = 10;

    private readonly ConcurrentDictionary<string, (StoredObject Object, IReadOnlyDictionary<string, string> Tags)> _tags = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    /// <remarks>True unless a test sets it (a store whose <c>quarantine_mode</c> is not <c>tag</c>).</remarks>
    public bool QuarantinesByTag { get; set; } = true;

    /// <summary>Every tag set put, in the order the puts reached the store (after <see cref="InterceptingStore.Before"/>).</summary>
    public ConcurrentQueue<(string Key, IReadOnlyDictionary<string, string> Tags)> Puts { get; } = new();

    /// <inheritdoc/>
    public async Task<IReadOnlyDictionary<string, string>?> GetTagsAsync(string key, CancellationToken cancellationToken)
    {
        await SeeAsync("get-tags", [key], cancellationToken);
        return await Inner.StatAsync(key, cancellationToken) is { } current ? TagsOf(key, current) : null;
    }

    /// <inheritdoc/>
    public async Task PutTagsAsync(string key, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tags);
        await SeeAsync("put-tags", [key], cancellationToken);
        if (tags.Count > MaxTags)
        {
            throw new InvalidOperationException($"BadRequest: object tags cannot be greater than {MaxTags}");
        }

        var current = await Inner.StatAsync(key, cancellationToken) ?? throw new ObjectNotFoundException(key);
        var copy = new Dictionary<string, string>(tags, StringComparer.Ordinal);
        _tags[key] = (current, copy);
        Puts.Enqueue((key, copy));
    }

    /// <summary>Sets an object's tags without a request (the application's own tags, or another run's).</summary>
    /// <param name="key">An existing object's key.</param>
    /// <param name="tags">The whole tag set.</param>
    /// <returns>A task.</returns>
    public async Task SetTagsAsync(string key, params (string Key, string Value)[] tags)
    {
        var current = await Inner.StatAsync(key, CancellationToken.None) ?? throw new ObjectNotFoundException(key);
        _tags[key] = (current, tags.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal));
    }

    /// <summary>An object's tags now, without a request: empty when it has none, <see langword="null"/> when there is no object.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The tags.</returns>
    public async Task<IReadOnlyDictionary<string, string>?> TagsAsync(string key) =>
        await Inner.StatAsync(key, CancellationToken.None) is { } current ? TagsOf(key, current) : null;

    private IReadOnlyDictionary<string, string> TagsOf(string key, StoredObject current) =>
        _tags.TryGetValue(key, out var held) && current.IsUnchangedSince(held.Object)
            ? new Dictionary<string, string>(held.Tags, StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
}
