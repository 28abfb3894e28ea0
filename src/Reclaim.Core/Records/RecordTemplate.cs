using System.Text;
using System.Text.RegularExpressions;
using Reclaim.Core.Storage;

namespace Reclaim.Core.Records;

/// <summary>
/// A <c>records</c> policy's object template: text with <c>{column}</c> references rendered per row
/// (<c>uploads/audio/{file}</c>, <c>{audio_path}</c>). A rendered value ending in <c>/</c> names a folder prefix.
/// </summary>
public sealed partial class RecordTemplate
{
    private readonly (string Literal, string? Column)[] _parts;

    private RecordTemplate(string text, (string, string?)[] parts)
    {
        Text = text;
        _parts = parts;
        Columns = parts.Where(p => p.Item2 is not null).Select(p => p.Item2!).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>The columns it references, each once.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Parses a template.</summary>
    /// <param name="text">The template.</param>
    /// <returns>The template.</returns>
    /// <exception cref="FormatException">A brace is not a <c>{column}</c> reference, or there is none.</exception>
    public static RecordTemplate Parse(string text)
    {
        var parts = new List<(string, string?)>();
        var position = 0;
        foreach (Match match in ColumnPattern().Matches(text))
        {
            parts.Add((text[position..match.Index], null));
            parts.Add((string.Empty, match.Groups[1].Value));
            position = match.Index + match.Length;
        }

        parts.Add((text[position..], null));
        var literal = string.Concat(parts.Select(p => p.Item1));
        if (literal.Contains('{', StringComparison.Ordinal) || literal.Contains('}', StringComparison.Ordinal))
        {
            throw new FormatException($"'{text}' has a brace that is not a {{column}} reference");
        }

        if (!parts.Any(p => p.Item2 is not null))
        {
            throw new FormatException($"'{text}' references no column: every row would name the same object");
        }

        return new RecordTemplate(text, [.. parts]);
    }

    /// <summary>Renders the template for one row.</summary>
    /// <param name="row">The row's columns as text, by name (ordinal).</param>
    /// <returns>The rendered key or prefix, or <see langword="null"/> when a referenced column is NULL (the row names no object here).</returns>
    /// <exception cref="KeyNotFoundException">The row has no column the template references.</exception>
    public string? Render(IReadOnlyDictionary<string, string?> row)
    {
        var builder = new StringBuilder();
        foreach (var (literal, column) in _parts)
        {
            builder.Append(literal);
            if (column is null)
            {
                continue;
            }

            if (!row.TryGetValue(column, out var value))
            {
                throw new KeyNotFoundException($"the row has no column '{column}'");
            }

            if (value is null)
            {
                return null;
            }

            builder.Append(value);
        }

        return builder.ToString();
    }

    /// <summary>
    /// Why a rendered value cannot be acted on, or <see langword="null"/> when it can: it must be a valid relative
    /// key (or a folder prefix ending in <c>/</c>), non-empty, and outside the trash.
    /// </summary>
    /// <param name="rendered">A rendered value.</param>
    /// <param name="trashPrefix">The trash prefix.</param>
    /// <returns>The problem, in words, or <see langword="null"/>.</returns>
    public static string? Problem(string rendered, string trashPrefix)
    {
        if (rendered.Length == 0)
        {
            return "it is empty";
        }

        if (rendered == "/")
        {
            return "it is the whole store ('/')";
        }

        if (ObjectKey.Validate(rendered) is { } problem)
        {
            return problem.Replace("the key", "it", StringComparison.Ordinal);
        }

        return ObjectKey.IsUnder(rendered, trashPrefix) ? "it is inside the trash" : null;
    }

    /// <summary>The <c>@name</c> parameters a statement uses (names only, each once, in order of first use).</summary>
    /// <param name="statement">An SQL statement such as <c>DELETE FROM sessions WHERE id = @id</c>.</param>
    /// <returns>The parameter names.</returns>
    public static IReadOnlyList<string> Parameters(string statement) =>
        ParameterPattern().Matches(statement).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex ColumnPattern();

    [GeneratedRegex(@"(?<![@\w])@([A-Za-z_][A-Za-z0-9_]*)", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterPattern();
}
