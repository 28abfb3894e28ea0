using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Reclaim.Engine.Telemetry;

/// <summary>
/// Every metric Reclaim publishes, on one <see cref="Meter"/> named <c>Reclaim</c> (System.Diagnostics.Metrics), named
/// by OpenTelemetry's conventions: dotted lower-case names under <c>reclaim.</c>, units in UCUM (<c>s</c>, <c>By</c>)
/// or as annotations (<c>{run}</c>, <c>{request}</c>). <c>reclaim serve</c> exports the meter at <c>/metrics</c>
/// (OpenTelemetry's Prometheus exporter writes <c>reclaim.runs</c> as <c>reclaim_runs_total</c>, a unit <c>s</c> as a
/// <c>_seconds</c> suffix, <c>By</c> as <c>_bytes</c>) and over OTLP when configured.
/// Tags: <c>policy</c> on what a policy's runs did (a queue's removals carry the queue's name there), <c>queue</c> on
/// the queue's own instruments.
/// </summary>
public static class ReclaimMetrics
{
    /// <summary>The meter's name: <c>Reclaim</c>.</summary>
    public const string MeterName = "Reclaim";

    private static readonly ConcurrentDictionary<string, (long Depth, double OldestAgeSeconds)> QueueGauges = new(StringComparer.Ordinal);

    /// <summary>The meter.</summary>
    public static Meter Meter { get; } = new(MeterName);

    /// <summary><c>reclaim.runs</c>: runs the server finished, by <c>policy</c>, <c>status</c> and <c>dry_run</c> (<c>true</c>|<c>false</c>).</summary>
    public static Counter<long> Runs { get; } = Meter.CreateCounter<long>("reclaim.runs", "{run}", "Runs finished, by policy, status and dry_run.");

    /// <summary><c>reclaim.removed.objects</c>: objects deleted or quarantined by runs that were not dry runs and by queues, by <c>policy</c>.</summary>
    public static Counter<long> RemovedObjects { get; } = Meter.CreateCounter<long>("reclaim.removed.objects", "{object}", "Objects deleted or quarantined, by policy.");

    /// <summary><c>reclaim.removed.size</c>: bytes of <see cref="RemovedObjects"/>, by <c>policy</c>.</summary>
    public static Counter<long> RemovedSize { get; } = Meter.CreateCounter<long>("reclaim.removed.size", "By", "Bytes deleted or quarantined, by policy.");

    /// <summary><c>reclaim.queue.requests.processed</c>: requests marked processed without an error, by <c>queue</c>.</summary>
    public static Counter<long> RequestsProcessed { get; } = Meter.CreateCounter<long>("reclaim.queue.requests.processed", "{request}", "Deletion requests processed without an error.");

    /// <summary><c>reclaim.queue.requests.failed</c>: requests marked processed with an error (rejected, or out of attempts), by <c>queue</c>.</summary>
    public static Counter<long> RequestsFailed { get; } = Meter.CreateCounter<long>("reclaim.queue.requests.failed", "{request}", "Deletion requests that ended with an error.");

    /// <summary><c>reclaim.queue.depth</c>: pending requests at the last cycle, by <c>queue</c>.</summary>
    public static ObservableGauge<long> QueueDepth { get; } = Meter.CreateObservableGauge("reclaim.queue.depth",
        () => QueueGauges.Select(g => new Measurement<long>(g.Value.Depth, QueueTag(g.Key))), "{request}", "Pending deletion requests.");

    /// <summary><c>reclaim.queue.oldest_pending_age</c>: age of the oldest pending request at the last cycle, in seconds, by <c>queue</c>.</summary>
    public static ObservableGauge<double> OldestPendingAge { get; } = Meter.CreateObservableGauge("reclaim.queue.oldest_pending_age",
        () => QueueGauges.Select(g => new Measurement<double>(g.Value.OldestAgeSeconds, QueueTag(g.Key))), "s", "Age of the oldest pending deletion request.");

    /// <summary>Counts one finished run of <paramref name="policy"/> and, unless it was a dry run, what it removed.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="status">How it ended (<c>succeeded</c>, <c>failed</c>, ...).</param>
    /// <param name="dryRun">Whether it was a dry run (then it counts as removing nothing).</param>
    /// <param name="objects">Objects removed.</param>
    /// <param name="bytes">Bytes removed.</param>
    public static void RunFinished(string policy, string status, bool dryRun, long objects, long bytes)
    {
        Runs.Add(1, PolicyTag(policy), new("status", status), new("dry_run", dryRun ? "true" : "false"));

        // A dry run adds zero: the policy's series exist from its first run, so a rate or an alert has them.
        Removed(policy, dryRun ? 0 : objects, dryRun ? 0 : bytes);
    }

    /// <summary>Counts one deletion request of <paramref name="queue"/> that ended, and the objects it removed.</summary>
    /// <param name="queue">The queue's name.</param>
    /// <param name="failed">Whether it ended with an error.</param>
    /// <param name="objects">Objects it removed (a failed request may have removed some).</param>
    /// <param name="bytes">Bytes it removed.</param>
    public static void RequestEnded(string queue, bool failed, long objects, long bytes)
    {
        (failed ? RequestsFailed : RequestsProcessed).Add(1, QueueTag(queue));
        Removed(queue, objects, bytes);
    }

    /// <summary>
    /// Records what a queue held at the start of a cycle (read by the two gauges), and starts the queue's counters at
    /// zero so that their series exist before its first request ends.
    /// </summary>
    /// <param name="queue">The queue's name.</param>
    /// <param name="depth">Pending requests.</param>
    /// <param name="oldestAge">Age of the oldest, or zero when empty.</param>
    public static void ObserveQueue(string queue, long depth, TimeSpan oldestAge)
    {
        QueueGauges[queue] = (depth, Math.Max(0, oldestAge.TotalSeconds));
        RequestsProcessed.Add(0, QueueTag(queue));
        RequestsFailed.Add(0, QueueTag(queue));
        Removed(queue, 0, 0);
    }

    /// <summary>The tag every queue measurement carries.</summary>
    /// <param name="queue">The queue's name.</param>
    /// <returns>The tag.</returns>
    public static KeyValuePair<string, object?> QueueTag(string queue) => new("queue", queue);

    private static KeyValuePair<string, object?> PolicyTag(string policy) => new("policy", policy);

    private static void Removed(string policy, long objects, long bytes)
    {
        RemovedObjects.Add(objects, PolicyTag(policy));
        RemovedSize.Add(bytes, PolicyTag(policy));
    }
}
