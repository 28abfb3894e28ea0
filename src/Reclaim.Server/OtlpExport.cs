using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;

namespace Reclaim.Server;

/// <summary>
/// Optional OTLP export of the server's metrics (the <c>Reclaim</c> meter, the same instruments as <c>/metrics</c>) and
/// logs. It is on when <see cref="ServerSettings.OtlpEndpoint"/> is set or the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>OTEL_EXPORTER_OTLP_METRICS_ENDPOINT</c>) environment variable is;
/// the other standard variables (<c>OTEL_EXPORTER_OTLP_HEADERS</c> for an API key, <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>,
/// <c>OTEL_METRIC_EXPORT_INTERVAL</c>, <c>OTEL_SERVICE_NAME</c>) are honoured by the OpenTelemetry SDK. The protocol is
/// OTLP/HTTP with protobuf unless <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> says <c>grpc</c>.
/// </summary>
internal static class OtlpExport
{
    private const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Whether export is configured.</summary>
    public static bool Enabled(ServerSettings settings) =>
        settings.OtlpEndpoint is not null ||
        !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(EndpointVariable)) ||
        !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"));

    /// <summary>Adds an OTLP reader to the server's meter provider, when enabled.</summary>
    public static void AddMetrics(MeterProviderBuilder metrics, ServerSettings settings)
    {
        if (Enabled(settings))
        {
            metrics.AddOtlpExporter((exporter, reader) =>
            {
                Configure(exporter, settings, "v1/metrics");
                if (settings.OtlpExportInterval is { } interval)
                {
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)interval.TotalMilliseconds;
                }
            });
        }
    }

    /// <summary>Adds the OTLP log provider, when enabled.</summary>
    public static void AddLogs(IOpenTelemetryBuilder telemetry, ServerSettings settings)
    {
        if (Enabled(settings))
        {
            telemetry.WithLogging(logs => logs.AddOtlpExporter(exporter => Configure(exporter, settings, "v1/logs")), o => o.IncludeFormattedMessage = true);
        }
    }

    private static void Configure(OtlpExporterOptions exporter, ServerSettings settings, string signalPath)
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_PROTOCOL")))
        {
            exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
        }

        if (settings.OtlpEndpoint is { } endpoint)
        {
            // An endpoint given in code is used as is by the SDK: add the signal's path as the variable would.
            var text = endpoint.ToString();
            exporter.Endpoint = exporter.Protocol == OtlpExportProtocol.HttpProtobuf ? new Uri((text.EndsWith('/') ? text : text + "/") + signalPath) : endpoint;
        }
    }
}
