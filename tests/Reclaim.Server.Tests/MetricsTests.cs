using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Reclaim.Engine.Telemetry;

namespace Reclaim.Server.Tests;

/// <summary>
/// <c>GET /metrics</c> of a real server carries every instrument Reclaim publishes: the instruments are enumerated
/// from the runtime (a <see cref="MeterListener"/> over every meter whose name starts with <c>Reclaim</c>), so an
/// instrument or meter added without export fails here.
/// </summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_CarryEveryInstrument_TheQueueGaugesIncluded()
    {
        await using var host = await ServerHost.StartAsync();
        using var admin = host.As("admin");
        // A dry run: other tests assert what real runs of this policy add to the counters.
        var run = await ServerHost.RunAsync(admin, new { policies = new[] { "uploads" }, dry_run = true });
        run["status"]!.GetValue<string>().Should().Be("succeeded");
        using var enqueued = await admin.PostAsJsonAsync("api/v1/deletions", new { store = "media", keys = new[] { "uploads/gone0/video.mp4" } });
        var id = (await enqueued.Content.ReadFromJsonAsync<JsonObject>())!["ids"]![0]!.GetValue<long>();
        (await ServerHost.WaitForRequestAsync(admin, id))["status"]!.GetValue<string>().Should().Be("processed");

        // The worker counts a request just after marking it processed: scrape until the count is there.
        using var scraper = host.Client(null);
        var text = await scraper.GetStringAsync("metrics");
        for (var deadline = DateTime.UtcNow.AddSeconds(30); !CountsBoth(text) && DateTime.UtcNow < deadline; text = await scraper.GetStringAsync("metrics"))
        {
            await Task.Delay(100);
        }

        var instruments = PublishedInstruments();
        instruments.Should().Contain(i => i.Name == "reclaim.queue.depth").And.Contain(i => i.Name == "reclaim.runs", "the enumeration sees the meter");
        foreach (var instrument in instruments)
        {
            var name = PrometheusName(instrument);
            text.Should().Contain($"\n# TYPE {name} ", $"/metrics carries {instrument.Meter.Name}'s {instrument.Name}");
        }

        text.Should().MatchRegex("(?m)^reclaim_queue_depth\\{queue=\"reclaim\"\\} [0-9]+$", "the queue depth gauge reports the own queue");
        text.Should().MatchRegex("(?m)^reclaim_queue_oldest_pending_age_seconds\\{queue=\"reclaim\"\\} [0-9.eE+-]+$", "the oldest-pending gauge reports the own queue");
        text.Should().MatchRegex(ProcessedRequests);
        text.Should().MatchRegex(FinishedDryRuns);
    }

    private const string ProcessedRequests = "(?m)^reclaim_queue_requests_processed_total\\{queue=\"reclaim\"\\} [1-9]";

    private const string FinishedDryRuns = "(?m)^reclaim_runs_total\\{dry_run=\"true\",policy=\"uploads\",status=\"succeeded\"\\} [1-9]";

    private static bool CountsBoth(string text) =>
        System.Text.RegularExpressions.Regex.IsMatch(text, ProcessedRequests) && System.Text.RegularExpressions.Regex.IsMatch(text, FinishedDryRuns);

    /// <summary>Every instrument of every meter named <c>Reclaim</c> or <c>Reclaim.*</c> that exists now.</summary>
    private static List<Instrument> PublishedInstruments()
    {
        _ = ReclaimMetrics.Meter;
        var instruments = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == ReclaimMetrics.MeterName || instrument.Meter.Name.StartsWith(ReclaimMetrics.MeterName + ".", StringComparison.Ordinal))
                {
                    lock (instruments)
                    {
                        instruments.Add(instrument);
                    }
                }
            },
        };
        listener.Start();
        return instruments;
    }

    /// <summary>
    /// The name OpenTelemetry's Prometheus exporter gives an instrument: dots to underscores, the unit as a suffix
    /// (annotations such as <c>{run}</c> are dropped), <c>_total</c> on counters.
    /// </summary>
    private static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        var unit = instrument.Unit switch
        {
            null or "" => string.Empty,
            ['{', .., '}'] => string.Empty,
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            "1" => "ratio",
            var other => throw new InvalidOperationException($"no Prometheus suffix known for unit '{other}' of {instrument.Name}: add it here"),
        };
        if (unit.Length > 0 && !name.EndsWith("_" + unit, StringComparison.Ordinal))
        {
            name += "_" + unit;
        }

        var counter = instrument.GetType().IsGenericType && instrument.GetType().GetGenericTypeDefinition() is var type &&
            (type == typeof(Counter<>) || type == typeof(ObservableCounter<>));
        return counter ? name + "_total" : name;
    }
}
