using Reclaim.Engine.Configuration;

namespace Reclaim.Server.Scheduling;

/// <summary>Turns the cron of <c>schedule[].cron</c> into the Quartz expression the scheduler runs.</summary>
public static class CronExpressions
{
    /// <summary>
    /// The expression in Quartz's canonical form, as <see cref="CronSchedule.ToQuartz"/> reads it with Quartz's own
    /// parser: a five-field Unix crontab gets a seconds field and Quartz's weekday names (<c>30 2 * * 0</c> is
    /// <c>0 30 2 ? * SUN</c>); Quartz's own six or seven fields stay as they are.
    /// </summary>
    /// <param name="cron">The expression.</param>
    /// <returns>A Quartz cron expression.</returns>
    /// <exception cref="FormatException">Not a schedule Quartz reads, or both day fields restricted in the five-field form.</exception>
    public static string ToQuartz(string cron) => CronSchedule.ToQuartz(cron);
}
