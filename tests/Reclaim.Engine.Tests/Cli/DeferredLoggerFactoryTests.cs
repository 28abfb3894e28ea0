using Microsoft.Extensions.Logging;
using Reclaim.Cli;

#pragma warning disable CA1848 // plain Log calls are what this test exercises

namespace Reclaim.Engine.Tests.Cli;

public sealed class DeferredLoggerFactoryTests
{
    [Fact]
    public void LogsBelowTheMinimum_NeverBuildTheFactory()
    {
        var built = 0;
        using var factory = new DeferredLoggerFactory(() => { built++; return new RecordingFactory(); }, LogLevel.Warning);
        var logger = factory.CreateLogger("Reclaim.Engine");

        logger.LogInformation("planned");
        logger.LogDebug("timing");

        logger.IsEnabled(LogLevel.Information).Should().BeFalse();
        built.Should().Be(0);
    }

    [Fact]
    public void ALogAtTheMinimum_BuildsTheFactoryOnce_AndReachesIt_AndDisposeFlushesIt()
    {
        var built = 0;
        var real = new RecordingFactory();
        var factory = new DeferredLoggerFactory(() => { built++; return real; }, LogLevel.Warning);
        var first = factory.CreateLogger("a");
        var second = factory.CreateLogger("b");

        first.LogWarning("one");
        second.LogError("two");
        first.LogInformation("dropped");
        factory.Dispose();

        built.Should().Be(1);
        real.Lines.Should().Equal("a Warning one", "b Error two");
        real.Disposed.Should().BeTrue();
    }

    private sealed class RecordingFactory : ILoggerFactory
    {
        public List<string> Lines { get; } = [];

        public bool Disposed { get; private set; }

        public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose() => Disposed = true;

        private sealed class Recorder(RecordingFactory owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Lines.Add($"{category} {logLevel} {formatter(state, exception)}");
        }
    }
}
