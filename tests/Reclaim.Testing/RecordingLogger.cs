using Microsoft.Extensions.Logging;

namespace Reclaim.Testing;

/// <summary>One entry a <see cref="RecordingLogger"/> received.</summary>
/// <param name="Level">Its level.</param>
/// <param name="EventName">Its event's name.</param>
/// <param name="Message">The formatted message.</param>
/// <param name="Exception">The exception logged with it, if any.</param>
public sealed record LogEntry(LogLevel Level, string? EventName, string Message, Exception? Exception);

/// <summary>A logger that keeps what it is given, from <see cref="MinimumLevel"/> up (thread-safe).</summary>
/// <param name="minimumLevel">The least level enabled: <see cref="LogLevel.Warning"/> is the CLI without -v, <see cref="LogLevel.Debug"/> with it.</param>
public sealed class RecordingLogger(LogLevel minimumLevel = LogLevel.Warning) : ILogger
{
    private readonly List<LogEntry> _entries = [];

    /// <summary>The least level enabled.</summary>
    public LogLevel MinimumLevel { get; } = minimumLevel;

    /// <summary>What was logged so far, in order.</summary>
    public IReadOnlyList<LogEntry> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    /// <inheritdoc/>
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    /// <inheritdoc/>
    public bool IsEnabled(LogLevel logLevel) => logLevel >= MinimumLevel;

    /// <inheritdoc/>
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }

        lock (_entries)
        {
            _entries.Add(new LogEntry(logLevel, eventId.Name, formatter(state, exception), exception));
        }
    }
}
