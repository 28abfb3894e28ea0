using System.Globalization;
using Humanizer;
using Reclaim.Core.State;

namespace Reclaim.Cli;

/// <summary>Human-readable numbers for tables (JSON always carries raw bytes).</summary>
internal static class Format
{
    /// <summary>The width assumed where output has none (a pipe, a file) and <c>COLUMNS</c> is not set: wide enough that no table is narrowed.</summary>
    public const int UnboundedWidth = 200;

    /// <summary>A size in bytes, humanized (<c>0 B</c>, <c>184 B</c>, <c>1.6 MB</c>): Humanizer would call 0 bytes "0 b" (bits).</summary>
    public static string Bytes(long bytes) => bytes == 0 ? "0 B" : bytes.Bytes().Humanize("0.#", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Action(ActionKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>An age in its largest unit: <c>45s</c>, <c>12m</c>, <c>5.5h</c>, <c>3d</c>.</summary>
    public static string Age(TimeSpan age) => age.TotalDays >= 1 ? Unit(age.TotalDays, "d") : age.TotalHours >= 1 ? Unit(age.TotalHours, "h")
        : age.TotalMinutes >= 1 ? Unit(age.TotalMinutes, "m") : Unit(Math.Max(0, Math.Floor(age.TotalSeconds)), "s");

    /// <summary>
    /// The width tables and lines are fitted to, in terminal columns: <c>COLUMNS</c> when it is set to a number
    /// (as <c>ls</c> and most terminal tools honour it), otherwise the terminal's own width, otherwise (a pipe or
    /// a file) <see cref="UnboundedWidth"/>.
    /// </summary>
    /// <param name="terminal">The terminal's width, or <see langword="null"/> when the output is not a terminal.</param>
    /// <returns>The width, 20 or more.</returns>
    public static int TerminalWidth(int? terminal)
    {
        var columns = Environment.GetEnvironmentVariable("COLUMNS");
        if (int.TryParse(columns, NumberStyles.None, CultureInfo.InvariantCulture, out var fromEnvironment) && fromEnvironment > 0)
        {
            return Math.Max(20, fromEnvironment);
        }

        return terminal is > 0 ? Math.Max(20, terminal.Value) : UnboundedWidth;
    }

    private static string Unit(double value, string unit) => value.ToString("0.#", CultureInfo.InvariantCulture) + unit;
}
