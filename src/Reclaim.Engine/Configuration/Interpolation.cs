using System.Text;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// Expands environment variables inside one config value, as Docker Compose and POSIX shells do:
/// <c>${NAME}</c> is the variable's value; <c>${NAME:-default}</c> is the default when the variable is unset or
/// empty (the default may itself hold <c>${...}</c>); <c>$${</c> is a literal <c>${</c>. A <c>$</c> not followed by
/// <c>{</c> is kept as it is, so passwords and SQL with <c>$1</c> need no escaping.
/// </summary>
internal static class Interpolation
{
    /// <summary>Expands <paramref name="text"/>.</summary>
    /// <param name="text">A scalar's value as parsed.</param>
    /// <param name="lookup">A variable's value, or <see langword="null"/> when it is unset.</param>
    /// <param name="error">Why the text cannot be expanded (an unset variable without default, a malformed reference).</param>
    /// <returns>The expanded text, or <see langword="null"/> when <paramref name="error"/> is set.</returns>
    public static string? Expand(string text, Func<string, string?> lookup, out string? error)
    {
        error = null;
        if (!text.Contains('$', StringComparison.Ordinal))
        {
            return text;
        }

        var position = 0;
        var result = ExpandUntil(text, ref position, insideDefault: false, lookup, ref error);
        return error is null ? result : null;
    }

    private static string ExpandUntil(string text, ref int position, bool insideDefault, Func<string, string?> lookup, ref string? error)
    {
        var builder = new StringBuilder(text.Length);
        while (position < text.Length && error is null)
        {
            var c = text[position];
            if (insideDefault && c == '}')
            {
                return builder.ToString();
            }

            if (c == '$' && At(text, position + 1, "${"))
            {
                builder.Append("${");
                position += 3;
            }
            else if (c == '$' && At(text, position + 1, "{"))
            {
                position += 2;
                builder.Append(Reference(text, ref position, lookup, ref error));
            }
            else
            {
                builder.Append(c);
                position++;
            }
        }

        if (insideDefault && error is null)
        {
            error = "a '${' has no closing '}'";
        }

        return builder.ToString();
    }

    /// <summary>Reads <c>NAME}</c> or <c>NAME:-default}</c> after a <c>${</c>.</summary>
    private static string Reference(string text, ref int position, Func<string, string?> lookup, ref string? error)
    {
        var start = position;
        while (position < text.Length && (char.IsAsciiLetterOrDigit(text[position]) || text[position] == '_'))
        {
            position++;
        }

        var name = text[start..position];
        if (position >= text.Length)
        {
            error = $"'${{{name}' has no closing '}}'";
            return string.Empty;
        }

        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            error = $"'${{{text[start..Math.Min(text.Length, position + 1)]}' is not a variable reference: write ${{NAME}} or ${{NAME:-default}} " +
                    "(NAME is letters, digits and '_', not starting with a digit), or $${ for a literal '${'";
            return string.Empty;
        }

        var value = lookup(name);
        if (text[position] == '}')
        {
            position++;
            if (value is null)
            {
                error = $"environment variable '{name}' is not set: set it, add it to the .env file beside the config, or give a default with ${{{name}:-default}}";
                return string.Empty;
            }

            return value;
        }

        if (!At(text, position, ":-"))
        {
            error = $"'${{{name}{text[position]}' is not a variable reference: write ${{{name}}} or ${{{name}:-default}}";
            return string.Empty;
        }

        position += 2;
        var fallback = ExpandUntil(text, ref position, insideDefault: true, lookup, ref error);
        position++;
        return string.IsNullOrEmpty(value) ? fallback : value;
    }

    private static bool At(string text, int position, string expected) =>
        position + expected.Length <= text.Length && string.CompareOrdinal(text, position, expected, 0, expected.Length) == 0;
}
