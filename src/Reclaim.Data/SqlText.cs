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

    /// <summary>
    /// Whether <paramref name="sql"/> names the parameter <c>@name</c>: the name whole (<c>@cutoff</c>, not
    /// <c>@cutoff2</c>) and not part of <c>@@</c> or an e-mail-like word. Text inside quotes is not told apart; an
    /// unused parameter is harmless to bind.
    /// </summary>
    /// <param name="sql">The SQL text.</param>
    /// <param name="name">The parameter's name without <c>@</c>.</param>
    /// <returns><see langword="true"/> when it does.</returns>
    public static bool NamesParameter(string sql, string name)
    {
        ArgumentNullException.ThrowIfNull(sql);
        ArgumentNullException.ThrowIfNull(name);
        for (var at = sql.IndexOf("@" + name, StringComparison.Ordinal); at >= 0; at = sql.IndexOf("@" + name, at + 1, StringComparison.Ordinal))
        {
            var end = at + 1 + name.Length;
            var before = at == 0 ? ' ' : sql[at - 1];
            var after = end < sql.Length ? sql[end] : ' ';
            if (!(char.IsLetterOrDigit(before) || before is '_' or '@') && !(char.IsLetterOrDigit(after) || after == '_'))
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}
