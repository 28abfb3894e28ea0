using System.Globalization;
using System.Security.Cryptography;

namespace Reclaim.Engine;

/// <summary>Run ids: <c>yyyyMMdd-HHmmss-xxxxxx</c>, the UTC start time and 6 random hex digits; sortable by time.</summary>
public static class RunIds
{
    /// <summary>A new run id.</summary>
    /// <param name="now">The start time.</param>
    /// <returns>The id.</returns>
    public static string New(DateTimeOffset now) =>
        $"{now.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

    /// <summary>The start time encoded in a run id.</summary>
    /// <param name="runId">A run id.</param>
    /// <param name="time">The time, when the id is well-formed.</param>
    /// <returns><see langword="true"/> when it is.</returns>
    public static bool TryParseTime(string runId, out DateTimeOffset time)
    {
        time = default;
        if (runId.Length != 22 || runId[15] != '-')
        {
            return false;
        }

        return DateTimeOffset.TryParseExact(runId[..15], "yyyyMMdd-HHmmss", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }
}
