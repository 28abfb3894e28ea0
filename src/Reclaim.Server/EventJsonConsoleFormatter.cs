using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Reclaim.Server;

/// <summary>
/// One JSON object per log line, as Microsoft.Extensions.Logging's JSON console formatter writes it (<c>Timestamp</c>,
/// <c>EventId</c>, <c>LogLevel</c>, <c>Category</c>, <c>Message</c>, <c>Exception</c>, <c>State</c>, <c>Scopes</c>, with
/// its <see cref="JsonConsoleFormatterOptions"/>), plus <c>"event"</c>: the event's stable name next to its id
/// (<c>"EventId": 4005, "event": "cleanup_complete"</c>), or <see langword="null"/> for an unnamed event. A journald or
/// log-service query on the event names of the worker Reclaim replaces (<c>job_queue_depth</c>, <c>job_dequeue</c>,
/// <c>cleanup_start</c>, <c>cleanup_object</c>, <c>cleanup_complete</c>, <c>cleanup_failed</c>,
/// <c>job_cycle_complete</c>) keeps working; the built-in formatter writes only the numeric id.
/// </summary>
public sealed class EventJsonConsoleFormatter : ConsoleFormatter, IDisposable
{
    /// <summary>The formatter's name (<see cref="ConsoleLoggerOptions.FormatterName"/>).</summary>
    public const string FormatterName = "reclaim-json";

    private readonly IDisposable? _reload;
    private JsonConsoleFormatterOptions _options;

    /// <summary>Creates the formatter.</summary>
    /// <param name="options">The JSON console formatter's options (timestamp format, UTC, scopes, writer options).</param>
    public EventJsonConsoleFormatter(IOptionsMonitor<JsonConsoleFormatterOptions> options)
        : base(FormatterName)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.CurrentValue;
        _reload = options.OnChange(o => _options = o);
    }

    /// <inheritdoc/>
    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (logEntry.Exception is null && message is null)
        {
            return;
        }

        var options = _options;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, options.JsonWriterOptions))
        {
            writer.WriteStartObject();
            if (options.TimestampFormat is { } format)
            {
                // A log line carries the wall-clock time, whatever clock the engine runs on.
                var utc = TimeProvider.System.GetUtcNow();
                var now = options.UseUtcTimestamp ? utc : TimeProvider.System.GetLocalNow();
                writer.WriteString("Timestamp", now.ToString(format, CultureInfo.InvariantCulture));
            }

            writer.WriteNumber("EventId", logEntry.EventId.Id);
            writer.WriteString("event", string.IsNullOrEmpty(logEntry.EventId.Name) ? null : logEntry.EventId.Name);
            writer.WriteString("LogLevel", Level(logEntry.LogLevel));
            writer.WriteString("Category", logEntry.Category);
            writer.WriteString("Message", message);
            if (logEntry.Exception is { } exception)
            {
                writer.WriteString("Exception", exception.ToString());
            }

            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> state)
            {
                writer.WriteStartObject("State");
                writer.WriteString("Message", logEntry.State.ToString());
                foreach (var (key, value) in state)
                {
                    WriteValue(writer, key, value);
                }

                writer.WriteEndObject();
            }

            if (options.IncludeScopes && scopeProvider is not null)
            {
                writer.WriteStartArray("Scopes");
                scopeProvider.ForEachScope(static (scope, w) => WriteScope(w, scope), writer);
                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        textWriter.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        textWriter.Write(Environment.NewLine);
    }

    /// <inheritdoc/>
    public void Dispose() => _reload?.Dispose();

    private static void WriteScope(Utf8JsonWriter writer, object? scope)
    {
        if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            writer.WriteStartObject();
            writer.WriteString("Message", scope.ToString());
            foreach (var (key, value) in pairs)
            {
                WriteValue(writer, key, value);
            }

            writer.WriteEndObject();
        }
        else
        {
            writer.WriteStringValue(Convert.ToString(scope, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Numbers and booleans as JSON numbers and booleans, anything else as its invariant text.</summary>
    private static void WriteValue(Utf8JsonWriter writer, string key, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNull(key);
                break;
            case bool b:
                writer.WriteBoolean(key, b);
                break;
            case int or long or short or sbyte or byte or ushort or uint:
                writer.WriteNumber(key, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong u:
                writer.WriteNumber(key, u);
                break;
            case double or float or decimal:
                writer.WriteNumber(key, Convert.ToDecimal(value, CultureInfo.InvariantCulture));
                break;
            default:
                writer.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "Trace",
        LogLevel.Debug => "Debug",
        LogLevel.Information => "Information",
        LogLevel.Warning => "Warning",
        LogLevel.Error => "Error",
        LogLevel.Critical => "Critical",
        _ => "None",
    };
}

/// <summary>Logging set-up shared by <c>reclaim serve</c> and <c>reclaim worker</c>.</summary>
public static class EventJsonLogging
{
    /// <summary>
    /// Logs to the console as JSON lines with each event's name (<see cref="EventJsonConsoleFormatter"/>), timestamps
    /// in UTC as <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>.
    /// </summary>
    /// <param name="builder">The logging builder.</param>
    /// <param name="configure">More console logger settings (for example all levels to stderr); may be <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static ILoggingBuilder AddEventJsonConsole(this ILoggingBuilder builder, Action<ConsoleLoggerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddConsole(options =>
        {
            configure?.Invoke(options);
            options.FormatterName = EventJsonConsoleFormatter.FormatterName;
        });
        builder.AddConsoleFormatter<EventJsonConsoleFormatter, JsonConsoleFormatterOptions>(options =>
        {
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            options.UseUtcTimestamp = true;
        });
        return builder;
    }
}
