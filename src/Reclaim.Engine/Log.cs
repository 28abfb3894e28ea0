using Microsoft.Extensions.Logging;

namespace Reclaim.Engine;

/// <summary>The engine's log events (source-generated; stable event ids and names).</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Policy {Policy}: {GroupsOrphaned} groups, {ObjectsOrphaned} objects, {SizeBytes} bytes proposed of {GroupsScanned} groups scanned in {DurationMs} ms", EventName = "plan_policy")]
    public static partial void PolicyPlanned(ILogger logger, string policy, long groupsOrphaned, long objectsOrphaned, long sizeBytes, long groupsScanned, long durationMs);

    [LoggerMessage(1003, LogLevel.Debug, "Planner: {Timing}", EventName = "plan_timing")]
    public static partial void PlannerTiming(ILogger logger, string timing);

    [LoggerMessage(1002, LogLevel.Warning, "Policy {Policy}: guard {Guard} refused: {Reason}", EventName = "guard_refused")]
    public static partial void GuardRefused(ILogger logger, string policy, string guard, string reason);

    [LoggerMessage(1004, LogLevel.Error, "A run whose planning failed ({Error}) could not be recorded in state", EventName = "run_failure_not_recorded")]
    public static partial void FailureNotRecorded(ILogger logger, Exception exception, string error);

    [LoggerMessage(2001, LogLevel.Information, "Run {RunId}: group {GroupKey} skipped: {Reason}", EventName = "gate_skip")]
    public static partial void GroupSkipped(ILogger logger, string runId, string groupKey, string reason);

    [LoggerMessage(2002, LogLevel.Debug, "Run {RunId}: {Action} {Key} ({SizeBytes} bytes)", EventName = "gate_object")]
    public static partial void ObjectActed(ILogger logger, string runId, string action, string key, long sizeBytes);

    [LoggerMessage(2003, LogLevel.Warning, "Run {RunId}: {Action} {Key} failed: {Error}", EventName = "gate_failed")]
    public static partial void ObjectFailed(ILogger logger, string runId, string action, string key, string error);

    [LoggerMessage(2004, LogLevel.Debug, "Run {RunId}: sub-batch {SubBatch} ({ObjectCount} objects acted on): re-check window {WindowMs} ms from the protection query's start to the last removing store request", EventName = "gate_window")]
    public static partial void RecheckWindow(ILogger logger, string runId, int subBatch, int objectCount, double windowMs);

    [LoggerMessage(2006, LogLevel.Debug, "Run {RunId}: sub-batch {SubBatch} ({ObjectCount} actions): store re-read {RereadMs} ms, intent recorded {IntentMs} ms, protection check {ProtectionMs} ms, store requests {StoreMs} ms, outcomes recorded {OutcomesMs} ms", EventName = "gate_sub_batch_timing")]
    public static partial void SubBatchTimings(ILogger logger, string runId, int subBatch, int objectCount, double rereadMs, double intentMs, double protectionMs, double storeMs, double outcomesMs);

    [LoggerMessage(2005, LogLevel.Warning, "Run {RunId}: sub-batch {SubBatch} failed alone: {Error}", EventName = "gate_sub_batch_failed")]
    public static partial void SubBatchFailed(ILogger logger, string runId, int subBatch, string error);

    [LoggerMessage(3001, LogLevel.Information, "Run {RunId} ({Kind}) finished {Status}: {ObjectsDone} objects, {SizeBytes} bytes done, {ObjectsSkipped} skipped, {ObjectsFailed} failed in {DurationMs} ms", EventName = "run_finished")]
    public static partial void RunFinished(ILogger logger, string runId, string kind, string status, long objectsDone, long sizeBytes, long objectsSkipped, long objectsFailed, long durationMs);

    [LoggerMessage(3002, LogLevel.Warning, "Run {RunId} marked interrupted: {Reason}", EventName = "run_settled")]
    public static partial void RunSettled(ILogger logger, string runId, string reason);

    [LoggerMessage(4001, LogLevel.Information, "Queue {Queue}: {Depth} requests pending, oldest {OldestAgeSeconds} s", EventName = "job_queue_depth")]
    public static partial void QueueDepth(ILogger logger, string queue, long depth, long oldestAgeSeconds);

    [LoggerMessage(4002, LogLevel.Information, "Queue {Queue}: request {RequestId} dequeued by {Worker} (attempts before: {Attempts})", EventName = "job_dequeue")]
    public static partial void Dequeued(ILogger logger, string queue, string requestId, string worker, int attempts);

    [LoggerMessage(4003, LogLevel.Information, "Queue {Queue}: request {RequestId} cleanup of {Prefix} in store {Store} started", EventName = "cleanup_start")]
    public static partial void CleanupStart(ILogger logger, string queue, string requestId, string prefix, string store);

    [LoggerMessage(4004, LogLevel.Debug, "Queue {Queue}: request {RequestId}: {Action} {Key} ({SizeBytes} bytes)", EventName = "cleanup_object")]
    public static partial void CleanupObject(ILogger logger, string queue, string requestId, string action, string key, long sizeBytes);

    [LoggerMessage(4005, LogLevel.Information, "Queue {Queue}: request {RequestId} cleanup of {Prefix} complete: {ObjectCount} objects, {SizeBytes} bytes in {DurationMs} ms", EventName = "cleanup_complete")]
    public static partial void CleanupComplete(ILogger logger, string queue, string requestId, string prefix, long objectCount, long sizeBytes, long durationMs);

    [LoggerMessage(4006, LogLevel.Warning, "Queue {Queue}: request {RequestId} cleanup of {Prefix} failed (attempt {Attempt} of {MaxAttempts}, final: {Final}): {Error}; {ObjectCount} objects, {SizeBytes} bytes removed in {DurationMs} ms", EventName = "cleanup_failed")]
    public static partial void CleanupFailed(ILogger logger, string queue, string requestId, string prefix, int attempt, int maxAttempts, bool final, string error, long objectCount, long sizeBytes, long durationMs);

    [LoggerMessage(4007, LogLevel.Information, "Queue {Queue}: cycle complete: {Processed} processed, {Failed} failed, {Released} released, {ObjectCount} objects, {SizeBytes} bytes in {DurationMs} ms", EventName = "job_cycle_complete")]
    public static partial void CycleComplete(ILogger logger, string queue, int processed, int failed, int released, long objectCount, long sizeBytes, long durationMs);

    [LoggerMessage(4008, LogLevel.Information, "Queue {Queue}: listening on channel {Channel} for rows inserted into {Table}", EventName = "job_queue_listen")]
    public static partial void Listening(ILogger logger, string queue, string channel, string table);

    [LoggerMessage(4009, LogLevel.Warning, "Queue {Queue}: the connection listening on channel {Channel} failed: {Error}; reconnecting in {DelayMs} ms, polling meanwhile", EventName = "job_queue_listen_lost")]
    public static partial void ListenLost(ILogger logger, string queue, string channel, string error, long delayMs);

    [LoggerMessage(6001, LogLevel.Information, "Partitioned run {RunKey}: range {Range} {Phase}: {GroupCount} groups, {ObjectCount} objects, {SizeBytes} bytes", EventName = "partition_range")]
    public static partial void PartitionRange(ILogger logger, string runKey, int range, string phase, long groupCount, long objectCount, long sizeBytes);

    [LoggerMessage(6002, LogLevel.Information, "Partitioned run {RunKey} finished as run {RunId}: {Status}, {ParticipantCount} participants, {ObjectCount} objects, {SizeBytes} bytes", EventName = "partitioned_run_finished")]
    public static partial void PartitionedRunFinished(ILogger logger, string runKey, string runId, string status, int participantCount, long objectCount, long sizeBytes);

    [LoggerMessage(6003, LogLevel.Warning, "Partitioned run {RunKey} is not joined by this replica: {Reason}", EventName = "partitioned_run_not_joined")]
    public static partial void PartitionedRunNotJoined(ILogger logger, string runKey, string reason);

    [LoggerMessage(6004, LogLevel.Error, "Joining open partitioned runs failed; the next pass tries again", EventName = "partitioned_run_join_failed")]
    public static partial void PartitionedRunJoinFailed(ILogger logger, Exception exception);
}
