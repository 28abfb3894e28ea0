using System.Globalization;
using Microsoft.Extensions.Logging;
using Quartz;
using Reclaim.Engine;

namespace Reclaim.Server.Scheduling;

/// <summary>
/// Fires one <c>schedule</c> entry: starts a real run of its policies through <see cref="RunCoordinator"/> as
/// actor <c>schedule:N</c> and waits for it, logging the firing's due time with the run id. With the clustered job store
/// only one replica executes each firing.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class ScheduledRunJob(RunCoordinator coordinator, ILogger<ScheduledRunJob> logger) : IJob
{
    /// <summary>The job data key holding the policies, comma-separated.</summary>
    public const string PoliciesKey = "policies";

    /// <summary>The job data key holding the schedule entry's index.</summary>
    public const string EntryKey = "entry";

    /// <inheritdoc/>
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var data = context.MergedJobDataMap;
        var policies = (data.GetString(PoliciesKey) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries);
        var entry = data.GetString(EntryKey) ?? "0";
        var scheduledAt = (context.ScheduledFireTimeUtc ?? context.FireTimeUtc).ToString("O", CultureInfo.InvariantCulture);
        try
        {
            var run = coordinator.Start(policies, dryRun: false, actor: $"schedule:{entry}");
            LogScheduledRun(logger, run.Id, entry, string.Join(',', policies), scheduledAt);
            await run.Finished.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is PolicyBusyException or UsageException)
        {
            // Busy: the API or the previous firing still runs the policy. Unknown: this replica's config lacks a
            // policy another replica scheduled (give every replica the same config).
            LogSkipped(logger, entry, e.Message);
        }
    }

    [LoggerMessage(EventId = 300, EventName = "ScheduledRun", Level = LogLevel.Information, Message = "schedule entry {Entry} started run {RunId} of {Policies} for the firing due at {ScheduledFireTime}")]
    private static partial void LogScheduledRun(ILogger logger, string runId, string entry, string policies, string scheduledFireTime);

    [LoggerMessage(EventId = 301, EventName = "ScheduledRunSkipped", Level = LogLevel.Warning, Message = "schedule entry {Entry} skipped: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string entry, string reason);
}
