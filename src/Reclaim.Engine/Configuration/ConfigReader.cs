using System.Globalization;
using Reclaim.Core;
using YamlDotNet.RepresentationModel;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// Reads YAML nodes into values for <see cref="ConfigBinder"/>: interpolates scalars, checks types, and collects
/// every problem with its position instead of stopping at the first.
/// </summary>
/// <param name="file">The config file's path, for locations.</param>
/// <param name="variables">A variable's value, or <see langword="null"/> when unset.</param>
internal sealed class ConfigReader(string file, Func<string, string?> variables)
{
    private readonly List<ConfigError> _errors = [];

    /// <summary>Every problem found so far.</summary>
    public IReadOnlyList<ConfigError> Errors => _errors;

    /// <summary>A variable's value (as <c>${NAME}</c> would read it), or <see langword="null"/> when unset.</summary>
    public string? Variable(string name) => variables(name);

    public ConfigLocation At(YamlNode node) => new(file, checked((int)node.Start.Line), checked((int)node.Start.Column));

    public void Error(YamlNode node, string message) => _errors.Add(new ConfigError(At(node), message));

    /// <summary>Whether a node stands for "no value": an empty plain scalar, <c>~</c> or <c>null</c>.</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    /// <summary>The interpolated text of a scalar; an error and <see langword="null"/> for a mapping, a list or a failed interpolation.</summary>
    public string? Text(YamlNode node, string path, string expected = "a text value")
    {
        if (node is not YamlScalarNode scalar)
        {
            Error(node, $"{path}: expected {expected}, found {Describe(node)}");
            return null;
        }

        var text = Interpolation.Expand(scalar.Value ?? string.Empty, variables, out var error);
        if (error is not null)
        {
            Error(node, $"{path}: {error}");
        }

        return text;
    }

    /// <summary>A mapping as a section; an error and <see langword="null"/> for anything else.</summary>
    /// <param name="node">The node.</param>
    /// <param name="path">Its dotted path for messages (<c>stores.media</c>).</param>
    /// <param name="anchor">Where to report a missing key: the key that names the mapping, or the mapping itself.</param>
    /// <param name="expected">What was expected, for the message.</param>
    public ConfigSection? Section(YamlNode node, string path, YamlNode anchor, string expected = "a mapping of 'key: value' lines")
    {
        if (node is YamlMappingNode mapping)
        {
            return new ConfigSection(this, mapping, path, anchor);
        }

        Error(node, $"{path}: expected {expected}, found {Describe(node)}");
        return null;
    }

    /// <summary>The items of a list; an error and no items for anything else.</summary>
    public IReadOnlyList<YamlNode> Items(YamlNode node, string path, string expected)
    {
        if (node is YamlSequenceNode sequence)
        {
            return [.. sequence.Children];
        }

        Error(node, $"{path}: expected {expected}, found {Describe(node)}");
        return [];
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping ('key: value' lines)",
        YamlSequenceNode => "a list ('- item' lines or [a, b])",
        _ when IsNull(node) => "no value",
        YamlScalarNode scalar => $"'{scalar.Value}'",
        _ => "an unsupported node",
    };
}

/// <summary>One YAML mapping being read: typed access to its keys, errors located at values (or, for a missing key, at the anchor).</summary>
internal sealed class ConfigSection
{
    private readonly ConfigReader _reader;
    private readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);

    public ConfigSection(ConfigReader reader, YamlMappingNode node, string path, YamlNode anchor)
    {
        _reader = reader;
        Node = node;
        Path = path;
        Anchor = anchor;
        foreach (var (key, value) in node.Children)
        {
            if (key is YamlScalarNode { Value: not null } scalar)
            {
                _entries[scalar.Value] = (scalar, value);
            }
            else
            {
                reader.Error(key, $"{path}: a key must be plain text, found {ConfigReader.Describe(key)}");
            }
        }
    }

    public YamlMappingNode Node { get; }

    /// <summary>The dotted path for messages; a policy's becomes <c>policies.NAME</c> once its name is read.</summary>
    public string Path { get; set; }

    public YamlNode Anchor { get; }

    public ConfigReader Reader => _reader;

    /// <summary>The dotted path of <paramref name="key"/> in this mapping, for messages.</summary>
    public string PathOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    private string Where => Path.Length == 0 ? "top level" : Path;

    /// <summary>The keys as written, in file order.</summary>
    public IEnumerable<(string Name, YamlScalarNode Node)> Keys => _entries.Select(e => (Name: e.Key, Node: e.Value.Key)).OrderBy(e => e.Node.Start.Index);

    /// <summary>Reports every key not in <paramref name="allowed"/>, suggesting the nearest one.</summary>
    /// <param name="allowed">The keys this mapping takes.</param>
    /// <param name="misplaced">For a key that is known elsewhere (another store or policy type), why it does not apply here; <see langword="null"/> otherwise.</param>
    public void CheckKeys(IReadOnlyList<string> allowed, Func<string, string?>? misplaced = null)
    {
        foreach (var (name, node) in Keys)
        {
            if (allowed.Contains(name, StringComparer.Ordinal))
            {
                continue;
            }

            var reason = misplaced?.Invoke(name);
            if (reason is not null)
            {
                _reader.Error(node, $"{Where}: '{name}' {reason}");
                continue;
            }

            var suggestion = Suggestions.Closest(name, allowed);
            _reader.Error(node, suggestion is null
                ? $"{Where}: unknown key '{name}'; known keys: {string.Join(", ", allowed)}"
                : $"{Where}: unknown key '{name}'; did you mean '{suggestion}'?");
        }
    }

    /// <summary>The value of <paramref name="key"/>, or <see langword="null"/> when the key is absent or has no value.</summary>
    public YamlNode? Value(string key) =>
        _entries.TryGetValue(key, out var entry) && !ConfigReader.IsNull(entry.Value) ? entry.Value : null;

    /// <summary>Where to report a problem with <paramref name="key"/>: its value, its key when the value is empty, the anchor when absent.</summary>
    public YamlNode Position(string key) =>
        _entries.TryGetValue(key, out var entry) ? (ConfigReader.IsNull(entry.Value) ? entry.Key : entry.Value) : Anchor;

    public void Error(string key, string message) => _reader.Error(Position(key), $"{PathOf(key)}: {message}");

    /// <summary>Reports that a required key is missing (at the key when it is empty, at the anchor when absent).</summary>
    public void Missing(string key, string what) => _reader.Error(Position(key), $"{Where}: '{key}' is required: {what}");

    /// <summary>A text value; with <paramref name="required"/>, a missing or blank value is an error explained by it.</summary>
    public string? String(string key, string? required = null)
    {
        var node = Value(key);
        if (node is null)
        {
            if (required is not null)
            {
                Missing(key, required);
            }

            return null;
        }

        var text = _reader.Text(node, PathOf(key));
        if (text is not null && required is not null && string.IsNullOrWhiteSpace(text))
        {
            _reader.Error(node, $"{PathOf(key)}: must not be empty ({required})");
            return null;
        }

        return text;
    }

    /// <summary>One of <paramref name="allowed"/>; <see langword="null"/> when absent (an error when <paramref name="required"/> is given) or wrong.</summary>
    public string? Choice(string key, IReadOnlyList<string> allowed, string? required = null)
    {
        var text = String(key, required);
        if (text is null || allowed.Contains(text, StringComparer.Ordinal))
        {
            return text;
        }

        var suggestion = Suggestions.Closest(text, allowed);
        Error(key, $"'{text}' is not one of {string.Join(" | ", allowed)}" + (suggestion is null ? string.Empty : $"; did you mean '{suggestion}'?"));
        return null;
    }

    public bool? Bool(string key)
    {
        var text = String(key);
        switch (text)
        {
            case null:
                return null;
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
            default:
                Error(key, $"expected true or false, found '{text}'");
                return null;
        }
    }

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public long? Integer(string key, long min, long max = long.MaxValue)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        var range = max == long.MaxValue ? $"a whole number >= {min}" : $"a whole number from {min} to {max}";
        if (!long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Error(key, $"expected {range}, found '{text}'");
            return null;
        }

        if (value < min || value > max)
        {
            Error(key, $"{value} is out of range: expected {range}");
            return null;
        }

        return value;
    }

    /// <summary>A decimal number; range checks are the caller's.</summary>
    public decimal? Number(string key, string expected)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (!decimal.TryParse(text.Trim(), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            Error(key, $"expected {expected}, found '{text}'");
            return null;
        }

        return value;
    }

    /// <summary>A duration (<see cref="Core.Duration"/>); zero is allowed only when <paramref name="positive"/> is false.</summary>
    public TimeSpan? Duration(string key, bool positive)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (!Core.Duration.TryParse(text, out var value))
        {
            Error(key, $"'{text}' is not a duration: write a whole number and a unit s, m, h or d (90s, 15m, 24h, 7d; combined: 1h30m)");
            return null;
        }

        if (positive && value <= TimeSpan.Zero)
        {
            Error(key, $"must be longer than zero, found '{text}'");
            return null;
        }

        return value;
    }

    /// <summary>A nested mapping; with <paramref name="required"/>, its absence is an error explained by it.</summary>
    public ConfigSection? Section(string key, string? required = null)
    {
        var node = Value(key);
        if (node is null)
        {
            if (required is not null)
            {
                Missing(key, required);
            }

            return null;
        }

        return _reader.Section(node, PathOf(key), _entries[key].Key);
    }

    /// <summary>A list of text values; a single text value counts as a list of one.</summary>
    public IReadOnlyList<(string Text, YamlNode Node)>? Strings(string key, string? required = null)
    {
        var node = Value(key);
        if (node is null)
        {
            if (required is not null)
            {
                Missing(key, required);
            }

            return null;
        }

        var items = node is YamlScalarNode ? [node] : _reader.Items(node, PathOf(key), "a text value or a list of them");
        var list = new List<(string, YamlNode)>(items.Count);
        foreach (var item in items)
        {
            var text = ConfigReader.IsNull(item) ? null : _reader.Text(item, PathOf(key), "a text value");
            if (text is not null && !string.IsNullOrWhiteSpace(text))
            {
                list.Add((text, item));
            }
            else if (text is not null || ConfigReader.IsNull(item))
            {
                _reader.Error(item, $"{PathOf(key)}: an item must not be empty");
            }
        }

        if (list.Count == 0 && items.Count == 0 && required is not null)
        {
            _reader.Error(node, $"{PathOf(key)}: the list is empty: {required}");
        }

        return list;
    }
}
