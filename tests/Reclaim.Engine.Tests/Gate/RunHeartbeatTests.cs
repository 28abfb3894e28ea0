using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Reclaim.Core.State;
using Reclaim.Data.State;
using Reclaim.Engine.Gate;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// <see cref="RunHeartbeat"/> on a fake clock over SQLite state: a running run records the clock's time every
/// <see cref="RunOwner.HeartbeatInterval"/>, a failed write is retried at the next beat, and disposing stops it once
/// a beat in flight has ended. Each test waits for the beat it caused (no sleeping, no timing).
/// </summary>
public sealed class RunHeartbeatTests : IAsyncLifetime
{
    /// <summary>Only so that a broken heartbeat fails its test instead of hanging it.</summary>
    private static readonly TimeSpan Safety = TimeSpan.FromMinutes(1);

    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly TemporaryFolder _folder = new("heartbeat");
    private readonly FakeTimeProvider _clock = new(Start);
    private WatchedState? _state;

    private WatchedState State => _state!;

    public async Task InitializeAsync()
    {
        _state = new WatchedState(SqlStateStore.Sqlite(_folder.Combine("state.db")));
        await State.MigrateAsync(CancellationToken.None);
        await State.StartRunAsync(new RunRecord("r1", "sweep", Start, null, RunStatus.Running, "test", "p", false, null, Owner: RunOwner.Current, HeartbeatAt: Start), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await State.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<DateTimeOffset?> RecordedHeartbeatAsync() => (await State.GetRunAsync("r1", CancellationToken.None))!.HeartbeatAt;

    [Fact]
    public async Task ARunningRun_RecordsTheClocksTime_EveryHeartbeatInterval()
    {
        await using var heartbeat = RunHeartbeat.Start(State, "r1", _clock);

        _clock.Advance(RunOwner.HeartbeatInterval - TimeSpan.FromMilliseconds(1));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        var first = await State.Beats.Reader.ReadAsync().AsTask().WaitAsync(Safety);
        var recordedFirst = await RecordedHeartbeatAsync();
        _clock.Advance(RunOwner.HeartbeatInterval);
        var second = await State.Beats.Reader.ReadAsync().AsTask().WaitAsync(Safety);

        first.Should().Be(Start + RunOwner.HeartbeatInterval, "the first beat comes one interval after the start, not before");
        recordedFirst.Should().Be(first);
        second.Should().Be(Start + (2 * RunOwner.HeartbeatInterval));
        (await RecordedHeartbeatAsync()).Should().Be(second);
    }

    [Fact]
    public async Task AHeartbeatThatFailsToWrite_IsWrittenAtTheNextBeat()
    {
        State.OnBeat = (n, _) => n == 1 ? throw new IOException("database is locked") : Task.CompletedTask;
        await using var heartbeat = RunHeartbeat.Start(State, "r1", _clock);

        _clock.Advance(RunOwner.HeartbeatInterval);
        await State.Attempts.Reader.ReadAsync().AsTask().WaitAsync(Safety);
        _clock.Advance(RunOwner.HeartbeatInterval);
        var written = await State.Beats.Reader.ReadAsync().AsTask().WaitAsync(Safety);

        written.Should().Be(Start + (2 * RunOwner.HeartbeatInterval));
        (await RecordedHeartbeatAsync()).Should().Be(written);
    }

    [Fact]
    public async Task Disposing_StopsTheBeats()
    {
        var heartbeat = RunHeartbeat.Start(State, "r1", _clock)!;
        _clock.Advance(RunOwner.HeartbeatInterval);
        var last = await State.Beats.Reader.ReadAsync().AsTask().WaitAsync(Safety);

        await heartbeat.DisposeAsync().AsTask().WaitAsync(Safety);
        _clock.Advance(10 * RunOwner.HeartbeatInterval);

        State.Attempts.Reader.TryRead(out _).Should().BeTrue("the beat read above");
        State.Attempts.Reader.TryRead(out _).Should().BeFalse("no beat is attempted once disposing has returned");
        (await RecordedHeartbeatAsync()).Should().Be(last);
    }

    [Fact]
    public async Task Disposing_WaitsForABeatInFlight()
    {
        var entered = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var events = new ConcurrentQueue<string>();
        State.OnBeat = async (_, _) =>
        {
            entered.TrySetResult();
            await release.Task; // a slow write, deaf to the stop
            events.Enqueue("beat ended");
        };
        var heartbeat = RunHeartbeat.Start(State, "r1", _clock)!;
        _clock.Advance(RunOwner.HeartbeatInterval);
        await entered.Task.WaitAsync(Safety);

        var disposing = heartbeat.DisposeAsync().AsTask();
        _ = disposing.ContinueWith(_ => events.Enqueue("disposed"), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        release.SetResult();
        await disposing.WaitAsync(Safety);

        events.Should().Equal("beat ended", "disposed");
    }

    [Fact]
    public async Task ARunNotRecorded_HasNoHeartbeat()
    {
        RunHeartbeat.Start(null, "r1", _clock).Should().BeNull();
        RunHeartbeat.Start(NullState.Instance, "r1", _clock).Should().BeNull("a dry run records nothing");
        var recorded = RunHeartbeat.Start(State, "r1", _clock);
        recorded.Should().NotBeNull();
        await recorded!.DisposeAsync();
    }

    /// <summary>SQLite state that reports each heartbeat attempted and each written, and can fail or hold one first.</summary>
    private sealed class WatchedState(SqlStateStore inner) : IStateStore
    {
        private int _beats;

        /// <summary>Runs before each heartbeat is written, with its number (1 first); an exception it throws is the write's.</summary>
        public Func<int, CancellationToken, Task>? OnBeat { get; set; }

        /// <summary>The time of each heartbeat attempted, written or not.</summary>
        public Channel<DateTimeOffset> Attempts { get; } = Channel.CreateUnbounded<DateTimeOffset>();

        /// <summary>The time of each heartbeat written.</summary>
        public Channel<DateTimeOffset> Beats { get; } = Channel.CreateUnbounded<DateTimeOffset>();

        public async Task HeartbeatAsync(string runId, DateTimeOffset at, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _beats);
            Attempts.Writer.TryWrite(at);
            if (OnBeat is { } onBeat)
            {
                await onBeat(n, cancellationToken);
            }

            await inner.HeartbeatAsync(runId, at, cancellationToken);
            Beats.Writer.TryWrite(at);
        }

        public Task<int> MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

        public Task StartRunAsync(RunRecord run, CancellationToken cancellationToken) => inner.StartRunAsync(run, cancellationToken);

        public Task FinishRunAsync(string runId, RunStatus status, DateTimeOffset finishedAt, string? summary, string? error, CancellationToken cancellationToken) =>
            inner.FinishRunAsync(runId, status, finishedAt, summary, error, cancellationToken);

        public Task<bool> InterruptRunAsync(string runId, RunStatus expected, DateTimeOffset at, string reason, CancellationToken cancellationToken) =>
            inner.InterruptRunAsync(runId, expected, at, reason, cancellationToken);

        public Task<IReadOnlyList<string>> UnsettledRunsAsync(CancellationToken cancellationToken) => inner.UnsettledRunsAsync(cancellationToken);

        public Task<IReadOnlyList<ActionRecord>> RecordIntentAsync(IReadOnlyList<ActionRecord> actions, CancellationToken cancellationToken) =>
            inner.RecordIntentAsync(actions, cancellationToken);

        public Task RecordOutcomesAsync(IReadOnlyList<SettledAction> outcomes, DateTimeOffset at, CancellationToken cancellationToken) =>
            inner.RecordOutcomesAsync(outcomes, at, cancellationToken);

        public Task<IReadOnlyList<RunRecord>> ListRunsAsync(int limit, CancellationToken cancellationToken) => inner.ListRunsAsync(limit, cancellationToken);

        public Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken) => inner.GetRunAsync(runId, cancellationToken);

        public IAsyncEnumerable<ActionRecord> ListActionsAsync(string runId, CancellationToken cancellationToken) => inner.ListActionsAsync(runId, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
