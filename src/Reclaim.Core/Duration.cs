using System.Globalization;
using System.Text.RegularExpressions;

namespace Reclaim.Core;

/// <summary>
/// Parses and formats the config's durations: a whole number followed by a unit, <c>s</c>, <c>m</c>, <c>h</c>
/// or <c>d</c> (<c>90s</c>, <c>15m</c>, <c>24h</c>, <c>7d</c>); several may be combined (<c>1h30m</c>). A day is
/// 24 hours.
/// </summary>
public static partial class Duration
{
    /// <summary>Parses a duration.</summary>
    /// <param name="text">The text, for example <c>24h</c>.</param>
    /// <param name="value">The duration, when the text is valid.</param>
    /// <returns><see langword="true"/> when the text is a valid duration.</returns>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var matches = Part().Matches(text.Trim());
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)).Length != text.Trim().Length)
        {
            return false;
        }

        try
        {
            foreach (Match match in matches)
            {
                var amount = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                value += match.Groups[2].Value switch
                {
                    "s" => TimeSpan.FromSeconds(amount),
                    "m" => TimeSpan.FromMinutes(amount),
                    "h" => TimeSpan.FromHours(amount),
                    _ => TimeSpan.FromDays(amount),
                };
            }
        }
        catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException)
        {
            return false;
        }

        return true;
    }

    /// <summary>Formats a duration in the config's notation, largest units first (<c>1d2h</c>, <c>90s</c> as <c>1m30s</c>).</summary>
    /// <param name="value">A non-negative duration.</param>
    /// <returns>The text; <c>0s</c> for zero.</returns>
    public static string Format(TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            return "0s";
        }

        var parts = new List<string>(4);
        if (value.Days > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{value.Days}d"));
        }

        if (value.Hours > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{value.Hours}h"));
        }

        if (value.Minutes > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{value.Minutes}m"));
        }

        if (value.Seconds > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{value.Seconds}s"));
        }

        return parts.Count == 0 ? "0s" : string.Concat(parts);
    }

    [GeneratedRegex("([0-9]+)([smhd])", RegexOptions.CultureInvariant)]
    private static partial Regex Part();
}
