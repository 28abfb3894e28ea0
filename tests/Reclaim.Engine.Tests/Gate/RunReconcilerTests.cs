using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Reclaim.Core.State;
using Reclaim.Data.State;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Runtime;
using Reclaim.Engine.Tests.Configuration;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// <see cref="RunReconciler"/> over a folder store and SQLite state: a run whose process is gone is settled from the
/// store's state and marked interrupted with the reason; a run whose owner is alive, or that finished with nothing
/// pending, is left as it is.
/// </summary>
public sealed class RunReconcilerTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>An owner on this machine whose process cannot exist (no pid reaches <see cref="int.MaxValue"/>).</summary>
    private static readonly string DeadOwner = $"{Environment.MachineName}:{int.MaxValue}:1780000000000";

    private readonly ConfigFolder _folder = new();
    private readonly FakeTimeProvider _clock = new(Now);
    private Workspace? _workspace;
    private SqlStateStore? _state;

    private string Root => Path.Join(_folder.Path, "media");

    private SqlStateStore State => _state!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        _workspace = new Workspace(_folder.Load(new TestConfig().FolderStore().Yaml), NullLoggerFactory.Instance);
        _state = SqlStateStore.Sqlite(Path.Join(_folder.Path, "state.db"));
        await _state.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _state!.DisposeAsync();
        await _workspace!.DisposeAsync();
        _folder.Dispose();
    }

    private RunReconciler Reconciler() => new(_workspace!, State, _clock, NullLoggerFactory.Instance);

    private async Task StartAsync(string runId, string? owner, DateTimeOffset heartbeatAt) =>
        await State.StartRunAsync(new RunRecord(runId, "sweep", Now.AddHours(-1), null, RunStatus.Running, "test", "orphan-uploads", false, null, Owner: owner, HeartbeatAt: heartbeatAt), CancellationToken.None);

    private async Task PendingAsync(string runId, ActionKind kind, string key, string store = "media") =>
        await State.RecordIntentAsync(
            [new ActionRecord(0, runId, "orphan-uploads", store, kind, key, 10, key, "orphan", null, kind == ActionKind.Delete ? null : $".reclaim-trash/{runId}/{key}",
                ActionOutcome.Pending, null, Now.AddMinutes(-30))],
            CancellationToken.None);

    private void Put(string key)
    {
        var path = Path.Join(Root, key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "content of " + key);
    }

    private async Task<RunRecord> RunAsync(string runId) => (await State.GetRunAsync(runId, CancellationToken.None))!;

    private async Task<List<ActionRecord>> ActionsAsync(string runId) => await State.ListActionsAsync(runId, CancellationToken.None).CollectAsync();

    [Fact]
    public async Task ARunLeftRunningByAProcessOfThisMachineThatIsGone_IsSettledFromTheStore_AndMarkedInterrupted()
    {
        // The heartbeat is fresh, but a process of this machine is judged by whether it runs.
        await StartAsync("r1", DeadOwner, Now);
        Put("uploads/kept.mp4");
        await PendingAsync("r1", ActionKind.Delete, "uploads/gone.mp4");
        await PendingAsync("r1", ActionKind.Delete, "uploads/kept.mp4");
        await PendingAsync("r1", ActionKind.Restore, "uploads/lost.mp4");

        var settled = await Reconciler().SettleAsync("r1", CancellationToken.None);

        settled.Should().BeTrue();
        var run = await RunAsync("r1");
        run.Status.Should().Be(RunStatus.Interrupted);
        run.FinishedAt.Should().Be(Now);
        run.Error.Should().Be($"its process ({DeadOwner}) ended before the run finished; 3 pending actions were settled from the store's state on " +
                              "2026-06-01T12:00:00Z (1 done, 1 not done, 1 failed)");
        (await ActionsAsync("r1")).Select(a => (a.Key, a.Outcome)).Should().BeEquivalentTo(
        [
            ("uploads/gone.mp4", ActionOutcome.Done), ("uploads/kept.mp4", ActionOutcome.Skipped), ("uploads/lost.mp4", ActionOutcome.Failed),
        ]);
        File.Exists(Path.Join(Root, "uploads/kept.mp4")).Should().BeTrue("settling records what the store holds; it deletes nothing");
    }

    [Fact]
    public async Task SettlingARun_IsLoggedAsAWarning_WithTheRunAndTheReason()
    {
        await StartAsync("r1", "elsewhere:4242:1780000000000", Now - TimeSpan.FromHours(1));
        var collector = new FakeLogCollector();
        using var logging = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(collector)));

        await new RunReconciler(_workspace!, State, _clock, logging).SettleAsync("r1", CancellationToken.None);

        var record = collector.GetSnapshot().Should().ContainSingle(r => r.Id.Name == "run_settled").Which;
        (record.Level, record.Category).Should().Be((LogLevel.Warning, "Reclaim.Engine"));
        record.Message.Should().Be("Run r1 marked interrupted: its process (elsewhere:4242:1780000000000) ended before the run finished");
    }

    [Fact]
    public async Task ARunOfAnotherMachineWhoseHeartbeatIsFresh_IsLeftToItsOwner()
    {
        await StartAsync("r1", "elsewhere:4242:1780000000000", Now - TimeSpan.FromMinutes(1));
        await PendingAsync("r1", ActionKind.Delete, "uploads/gone.mp4");

        var settled = await Reconciler().SettleAsync("r1", CancellationToken.None);

        settled.Should().BeFalse();
        var run = await RunAsync("r1");
        (run.Status, run.FinishedAt, run.Error).Should().Be((RunStatus.Running, (DateTimeOffset?)null, (string?)null));
        (await ActionsAsync("r1")).Should().ContainSingle().Which.Outcome.Should().Be(ActionOutcome.Pending, "the owner records its own outcomes");
    }

    [Fact]
    public async Task ARunOfThisProcess_IsLeftToIt_HoweverOldItsHeartbeat()
    {
        await StartAsync("r1", RunOwner.Current, Now - TimeSpan.FromDays(1));
        await PendingAsync("r1", ActionKind.Delete, "uploads/gone.mp4");

        (await Reconciler().SettleAsync("r1", CancellationToken.None)).Should().BeFalse();

        (await RunAsync("r1")).Status.Should().Be(RunStatus.Running);
        (await ActionsAsync("r1")).Single().Outcome.Should().Be(ActionOutcome.Pending);
    }

    [Fact]
    public async Task ARunOfAnotherMachineSilentForLongerThanTheLease_IsSettled_EvenWithNothingPending()
    {
        await StartAsync("r1", "elsewhere:4242:1780000000000", Now - RunOwner.Lease - TimeSpan.FromSeconds(1));

        (await Reconciler().SettleAsync("r1", CancellationToken.None)).Should().BeTrue();

        var run = await RunAsync("r1");
        run.Status.Should().Be(RunStatus.Interrupted);
        run.Error.Should().Be("its process (elsewhere:4242:1780000000000) ended before the run finished", "with nothing pending there is nothing to count");
    }

    [Fact]
    public async Task ARunWithNoOwnerRecorded_IsJudgedByItsHeartbeat_AndNamedUnknown()
    {
        await StartAsync("r1", null, Now - TimeSpan.FromHours(1));

        (await Reconciler().SettleAsync("r1", CancellationToken.None)).Should().BeTrue();

        (await RunAsync("r1")).Error.Should().Be("its process (unknown) ended before the run finished");
    }

    [Fact]
    public async Task AFinishedRunWithActionsStillPending_IsSettled_AndItsErrorKept()
    {
        // A hard stop: the run recorded its end, but two store requests were in flight.
        var finishedAt = Now - TimeSpan.FromMinutes(10);
        await StartAsync("r1", RunOwner.Current, Now);
        await PendingAsync("r1", ActionKind.Quarantine, "uploads/moved.mp4");
        await PendingAsync("r1", ActionKind.Quarantine, "uploads/stayed.mp4");
        Put(".reclaim-trash/r1/uploads/moved.mp4");
        Put("uploads/stayed.mp4");
        await State.FinishRunAsync("r1", RunStatus.Failed, finishedAt, null, "cancelled", CancellationToken.None);

        (await Reconciler().SettleAsync("r1", CancellationToken.None)).Should().BeTrue("a finished run is settled whoever owned it");

        var run = await RunAsync("r1");
        run.Status.Should().Be(RunStatus.Interrupted);
        run.FinishedAt.Should().Be(finishedAt, "the run ended when it recorded its end");
        run.Error.Should().Be("cancelled; it ended (failed) with 2 actions pending; 2 pending actions were settled from the store's state on 2026-06-01T12:00:00Z " +
                              "(1 done, 1 not done, 0 failed)");
        (await ActionsAsync("r1")).Select(a => (a.Key, a.Outcome)).Should().BeEquivalentTo(
            [("uploads/moved.mp4", ActionOutcome.Done), ("uploads/stayed.mp4", ActionOutcome.Skipped)]);
    }

    [Fact]
    public async Task AnInterruptedRunWithAnActionPendingInAStoreTheConfigHas_IsSettled()
    {
        await StartAsync("r1", RunOwner.Current, Now);
        await PendingAsync("r1", ActionKind.Delete, "uploads/gone.mp4");
        await State.FinishRunAsync("r1", RunStatus.Interrupted, Now, null, "stopped", CancellationToken.None);

        (await Reconciler().SettleAsync("r1", CancellationToken.None)).Should().BeTrue();

        (await ActionsAsync("r1")).Single().Outcome.Should().Be(ActionOutcome.Done);
        (await RunAsync("r1")).Error.Should().StartWith("stopped; it ended (interrupted) with 1 actions pending; 1 pending actions were settled");
    }

    [Fact]
    public async Task AFinishedRunWithNothingPending_IsNotTouched()
    {
        await StartAsync("r1", DeadOwner, Now);
        await PendingAsync("r1", ActionKind.Delete, "uploads/gone.mp4");
        await State.RecordOutcomesAsync([SettledAction.Done((await ActionsAsync("r1")).Single().Id)], Now, CancellationToken.None);
        await State.FinishRunAsync("r1", RunStatus.Succeeded, Now, "{}", null, CancellationToken.None);

        (await Reconciler().SettleAsync("r1", CancellationToken.None)).Should().BeFalse();

        var run = await RunAsync("r1");
        (run.Status, run.Error).Should().Be((RunStatus.Succeeded, (string?)null));
    }

    [Fact]
    public async Task ARunThatIsNotRecorded_IsNotSettled()
    {
        (await Reconciler().SettleAsync("no-such-run", CancellationToken.None)).Should().BeFalse();
    }

    [Fact]
    public async Task ActionsInAStoreTheConfigNoLongerHas_StayPending_AndTheReasonSaysSo()
    {
        await StartAsync("r1", DeadOwner, Now);
        await PendingAsync("r1", ActionKind.Delete, "uploads/gone.mp4");
        await PendingAsync("r1", ActionKind.Delete, "uploads/a.mp4", store: "archive");
        await PendingAsync("r1", ActionKind.Delete, "uploads/b.mp4", store: "archive");

        (await Reconciler().SettleAsync("r1", CancellationToken.None)).Should().BeTrue();

        (await RunAsync("r1")).Error.Should().Be($"its process ({DeadOwner}) ended before the run finished; 1 pending actions were settled from the store's state on " +
                                                 "2026-06-01T12:00:00Z (1 done, 0 not done, 0 failed); 2 actions in stores the config no longer has stay pending");
        (await ActionsAsync("r1")).Select(a => (a.Store, a.Outcome)).Should().BeEquivalentTo(
            [("media", ActionOutcome.Done), ("archive", ActionOutcome.Pending), ("archive", ActionOutcome.Pending)]);
    }

    [Fact]
    public async Task ARunSettledWithActionsLeftInAStoreTheConfigNoLongerHas_IsNotSettledAgainByEachLaterCommand()
    {
        await StartAsync("r1", DeadOwner, Now);
        await PendingAsync("r1", ActionKind.Delete, "uploads/a.mp4", store: "archive");
        (await Reconciler().SettleAsync("r1", CancellationToken.None)).Should().BeTrue();
        var first = await RunAsync("r1");
        _clock.Advance(TimeSpan.FromHours(1));

        var again = await Reconciler().SettleAllAsync(CancellationToken.None);

        again.Should().BeEmpty("nothing can be settled until the store is configured again");
        (await RunAsync("r1")).Should().Be(first, "the run's record does not grow by a reason each time a command touches runs");
    }

    [Fact]
    public async Task SettleAll_SettlesEveryRunWhoseOwnerIsGone_AndLeavesLiveOnes()
    {
        await StartAsync("r1", DeadOwner, Now);
        await StartAsync("r2", RunOwner.Current, Now);
        await StartAsync("r3", "elsewhere:4242:1780000000000", Now - TimeSpan.FromHours(1));
        await StartAsync("r4", "elsewhere:4242:1780000000000", Now);
        await PendingAsync("r2", ActionKind.Delete, "uploads/gone.mp4");

        var settled = await Reconciler().SettleAllAsync(CancellationToken.None);

        settled.Should().Equal("r1", "r3");
        (await RunAsync("r2")).Status.Should().Be(RunStatus.Running);
        (await RunAsync("r4")).Status.Should().Be(RunStatus.Running);
        (await Reconciler().SettleAllAsync(CancellationToken.None)).Should().BeEmpty("what was settled stays settled");
    }
}
