using System.Globalization;
using Humanizer;

namespace Reclaim.Cli;

/// <summary>Human-readable numbers for tables (JSON always carries raw bytes).</summary>
internal static class Format
{
    public static string Bytes(long bytes) => bytes.Bytes().Humanize("0.#", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
