using Microsoft.Extensions.DependencyInjection;
using System.Globalization;
using Quartz;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server.Scheduling;

/// <summary>
/// Registers Quartz.NET for the config's <c>schedule</c>: one job and cron trigger per entry, in the entry's time
/// zone, a misfire (a firing missed while no replica ran) fired once at start-up rather than once per missed
/// firing. With PostgreSQL state the job store is Quartz's clustered ADO store in the state database, so several
/// replicas share the schedule, each firing runs on one of them, and a dead replica's firings are taken over (Quartz
/// creates its <c>qrtz_*</c> tables there when missing); with SQLite state it is in memory.
/// </summary>
public static class Scheduler
{
    /// <summary>The Quartz scheduler name (<c>sched_name</c> in its tables).</summary>
    public const string Name = "reclaim";

    /// <summary>Adds the scheduler when the config has a schedule.</summary>
    /// <param name="services">The services.</param>
    /// <param name="config">The config.</param>
    /// <param name="instanceId">This replica's id in the cluster; <c>AUTO</c> for host name and time.</param>
    public static void Add(IServiceCollection services, ReclaimConfig config, string instanceId = "AUTO")
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Schedule.Count == 0)
        {
            return;
        }

        var clustered = config.State.Provider == "postgres";
        services.AddQuartz(quartz =>
        {
            quartz.ConfigureScheduler(options =>
            {
                options.InstanceName = Name;
                if (string.Equals(instanceId, "AUTO", StringComparison.Ordinal))
                {
                    options.GenerateInstanceId = true;
                }
                else
                {
                    options.InstanceId = instanceId;
                }

                options.DefaultMisfireHandling = DefaultMisfireHandling.FireAndProceed;
            });
            if (clustered)
            {
                quartz.UsePersistentStore(store =>
                {
                    store.UsePostgres(ConnectionStrings.ToNpgsql(config.State.Connection));
                    store.ProvisionSchema();
                    store.ConfigureStore(options =>
                    {
                        options.StoreJobDataAsStrings = true;
                        options.MisfireThreshold = TimeSpan.FromSeconds(5);
                    });
                    store.UseClustering(cluster =>
                    {
                        cluster.CheckinInterval = TimeSpan.FromSeconds(5);
                        cluster.CheckinMisfireThreshold = TimeSpan.FromSeconds(15);
                    });
                });
            }
            else
            {
                quartz.UseInMemoryStore();
            }

            for (var i = 0; i < config.Schedule.Count; i++)
            {
                var entry = config.Schedule[i];
                var job = new JobKey($"schedule-{i}", Name);
                var index = i.ToString(CultureInfo.InvariantCulture);
                quartz.AddJob<ScheduledRunJob>(j => j
                    .WithIdentity(job)
                    .StoreDurably()
                    .UsingJobData(ScheduledRunJob.PoliciesKey, string.Join(',', entry.Policies))
                    .UsingJobData(ScheduledRunJob.EntryKey, index)
                    .WithDescription($"policies {string.Join(", ", entry.Policies)}"));
                var zone = TimeZoneInfo.FindSystemTimeZoneById(entry.TimeZone);
                var cron = CronExpressions.ToQuartz(entry.Cron);
                quartz.AddTrigger(t => t
                    .ForJob(job)
                    .WithIdentity($"schedule-{i}", Name)
                    .WithCronSchedule(cron, c => c.InTimeZone(zone).WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed)));
            }
        });
        services.AddQuartzHostedService(options =>
        {
            options.WaitForJobsToComplete = true;
            options.AwaitApplicationStarted = true;
        });
    }
}
