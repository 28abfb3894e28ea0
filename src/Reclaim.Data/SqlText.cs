using System.Text.RegularExpressions;

namespace Reclaim.Data;

/// <summary>Helpers for wrapping a user's SELECT in Reclaim's own SQL.</summary>
public static partial class SqlText
{
    /// <summary>
    /// The user's query without trailing whitespace, semicolons or a trailing <c>--</c> comment line, ready to
    /// be used as a subquery (<c>FROM (query) AS r</c>).
    /// </summary>
    /// <param name="query">A SELECT statement.</param>
    /// <returns>The trimmed query.</returns>
    /// <exception cref="ArgumentException">The query is empty.</exception>
    public static string AsSubquery(string query)
    {
        var trimmed = query.Trim().TrimEnd(';').TrimEnd();
        if (trimmed.Length == 0)
        {
            throw new ArgumentException("the query is empty", nameof(query));
        }

        // A newline before the closing parenthesis keeps a trailing "-- comment" from swallowing it.
        return trimmed + "\n";
    }

    /// <summary>Whether <paramref name="name"/> is a plain SQL identifier (<c>[A-Za-z_][A-Za-z0-9_]*</c>), safe to splice unquoted.</summary>
    /// <param name="name">A column name.</param>
    /// <returns><see langword="true"/> when it is.</returns>
    public static bool IsIdentifier(string name) => Identifier().IsMatch(name);

    /// <summary>Throws when a column name is not a plain identifier.</summary>
    /// <param name="columns">Column names.</param>
    /// <exception cref="ArgumentException">A name is not a plain identifier.</exception>
    public static void EnsureIdentifiers(IEnumerable<string> columns)
    {
        foreach (var column in columns)
        {
            if (!IsIdentifier(column))
            {
                throw new ArgumentException($"'{column}' is not a plain SQL identifier", nameof(columns));
            }
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}
