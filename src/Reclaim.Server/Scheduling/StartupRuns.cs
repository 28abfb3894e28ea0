using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server.Scheduling;

/// <summary>
/// Starts the policies of every <c>schedule</c> entry with <c>run_on_startup: true</c> once, as actor
/// <c>startup:N</c>, when the server has started (the therapy-audio service's <c>AUTO_CLEANUP_ON_STARTUP</c>). It runs once per start of
/// this process: with several replicas each start runs them, and the gate's re-checks keep overlapping runs safe.
/// </summary>
internal sealed partial class StartupRuns(ReclaimConfig config, RunCoordinator coordinator, IHostApplicationLifetime lifetime, ILogger<StartupRuns> logger) : IHostedService
{
    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Start);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Start()
    {
        for (var i = 0; i < config.Schedule.Count; i++)
        {
            var entry = config.Schedule[i];
            if (!entry.RunOnStartup)
            {
                continue;
            }

            var index = i.ToString(CultureInfo.InvariantCulture);
            try
            {
                var run = coordinator.Start(entry.Policies, dryRun: false, actor: $"startup:{index}");
                LogStarted(logger, run.Id, index, string.Join(',', entry.Policies));
            }
            catch (Exception e) when (e is PolicyBusyException or UsageException)
            {
                LogSkipped(logger, index, e.Message);
            }
        }
    }

    [LoggerMessage(EventId = 304, EventName = "StartupRun", Level = LogLevel.Information, Message = "schedule entry {Entry} started run {RunId} of {Policies} at start-up")]
    private static partial void LogStarted(ILogger logger, string runId, string entry, string policies);

    [LoggerMessage(EventId = 305, EventName = "StartupRunSkipped", Level = LogLevel.Warning, Message = "schedule entry {Entry} skipped its start-up run: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string entry, string reason);
}
