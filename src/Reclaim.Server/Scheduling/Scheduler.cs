using Microsoft.Extensions.DependencyInjection;
using Quartz;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server.Scheduling;

/// <summary>
/// Registers Quartz.NET for the config's <c>schedule</c>: one job and cron trigger per entry, in the entry's time
/// zone, a misfire (a firing missed while no replica ran) fired once rather than once per missed firing. With
/// PostgreSQL state the job store is Quartz's clustered ADO store in the state database, so several replicas share
/// the schedule, each firing runs on one of them, and a dead replica's firings are taken over (Quartz creates its
/// <c>qrtz_*</c> tables there when missing); with SQLite state it is in memory. The entries themselves are written to
/// the store at start by <see cref="ScheduleSynchronizer"/>, and <see cref="StartupRuns"/> starts the entries marked
/// <c>run_on_startup</c>.
/// </summary>
public static class Scheduler
{
    /// <summary>The Quartz scheduler name (<c>sched_name</c> in its tables) and the group of its jobs and triggers.</summary>
    public const string Name = "reclaim";

    /// <summary>How late a firing may start before Quartz treats it as misfired and applies fire-once-now.</summary>
    public static readonly TimeSpan MisfireThreshold = TimeSpan.FromSeconds(5);

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
        var checkin = config.Server.ClusterCheckinInterval;
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
                if (clustered)
                {
                    // An idle replica looks for due firings this often; Quartz's default of 30 s would leave a dead
                    // replica's schedule unattended that long after it has been detected.
                    options.IdleWaitTime = checkin;
                }
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
                        options.MisfireThreshold = MisfireThreshold;
                    });
                    store.UseClustering(cluster =>
                    {
                        cluster.CheckinInterval = checkin;
                        cluster.CheckinMisfireThreshold = checkin * 3;
                    });
                });
            }
            else
            {
                quartz.UseInMemoryStore();
            }
        });

        // The synchronizer writes the entries before Quartz starts firing, which is once the host has started: a
        // replica that fails to start (its port taken) never takes a firing it could not run.
        services.AddHostedService<ScheduleSynchronizer>();
        services.AddQuartzHostedService(options =>
        {
            options.WaitForJobsToComplete = true;
            options.AwaitApplicationStarted = true;
        });
        if (config.Schedule.Any(s => s.RunOnStartup))
        {
            services.AddHostedService<StartupRuns>();
        }
    }
}
