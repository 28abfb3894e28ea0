using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Quartz;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Partitioning;

namespace Reclaim.Server.Scheduling;

/// <summary>
/// Fires one <c>schedule</c> entry: starts a real run of its policies through <see cref="RunCoordinator"/> as
/// actor <c>schedule:N</c> and waits for it, logging the firing's due time with the run id. With the clustered job store
/// only one replica executes each firing. An entry marked <c>partitioned</c> makes the firing one partitioned run
/// instead, keyed by the entry's policies and the firing's scheduled time (<see cref="RunKey"/>), the same on every
/// replica: this replica takes part in it from start to end, and the others join it by themselves
/// (<see cref="PartitionedRunHost"/>).
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class ScheduledRunJob(RunCoordinator coordinator, ReclaimConfig config, ILogger<ScheduledRunJob> logger) : IJob
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
        var dueAt = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        var scheduledAt = dueAt.ToString("O", CultureInfo.InvariantCulture);
        if (int.TryParse(entry, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < config.Schedule.Count && config.Schedule[index].Partitioned)
        {
            await ExecutePartitionedAsync(policies, entry, dueAt, cancellationToken);
            return;
        }

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

    /// <summary>
    /// The key of a partitioned entry's run for one firing: <c>schedule:POLICIES@TIME</c>, the policies comma-separated
    /// (their SHA-256's first 16 hex digits when longer than 150 characters) and the firing's scheduled time in UTC to
    /// the second — what every replica computes alike from the same config and Quartz's scheduled fire time.
    /// </summary>
    /// <param name="policies">The entry's policies.</param>
    /// <param name="scheduledFireTime">The firing's scheduled time (not when it actually ran: a misfire fired late has the same key).</param>
    /// <returns>The run key, at most 200 characters.</returns>
    public static string RunKey(IReadOnlyList<string> policies, DateTimeOffset scheduledFireTime)
    {
        ArgumentNullException.ThrowIfNull(policies);
        var names = string.Join(',', policies);
        if (names.Length > 150)
        {
            names = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(names)))[..16];
        }

        return $"schedule:{names}@{scheduledFireTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}";
    }

    private async Task ExecutePartitionedAsync(IReadOnlyList<string> policies, string entry, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var runKey = RunKey(policies, dueAt);
        var request = new PartitionRequest(runKey, 0, 1, policies, Force: false, config.Server.PartitionLease, PartitionRequest.DefaultWait)
        {
            Actor = $"schedule:{entry}",
            Apply = true,
        };
        LogPartitionedRun(logger, runKey, entry, string.Join(',', policies), dueAt.ToString("O", CultureInfo.InvariantCulture));
        try
        {
            var done = await coordinator.ParticipateAsync(request, cancellationToken);
            LogPartitionedRunEnded(logger, runKey, done.Verdict.Passed ? "passed" : "refused", done.Planned.Count, done.Applied.Count, done.SummaryRunId ?? string.Empty);
        }
        catch (Exception e) when (e is PolicyBusyException or UsageException or TimeoutException)
        {
            LogSkipped(logger, entry, e.Message);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: the range in hand was given back; the other replicas finish the run.
            LogSkipped(logger, entry, $"the server stopped while it took part in partitioned run {runKey}; the other replicas finish it");
        }
    }

    [LoggerMessage(EventId = 304, EventName = "ScheduledPartitionedRun", Level = LogLevel.Information, Message = "schedule entry {Entry} takes part in partitioned run {RunKey} of {Policies} for the firing due at {ScheduledFireTime}")]
    private static partial void LogPartitionedRun(ILogger logger, string runKey, string entry, string policies, string scheduledFireTime);

    [LoggerMessage(EventId = 305, EventName = "ScheduledPartitionedRunEnded", Level = LogLevel.Information, Message = "partitioned run {RunKey}: guards {Verdict}; this replica planned {PlannedRanges} and applied {AppliedRanges} of its ranges; summary run {SummaryRunId}")]
    private static partial void LogPartitionedRunEnded(ILogger logger, string runKey, string verdict, int plannedRanges, int appliedRanges, string summaryRunId);

    [LoggerMessage(EventId = 300, EventName = "ScheduledRun", Level = LogLevel.Information, Message = "schedule entry {Entry} started run {RunId} of {Policies} for the firing due at {ScheduledFireTime}")]
    private static partial void LogScheduledRun(ILogger logger, string runId, string entry, string policies, string scheduledFireTime);

    [LoggerMessage(EventId = 301, EventName = "ScheduledRunSkipped", Level = LogLevel.Warning, Message = "schedule entry {Entry} skipped: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string entry, string reason);
}
