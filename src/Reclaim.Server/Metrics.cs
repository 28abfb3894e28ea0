using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Reclaim.Engine.Telemetry;

namespace Reclaim.Server;

/// <summary>
/// The server's metrics: one OpenTelemetry meter provider over the <see cref="ReclaimMetrics"/> meter, read by
/// OpenTelemetry's Prometheus exporter at <c>GET /metrics</c> (text format 0.0.4, or OpenMetrics when the scraper asks
/// for it) and, when configured, pushed over OTLP (<see cref="OtlpExport"/>).
/// </summary>
internal static class Metrics
{
    /// <summary>The scrape route: <c>/metrics</c>.</summary>
    public const string Path = "/metrics";

    /// <summary>Registers the meter provider (started and flushed with the host) and, when configured, OTLP export of metrics and logs.</summary>
    /// <param name="builder">The server's builder.</param>
    /// <param name="settings">How the server runs.</param>
    public static void Add(WebApplicationBuilder builder, ServerSettings settings)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("reclaim", serviceVersion: typeof(Metrics).Assembly.GetName().Version?.ToString()))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(ReclaimMetrics.MeterName)
                    .AddPrometheusExporter(o =>
                    {
                        // A scrape reads the instruments as they are now (the queue gauges included), not a copy up to 300 ms old.
                        o.ScrapeResponseCacheDurationMilliseconds = 0;

                        // One meter: an otel_scope_name label on every series would say nothing.
                        o.ScopeInfoEnabled = false;
                    });
                OtlpExport.AddMetrics(metrics, settings);
            });
        OtlpExport.AddLogs(telemetry, settings);
    }

    /// <summary>Maps <c>GET /metrics</c> (no authentication, as a scraper expects).</summary>
    /// <param name="app">The application.</param>
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPrometheusScrapingEndpoint(Path).WithTags("health").AllowAnonymous();
}
