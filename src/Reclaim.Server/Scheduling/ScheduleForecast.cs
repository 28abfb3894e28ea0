using Quartz;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server.Scheduling;

/// <summary>One coming firing of a schedule entry.</summary>
/// <param name="Local">The firing in the entry's time zone (its offset there).</param>
/// <param name="Utc">The same instant in UTC.</param>
public sealed record ScheduleFiring(DateTimeOffset Local, DateTimeOffset Utc);

/// <summary>A schedule entry and its coming firings (<c>GET /api/v1/schedule</c>, <c>reclaim validate</c>).</summary>
/// <param name="Entry">The entry's position in <c>schedule</c>, from 0 (its Quartz job is <c>schedule-N</c>).</param>
/// <param name="Policies">The policies it runs.</param>
/// <param name="Cron">The cron expression as written.</param>
/// <param name="QuartzCron">The same as Quartz runs it (seconds first).</param>
/// <param name="Timezone">The IANA time zone it fires in (UTC unless the entry names one).</param>
/// <param name="RunOnStartup">Whether <c>reclaim serve</c> also runs it once at start.</param>
/// <param name="NextFirings">The next firings after now, earliest first; empty when the expression never fires again.</param>
/// <param name="Error">Why no firing could be computed (an expression Quartz rejects, an unknown zone), or <see langword="null"/>.</param>
public sealed record ScheduleEntryView(
    int Entry, IReadOnlyList<string> Policies, string Cron, string? QuartzCron, string Timezone, bool RunOnStartup,
    IReadOnlyList<ScheduleFiring> NextFirings, string? Error)
{
    /// <summary>Whether each firing is one partitioned run every replica takes part in (<c>partitioned</c>); JSON <c>partitioned</c>.</summary>
    public bool Partitioned { get; init; }
}

/// <summary>
/// Computes a schedule's coming firings with Quartz's own <see cref="CronExpression"/> in each entry's time zone,
/// so what is shown is what the scheduler will do (daylight-saving shifts included).
/// </summary>
public static class ScheduleForecast
{
    /// <summary>Firings shown per entry by default: 5.</summary>
    public const int DefaultCount = 5;

    /// <summary>Most firings one request may ask for per entry: 100.</summary>
    public const int MaxCount = 100;

    /// <summary>Each entry of <paramref name="schedule"/> with its next <paramref name="count"/> firings after <paramref name="now"/>.</summary>
    /// <param name="schedule">The config's schedule.</param>
    /// <param name="now">The instant to look ahead from.</param>
    /// <param name="count">Firings per entry, 1 to <see cref="MaxCount"/>.</param>
    /// <returns>One view per entry, in config order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is out of range.</exception>
    public static IReadOnlyList<ScheduleEntryView> Next(IReadOnlyList<ScheduleConfig> schedule, DateTimeOffset now, int count = DefaultCount)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxCount);
        var views = new List<ScheduleEntryView>(schedule.Count);
        for (var i = 0; i < schedule.Count; i++)
        {
            var entry = schedule[i];
            string? quartz = null;
            var firings = new List<ScheduleFiring>();
            string? error = null;
            try
            {
                quartz = CronExpressions.ToQuartz(entry.Cron);
                var zone = TimeZoneInfo.FindSystemTimeZoneById(entry.TimeZone);
                var expression = new CronExpression(quartz, zone);
                var after = now;
                while (firings.Count < count && expression.GetNextValidTimeAfter(after) is { } next)
                {
                    var utc = next.ToUniversalTime();
                    firings.Add(new ScheduleFiring(TimeZoneInfo.ConvertTime(utc, zone), utc));
                    after = next;
                }
            }
            catch (Exception e) when (e is FormatException or TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                error = e.Message;
            }

            views.Add(new ScheduleEntryView(i, entry.Policies, entry.Cron, quartz, entry.TimeZone, entry.RunOnStartup, firings, error) { Partitioned = entry.Partitioned });
        }

        return views;
    }
}
