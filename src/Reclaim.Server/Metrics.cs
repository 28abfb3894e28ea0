using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Reclaim.Server;

/// <summary>
/// The server's instruments (meter <c>Reclaim.Server</c>): runs by policy and status, and objects and bytes removed
/// by policy (deleted or quarantined by a run that was not a dry run).
/// </summary>
public sealed class ReclaimMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Reclaim.Server";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _runs;
    private readonly Counter<long> _objects;
    private readonly Counter<long> _bytes;

    /// <summary>Creates the instruments.</summary>
    public ReclaimMetrics()
    {
        _runs = _meter.CreateCounter<long>("reclaim_runs", "{run}", "Runs the server started, by policy, status and dry_run.");
        _objects = _meter.CreateCounter<long>("reclaim_objects_removed", "{object}", "Objects deleted or quarantined, by policy.");
        _bytes = _meter.CreateCounter<long>("reclaim_bytes_removed", "By", "Bytes deleted or quarantined, by policy.");
    }

    /// <summary>Counts one finished run of <paramref name="policy"/>.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="status">How it ended (<c>succeeded</c>, <c>failed</c>, ...).</param>
    /// <param name="dryRun">Whether it was a dry run (then nothing counts as removed).</param>
    /// <param name="objects">Objects removed.</param>
    /// <param name="bytes">Bytes removed.</param>
    public void RunFinished(string policy, string status, bool dryRun, long objects, long bytes)
    {
        _runs.Add(1, new("policy", policy), new("status", status), new("dry_run", dryRun ? "true" : "false"));
        if (!dryRun)
        {
            _objects.Add(objects, new KeyValuePair<string, object?>("policy", policy));
            _bytes.Add(bytes, new KeyValuePair<string, object?>("policy", policy));
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();
}

/// <summary>
/// A small Prometheus text exposition (format 0.0.4) over <see cref="MeterListener"/>: counters and up-down counters
/// of the <c>Reclaim.*</c> meters are summed per tag set and written as <c>NAME_total</c> (counters) or
/// <c>NAME</c> (up-down counters, as gauges).
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    /// <summary>The content type of the exposition.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(Instrument Instrument, string Labels), long> _sums = new();

    /// <summary>Starts listening to the <c>Reclaim.*</c> meters.</summary>
    public PrometheusExporter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name.StartsWith("Reclaim.", StringComparison.Ordinal) &&
                instrument is Counter<long> or UpDownCounter<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            _sums.AddOrUpdate((instrument, Labels(tags)), value, (_, sum) => sum + value));
        _listener.Start();
    }

    /// <summary>The exposition text of everything measured so far.</summary>
    /// <returns>The text, one <c># HELP</c>/<c># TYPE</c> block per instrument.</returns>
    public string Write()
    {
        var text = new StringBuilder();
        foreach (var byInstrument in _sums.GroupBy(e => e.Key.Instrument).OrderBy(g => g.Key.Name, StringComparer.Ordinal))
        {
            var instrument = byInstrument.Key;
            var counter = instrument is Counter<long>;
            var name = counter ? instrument.Name + "_total" : instrument.Name;
            text.Append("# HELP ").Append(name).Append(' ').Append(instrument.Description).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(counter ? "counter" : "gauge").Append('\n');
            foreach (var entry in byInstrument.OrderBy(e => e.Key.Labels, StringComparer.Ordinal))
            {
                text.Append(name).Append(entry.Key.Labels).Append(' ').Append(entry.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return string.Empty;
        }

        var pairs = new List<string>(tags.Length);
        foreach (var tag in tags)
        {
            var value = Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty;
            pairs.Add($"{tag.Key}=\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"");
        }

        pairs.Sort(StringComparer.Ordinal);
        return "{" + string.Join(',', pairs) + "}";
    }
}
