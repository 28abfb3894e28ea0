using System.Text;
using System.Text.RegularExpressions;
using Reclaim.Core.References;

namespace Reclaim.Core.Layouts;

/// <summary>
/// A key template that says how keys map to owners (docs/configuration.md, "Layouts"). <c>{name}</c> matches exactly one
/// non-empty path segment, optionally between literal text in the same segment (<c>{id}.mp3</c>);
/// <c>{name...}</c>, allowed only as the whole last segment, matches one or more non-empty segments. A
/// template ending in <c>/</c> makes folder groups: every object under the rendered prefix belongs to one group.
/// Otherwise each object is its own group.
/// </summary>
/// <remarks>Matching and rendering are ordinal and byte-exact: no case folding, normalisation or trimming.</remarks>
public sealed partial class Layout
{
    /// <summary>Initial size of the per-thread buffer a key is rendered into for its fingerprint: 256 characters (it grows as needed).</summary>
    private const int RenderBufferChars = 256;

    private readonly Segment[] _segments;

    private Layout(string template, Segment[] segments, bool isFolder, IReadOnlyList<string> variables)
    {
        Template = template;
        _segments = segments;
        IsFolder = isFolder;
        Variables = variables;
        FixedPrefix = ComputeFixedPrefix(segments);
    }

    /// <summary>The template as written in the config.</summary>
    public string Template { get; }

    /// <summary>Whether the template ends in <c>/</c>: each group is a folder of objects.</summary>
    public bool IsFolder { get; }

    /// <summary>The variable names in template order (each at most once).</summary>
    public IReadOnlyList<string> Variables { get; }

    /// <summary>
    /// The longest literal folder prefix of the template (<c>orgs/</c> for <c>orgs/{org}/uploads/{asset}/</c>;
    /// empty when the first segment is a variable): listing only this prefix finds every matching key.
    /// </summary>
    public string FixedPrefix { get; }

    /// <summary>Parses a template.</summary>
    /// <param name="template">The template text.</param>
    /// <param name="layout">The layout, when the template is valid.</param>
    /// <param name="error">Why the template is invalid, when it is.</param>
    /// <returns><see langword="true"/> when the template is valid.</returns>
    public static bool TryParse(string? template, out Layout? layout, out string? error)
    {
        layout = null;
        error = Parse(template, out var segments, out var isFolder, out var variables);
        if (error is null)
        {
            layout = new Layout(template!, segments!, isFolder, variables!);
        }

        return error is null;
    }

    /// <summary>Parses a template.</summary>
    /// <param name="template">The template text.</param>
    /// <returns>The layout.</returns>
    /// <exception cref="FormatException">The template is invalid; the message says why.</exception>
    public static Layout Parse(string template) =>
        TryParse(template, out var layout, out var error) ? layout! : throw new FormatException(error);

    /// <summary>
    /// Finds the group a key belongs to.
    /// </summary>
    /// <param name="key">An object key.</param>
    /// <returns>
    /// The group key (for a folder layout the rendered prefix ending in <c>/</c>; otherwise the key itself), or
    /// <see langword="null"/> when the key does not match (the object is <c>unmatched</c>, never touched).
    /// </returns>
    public string? MatchGroup(string key)
    {
        var length = MatchGroupLength(key);
        return length < 0 ? null : length == key.Length ? key : key[..length];
    }

    /// <summary>
    /// Finds the group a key belongs to without making a string: the group key is always a prefix of the key
    /// (the whole key for an object layout, up to and including a <c>/</c> for a folder layout).
    /// </summary>
    /// <param name="key">An object key.</param>
    /// <returns>The group key's length in chars, or -1 when the key does not match (the object is <c>unmatched</c>).</returns>
    public int MatchGroupLength(ReadOnlySpan<char> key)
    {
        var position = 0;
        for (var i = 0; i < _segments.Length; i++)
        {
            var segment = _segments[i];
            if (segment.IsRest)
            {
                return IsValidRest(key[position..]) ? key.Length : -1;
            }

            var end = key[position..].IndexOf('/');
            var isLast = i == _segments.Length - 1;
            if (end < 0)
            {
                // The key ends inside this segment: a match only for the last segment of an object layout.
                return isLast && !IsFolder && segment.Matches(key[position..]) ? key.Length : -1;
            }

            if (!segment.Matches(key.Slice(position, end)))
            {
                return -1;
            }

            position += end + 1;
            if (isLast)
            {
                // An object layout's last segment must end the key; a folder layout's group holds what follows.
                return IsFolder ? position : -1;
            }
        }

        return -1;
    }

    /// <summary>
    /// Renders the group key for one reference: the variables' values in <see cref="Variables"/> order.
    /// </summary>
    /// <param name="values">One value per variable, in <see cref="Variables"/> order.</param>
    /// <returns>
    /// The group key, or <see langword="null"/> when a value is missing (SQL NULL), empty, or could never match
    /// (a <c>/</c> inside a one-segment variable, an empty segment): such a reference protects nothing, and is
    /// counted so a plan can warn about it.
    /// </returns>
    public string? Render(ReadOnlySpan<string?> values)
    {
        var sink = new StringSink(new StringBuilder(64));
        return TryRender(values, ref sink) ? sink.Builder.ToString() : null;
    }

    /// <summary>
    /// The <see cref="KeyFingerprint"/> of what <see cref="Render"/> would return, computed without building the
    /// key (the planner reads millions of references this way).
    /// </summary>
    /// <param name="values">One value per variable, in <see cref="Variables"/> order.</param>
    /// <returns>The fingerprint, or <see langword="null"/> where <see cref="Render"/> returns <see langword="null"/>.</returns>
    public ulong? RenderFingerprint(ReadOnlySpan<string?> values)
    {
        var sink = new BufferSink();
        return TryRender(values, ref sink) ? KeyFingerprint.Of(sink.Written) : null;
    }

    /// <summary>
    /// The <see cref="KeyFingerprint"/> of the rendered key for values held as spans of one character buffer: a
    /// catalog can fingerprint a row without allocating a string per value.
    /// </summary>
    /// <param name="buffer">The characters of every value, back to back.</param>
    /// <param name="values">Where each value lies in <paramref name="buffer"/>, in <see cref="Variables"/> order; a value whose <see cref="Range"/> is <c>default</c> and marked in <paramref name="nulls"/> is SQL NULL.</param>
    /// <param name="nulls">Per value, whether it is SQL NULL.</param>
    /// <returns>The fingerprint, or <see langword="null"/> where <see cref="Render"/> would return <see langword="null"/>.</returns>
    public ulong? RenderFingerprint(ReadOnlySpan<char> buffer, ReadOnlySpan<Range> values, ReadOnlySpan<bool> nulls)
    {
        var sink = new BufferSink();
        var source = new SpanValues(buffer, values, nulls);
        return TryRender(ref source, ref sink) ? KeyFingerprint.Of(sink.Written) : null;
    }

    private bool TryRender<TSink>(ReadOnlySpan<string?> values, ref TSink sink)
        where TSink : struct, IKeySink
    {
        var source = new StringValues(values);
        return TryRender(ref source, ref sink);
    }

    private bool TryRender<TValues, TSink>(ref TValues values, ref TSink sink)
        where TValues : struct, IValueSource, allows ref struct
        where TSink : struct, IKeySink
    {
        if (values.Count != Variables.Count)
        {
            throw new ArgumentException($"expected {Variables.Count} values, got {values.Count}", nameof(values));
        }

        var index = 0;
        for (var i = 0; i < _segments.Length; i++)
        {
            var segment = _segments[i];
            if (i > 0)
            {
                sink.Append("/");
            }

            if (segment.Variable is null)
            {
                sink.Append(segment.Prefix);
                continue;
            }

            if (values.IsNull(index))
            {
                return false;
            }

            var value = values.Get(index++);
            if (value.IsEmpty)
            {
                return false;
            }

            if (segment.IsRest ? !IsValidRest(value) : value.Contains('/'))
            {
                return false;
            }

            sink.Append(segment.Prefix);
            sink.Append(value);
            sink.Append(segment.Suffix);
        }

        if (IsFolder)
        {
            sink.Append("/");
        }

        return true;
    }

    private interface IValueSource
    {
        int Count { get; }

        bool IsNull(int index);

        ReadOnlySpan<char> Get(int index);
    }

    private readonly ref struct StringValues(ReadOnlySpan<string?> values) : IValueSource
    {
        private readonly ReadOnlySpan<string?> _values = values;

        public int Count => _values.Length;

        public bool IsNull(int index) => _values[index] is null;

        public ReadOnlySpan<char> Get(int index) => _values[index];
    }

    private readonly ref struct SpanValues(ReadOnlySpan<char> buffer, ReadOnlySpan<Range> values, ReadOnlySpan<bool> nulls) : IValueSource
    {
        private readonly ReadOnlySpan<char> _buffer = buffer;
        private readonly ReadOnlySpan<Range> _values = values;
        private readonly ReadOnlySpan<bool> _nulls = nulls;

        public int Count => _values.Length;

        public bool IsNull(int index) => _nulls[index];

        public ReadOnlySpan<char> Get(int index) => _buffer[_values[index]];
    }

    private interface IKeySink
    {
        void Append(ReadOnlySpan<char> part);
    }

    private readonly struct StringSink(StringBuilder builder) : IKeySink
    {
        public StringBuilder Builder { get; } = builder;

        public void Append(ReadOnlySpan<char> part) => Builder.Append(part);
    }

    /// <summary>
    /// Collects a rendered key in a per-thread buffer that only ever grows: fingerprinting a reference allocates
    /// nothing.
    /// </summary>
    private struct BufferSink : IKeySink
    {
        [ThreadStatic]
        private static char[]? t_buffer;

        private char[] _buffer;
        private int _length;

        public BufferSink() => _buffer = t_buffer ??= new char[RenderBufferChars];

        public readonly ReadOnlySpan<char> Written => _buffer.AsSpan(0, _length);

        public void Append(ReadOnlySpan<char> part)
        {
            if (_length + part.Length > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_length + part.Length, _buffer.Length * 2));
                t_buffer = _buffer;
            }

            part.CopyTo(_buffer.AsSpan(_length));
            _length += part.Length;
        }
    }

    /// <summary>
    /// The variables' values of a group key produced by <see cref="MatchGroup"/>, in <see cref="Variables"/>
    /// order: the inverse of <see cref="Render"/>.
    /// </summary>
    /// <param name="groupKey">A group key this layout matched.</param>
    /// <returns>The values.</returns>
    /// <exception cref="ArgumentException">The key is not a group key of this layout.</exception>
    public string[] ExtractValues(string groupKey)
    {
        // A folder group key ends in '/': an object under it is what the layout matches.
        if (MatchGroupLength(IsFolder ? groupKey + "x" : groupKey) != groupKey.Length)
        {
            throw new ArgumentException($"'{groupKey}' is not a group key of layout '{Template}'", nameof(groupKey));
        }

        // Walks the segments the way MatchGroupLength does, making a string only for each value.
        var values = new string[Variables.Count];
        var key = IsFolder ? groupKey.AsSpan(0, groupKey.Length - 1) : groupKey.AsSpan();
        var position = 0;
        var index = 0;
        for (var i = 0; i < _segments.Length; i++)
        {
            var segment = _segments[i];
            if (segment.IsRest)
            {
                values[index++] = key[position..].ToString();
                break;
            }

            var end = key[position..].IndexOf('/');
            var part = end < 0 ? key[position..] : key.Slice(position, end);
            if (segment.Variable is not null)
            {
                values[index++] = part[segment.Prefix.Length..^segment.Suffix.Length].ToString();
            }

            position += part.Length + 1;
        }

        return values;
    }

    /// <summary>
    /// Whether the objects under a folder prefix may belong to more than one group of this layout: the prefix
    /// matches the layout's leading segments and stops above a variable segment (<c>orgs/</c> or <c>orgs/1/uploads/</c>
    /// for <c>orgs/{org}/uploads/{asset}/</c>; any matching folder for an object layout, whose objects are each a
    /// group). A prefix at or inside one group (<c>orgs/1/uploads/2/raw/</c>), or one no key of the layout lies
    /// under (<c>exports/</c>), spans no more than one.
    /// </summary>
    /// <param name="prefix">A folder prefix, ending in <c>/</c>.</param>
    /// <returns><see langword="true"/> when two keys under the prefix can be in different groups.</returns>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> does not end in <c>/</c>.</exception>
    public bool SpansGroups(string prefix)
    {
        if (prefix.Length == 0 || prefix[^1] != '/')
        {
            throw new ArgumentException($"'{prefix}' is not a folder prefix (ending in '/')", nameof(prefix));
        }

        var parts = prefix[..^1].Split('/');
        for (var i = 0; i < _segments.Length; i++)
        {
            var segment = _segments[i];
            if (segment.IsRest)
            {
                // The rest of the key is the group's: every object below is a group of its own.
                return true;
            }

            if (i == parts.Length)
            {
                // The prefix stops here: several groups below it unless the rest of the template is all literal.
                return _segments.Skip(i).Any(s => s.Variable is not null);
            }

            if (!segment.Matches(parts[i]))
            {
                return false;
            }
        }

        // The prefix is as deep as the template or deeper: inside one folder group, or below any object key.
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => Template;

    private static bool IsValidRest(ReadOnlySpan<char> rest)
    {
        if (rest.IsEmpty || rest[^1] == '/')
        {
            return false;
        }

        return !rest.Contains("//", StringComparison.Ordinal);
    }

    private static string ComputeFixedPrefix(Segment[] segments)
    {
        var builder = new StringBuilder();
        foreach (var segment in segments)
        {
            if (segment.Variable is not null)
            {
                break;
            }

            builder.Append(segment.Prefix).Append('/');
        }

        return builder.ToString();
    }

    private static string? Parse(string? template, out Segment[]? segments, out bool isFolder, out IReadOnlyList<string>? variables)
    {
        segments = null;
        variables = null;
        isFolder = false;
        if (string.IsNullOrEmpty(template))
        {
            return "the layout is empty";
        }

        if (template[0] == '/')
        {
            return "a layout is relative to the store: it must not start with '/'";
        }

        if (template.Contains('\\', StringComparison.Ordinal) || template.Contains('\0', StringComparison.Ordinal))
        {
            return "a layout must not contain a backslash or NUL";
        }

        isFolder = template[^1] == '/';
        var body = isFolder ? template[..^1] : template;
        var parts = body.Split('/');
        var list = new List<Segment>(parts.Length);
        var names = new List<string>();
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part.Length == 0)
            {
                return "a layout must not have an empty segment ('//')";
            }

            if (part is "." or "..")
            {
                return $"a layout must not have a '{part}' segment";
            }

            var matches = VariablePattern().Matches(part);
            if (matches.Count == 0)
            {
                if (part.Contains('{', StringComparison.Ordinal) || part.Contains('}', StringComparison.Ordinal))
                {
                    return $"segment '{part}' has a brace that is not a variable: variables are {{name}} or {{name...}}, with name a letter or '_' followed by letters, digits or '_'";
                }

                list.Add(new Segment(part, null, string.Empty, false));
                continue;
            }

            if (matches.Count > 1)
            {
                return $"segment '{part}' has more than one variable; a segment holds at most one";
            }

            var match = matches[0];
            var prefix = part[..match.Index];
            var suffix = part[(match.Index + match.Length)..];
            if (prefix.Contains('{', StringComparison.Ordinal) || prefix.Contains('}', StringComparison.Ordinal) ||
                suffix.Contains('{', StringComparison.Ordinal) || suffix.Contains('}', StringComparison.Ordinal))
            {
                return $"segment '{part}' has a brace that is not a variable";
            }

            var name = match.Groups[1].Value;
            var isRest = match.Groups[2].Success;
            if (names.Contains(name, StringComparer.Ordinal))
            {
                return $"variable '{name}' appears twice";
            }

            if (isRest)
            {
                if (i != parts.Length - 1)
                {
                    return $"'{{{name}...}}' matches the rest of the key, so it must be the last segment";
                }

                if (isFolder)
                {
                    return $"'{{{name}...}}' matches the rest of the key, so the layout cannot also end in '/'";
                }

                if (prefix.Length > 0 || suffix.Length > 0)
                {
                    return $"'{{{name}...}}' must be a whole segment";
                }
            }

            names.Add(name);
            list.Add(new Segment(prefix, name, suffix, isRest));
        }

        if (names.Count == 0)
        {
            return "a layout needs at least one variable ({name} or {name...}) so references can name its groups";
        }

        segments = [.. list];
        variables = names;
        return null;
    }

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}", RegexOptions.CultureInvariant)]
    private static partial Regex VariablePattern();

    /// <summary>One segment: a literal (<see cref="Variable"/> null, text in <see cref="Prefix"/>) or a variable between literals.</summary>
    private sealed record Segment(string Prefix, string? Variable, string Suffix, bool IsRest)
    {
        public bool Matches(ReadOnlySpan<char> part)
        {
            if (Variable is null)
            {
                return part.SequenceEqual(Prefix);
            }

            return part.Length > Prefix.Length + Suffix.Length &&
                   part.StartsWith(Prefix, StringComparison.Ordinal) &&
                   part.EndsWith(Suffix, StringComparison.Ordinal);
        }
    }
}
