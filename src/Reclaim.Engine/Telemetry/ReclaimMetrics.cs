using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Reclaim.Engine.Telemetry;

/// <summary>
/// Every metric Reclaim publishes, on one <see cref="Meter"/> named <c>Reclaim</c> (System.Diagnostics.Metrics):
/// an OpenTelemetry <c>MeterProvider</c> (<c>AddMeter("Reclaim")</c>) or a Prometheus text writer exports them
/// as they are. Units follow OpenTelemetry's conventions (<c>s</c>, <c>By</c>, <c>{request}</c>).
/// </summary>
public static class ReclaimMetrics
{
    /// <summary>The meter's name: <c>Reclaim</c>.</summary>
    public const string MeterName = "Reclaim";

    private static readonly ConcurrentDictionary<string, (long Depth, double OldestAgeSeconds)> QueueGauges = new(StringComparer.Ordinal);

    /// <summary>The meter.</summary>
    public static Meter Meter { get; } = new(MeterName);

    /// <summary><c>reclaim.queue.requests.processed</c>: requests marked processed without an error, by <c>queue</c>.</summary>
    public static Counter<long> RequestsProcessed { get; } = Meter.CreateCounter<long>("reclaim.queue.requests.processed", "{request}", "Deletion requests processed without an error.");

    /// <summary><c>reclaim.queue.requests.failed</c>: requests marked processed with an error (rejected, or out of attempts), by <c>queue</c>.</summary>
    public static Counter<long> RequestsFailed { get; } = Meter.CreateCounter<long>("reclaim.queue.requests.failed", "{request}", "Deletion requests that ended with an error.");

    /// <summary><c>reclaim.objects.deleted</c>: objects deleted or quarantined, by <c>queue</c>.</summary>
    public static Counter<long> ObjectsDeleted { get; } = Meter.CreateCounter<long>("reclaim.objects.deleted", "{object}", "Objects deleted or quarantined.");

    /// <summary><c>reclaim.bytes.deleted</c>: bytes of <see cref="ObjectsDeleted"/>, by <c>queue</c>.</summary>
    public static Counter<long> BytesDeleted { get; } = Meter.CreateCounter<long>("reclaim.bytes.deleted", "By", "Bytes deleted or quarantined.");

    /// <summary><c>reclaim.queue.depth</c>: pending requests at the last cycle, by <c>queue</c>.</summary>
    public static ObservableGauge<long> QueueDepth { get; } = Meter.CreateObservableGauge("reclaim.queue.depth",
        () => QueueGauges.Select(g => new Measurement<long>(g.Value.Depth, new KeyValuePair<string, object?>("queue", g.Key))), "{request}", "Pending deletion requests.");

    /// <summary><c>reclaim.queue.oldest_pending_age</c>: age of the oldest pending request at the last cycle, in seconds, by <c>queue</c>.</summary>
    public static ObservableGauge<double> OldestPendingAge { get; } = Meter.CreateObservableGauge("reclaim.queue.oldest_pending_age",
        () => QueueGauges.Select(g => new Measurement<double>(g.Value.OldestAgeSeconds, new KeyValuePair<string, object?>("queue", g.Key))), "s", "Age of the oldest pending deletion request.");

    /// <summary>Records what a queue held at the start of a cycle (read by the two gauges).</summary>
    /// <param name="queue">The queue's name.</param>
    /// <param name="depth">Pending requests.</param>
    /// <param name="oldestAge">Age of the oldest, or zero when empty.</param>
    public static void ObserveQueue(string queue, long depth, TimeSpan oldestAge) => QueueGauges[queue] = (depth, Math.Max(0, oldestAge.TotalSeconds));

    /// <summary>The tag every queue measurement carries.</summary>
    /// <param name="queue">The queue's name.</param>
    /// <returns>The tag.</returns>
    public static KeyValuePair<string, object?> QueueTag(string queue) => new("queue", queue);
}
