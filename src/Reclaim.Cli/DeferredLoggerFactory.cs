using Microsoft.Extensions.Logging;

namespace Reclaim.Cli;

/// <summary>
/// A logger factory that builds the real one (Microsoft.Extensions.Logging with its console provider, some 40 ms of a
/// command's start) only when something is first logged at or above <paramref name="minimum"/>: a short command that
/// logs nothing never pays for it. Loggers it hands out ask the real factory's logger once it exists.
/// </summary>
/// <param name="create">Builds the real factory; called at most once.</param>
/// <param name="minimum">The least level the real factory can log: anything below it is dropped without building it.</param>
internal sealed class DeferredLoggerFactory(Func<ILoggerFactory> create, LogLevel minimum) : ILoggerFactory
{
    private readonly Lazy<ILoggerFactory> _factory = new(create, LazyThreadSafetyMode.ExecutionAndPublication);

    private LogLevel Minimum => minimum;

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new DeferredLogger(this, categoryName);

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">Always: providers are configured by the factory the constructor's delegate builds.</exception>
    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("configure providers in the factory's builder");

    /// <summary>Disposes the real factory if it was built (flushing what its console provider has queued).</summary>
    public void Dispose()
    {
        if (_factory.IsValueCreated)
        {
            _factory.Value.Dispose();
        }
    }

    private sealed class DeferredLogger(DeferredLoggerFactory owner, string category) : ILogger
    {
        private ILogger? _logger;

        private ILogger Logger => _logger ??= owner._factory.Value.CreateLogger(category);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull =>
            owner._factory.IsValueCreated ? Logger.BeginScope(state) : null;

        public bool IsEnabled(LogLevel logLevel) =>
            logLevel != LogLevel.None && logLevel >= owner.Minimum && Logger.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel != LogLevel.None && logLevel >= owner.Minimum)
            {
                Logger.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
