using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server.Scheduling;

/// <summary>
/// Writes the config's <c>schedule</c> into Quartz's store when the server starts: entry N becomes job and trigger
/// <c>schedule-N</c> in group <see cref="Scheduler.Name"/>. A trigger whose cron expression and time zone are
/// unchanged is kept as stored, so a firing missed while every replica was down is still a misfire and runs once (a
/// rewritten trigger would start counting from now and drop it); a changed one is replaced; entries beyond the
/// config's count (a shorter schedule) are deleted. With several replicas the last one started writes its config.
/// </summary>
internal sealed partial class ScheduleSynchronizer(ISchedulerFactory factory, ReclaimConfig config, ILogger<ScheduleSynchronizer> logger) : IHostedService
{
    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var scheduler = await factory.GetScheduler(cancellationToken);
        var wanted = new HashSet<JobKey>();
        for (var i = 0; i < config.Schedule.Count; i++)
        {
            var entry = config.Schedule[i];
            var index = i.ToString(CultureInfo.InvariantCulture);
            var key = new JobKey($"schedule-{index}", Scheduler.Name);
            wanted.Add(key);
            var job = JobBuilder.Create<ScheduledRunJob>()
                .WithIdentity(key)
                .StoreDurably()
                .UsingJobData(ScheduledRunJob.PoliciesKey, string.Join(',', entry.Policies))
                .UsingJobData(ScheduledRunJob.EntryKey, index)
                .WithDescription($"policies {string.Join(", ", entry.Policies)}")
                .Build();
            await scheduler.AddJob(job, AddJobOptions.Replacing, cancellationToken);

            var zone = TimeZoneInfo.FindSystemTimeZoneById(entry.TimeZone);
            var cron = CronExpressions.ToQuartz(entry.Cron);
            var trigger = TriggerBuilder.Create()
                .ForJob(key)
                .WithIdentity($"schedule-{index}", Scheduler.Name)
                .WithCronSchedule(cron, c => c.InTimeZone(zone).WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed))
                .Build();
            var stored = await scheduler.GetTrigger(trigger.Key, cancellationToken) as ICronTrigger;
            var unchanged = stored is not null
                && string.Equals(stored.CronExpressionString, cron, StringComparison.Ordinal)
                && string.Equals(stored.TimeZone.Id, zone.Id, StringComparison.Ordinal);
            await scheduler.ScheduleTrigger(trigger, unchanged ? TriggerConflict.Keep : TriggerConflict.Replace, cancellationToken);
            if (stored is not null && !unchanged)
            {
                LogEntryChanged(logger, index, stored.CronExpressionString ?? string.Empty, cron);
            }
        }

        foreach (var stale in (await scheduler.GetJobKeys(GroupMatcher<JobKey>.GroupEquals(Scheduler.Name), cancellationToken)).Where(k => !wanted.Contains(k)))
        {
            await scheduler.DeleteJob(stale, cancellationToken);
            LogEntryRemoved(logger, stale.Name);
        }
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 302, EventName = "ScheduleEntryChanged", Level = LogLevel.Information, Message = "schedule entry {Entry} changed from '{OldCron}' to '{NewCron}'")]
    private static partial void LogEntryChanged(ILogger logger, string entry, string oldCron, string newCron);

    [LoggerMessage(EventId = 303, EventName = "ScheduleEntryRemoved", Level = LogLevel.Information, Message = "{Job} is no longer in the schedule and was removed")]
    private static partial void LogEntryRemoved(ILogger logger, string job);
}
