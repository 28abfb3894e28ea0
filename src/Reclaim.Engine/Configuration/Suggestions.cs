namespace Reclaim.Engine.Configuration;

/// <summary>"Did you mean" for misspelt keys and names.</summary>
public static class Suggestions
{
    /// <summary>The most edits a suggestion may be away from what was written.</summary>
    public const int MaxDistance = 2;

    /// <summary>
    /// The candidate nearest to <paramref name="written"/> by optimal-string-alignment distance (Levenshtein plus
    /// swaps of neighbours), ignoring case and treating <c>-</c> as <c>_</c>; <see langword="null"/> when none is
    /// within <see cref="MaxDistance"/> edits, or when the edits would change more than half of the word (for a
    /// word of one or two letters any candidate would be a guess).
    /// </summary>
    /// <param name="written">What was written.</param>
    /// <param name="candidates">The names it could have meant.</param>
    /// <returns>The nearest candidate, or <see langword="null"/>.</returns>
    public static string? Closest(string written, IEnumerable<string> candidates)
    {
        var normalised = Normalise(written);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = Distance(normalised, Normalise(candidate));
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return bestDistance <= MaxDistance && bestDistance * 2 <= written.Length ? best : null;
    }

    private static string Normalise(string text) => text.ToLowerInvariant().Replace('-', '_');

    /// <summary>Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one substring).</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
