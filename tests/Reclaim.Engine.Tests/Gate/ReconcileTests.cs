using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Gate;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// Settling the actions a run left pending from what the store holds now: each outcome recorded, nothing lost, a
/// leftover copy removed only when it is the same object.
/// </summary>
public sealed class ReconcileTests
{
    private const string Key = "orgs/o1/uploads/a0000/raw.mp4";

    [Theory]
    [InlineData(ActionKind.Delete, false, false, ActionOutcome.Done, null)]
    [InlineData(ActionKind.Delete, true, false, ActionOutcome.Skipped, "still at its key, not deleted")]
    [InlineData(ActionKind.Purge, false, false, ActionOutcome.Done, null)]
    [InlineData(ActionKind.Purge, false, true, ActionOutcome.Skipped, "still in the trash, not purged")]
    [InlineData(ActionKind.Quarantine, false, false, ActionOutcome.Skipped, "neither at its key nor in the trash (removed by someone else)")]
    [InlineData(ActionKind.Quarantine, true, false, ActionOutcome.Skipped, "still at its key, never moved")]
    [InlineData(ActionKind.Quarantine, false, true, ActionOutcome.Done, null)]
    [InlineData(ActionKind.Restore, false, false, ActionOutcome.Failed, "neither in the trash nor at its key")]
    [InlineData(ActionKind.Restore, true, false, ActionOutcome.Done, null)]
    [InlineData(ActionKind.Restore, false, true, ActionOutcome.Skipped, "still in the trash, not restored")]
    public async Task APendingAction_IsSettledFromWhereTheStoreHoldsItsObject(ActionKind kind, bool atKey, bool inTrash, ActionOutcome outcome, string? error)
    {
        await using var scene = await Scene.CreateAsync();
        if (atKey)
        {
            await scene.H.PutAsync(Key);
        }

        if (inTrash)
        {
            await scene.H.PutAsync(scene.TrashKey);
        }

        var pending = await scene.PendingAsync(kind, kind == ActionKind.Purge ? scene.TrashKey : Key, kind == ActionKind.Delete ? null : scene.TrashKey);

        var (settled, recorded) = await scene.SettleAsync(pending);

        recorded.Outcome.Should().Be(outcome);
        settled[recorded.Id].Outcome.Should().Be(outcome);
        if (error is null)
        {
            recorded.Error.Should().BeNull();
        }
        else
        {
            recorded.Error.Should().Be($"settled from the store after its run ended: {error}");
        }

        (await scene.H.KeysAsync()).Should().HaveCount((atKey ? 1 : 0) + (inTrash ? 1 : 0), "settling moves and deletes nothing here");
    }

    [Theory]
    [InlineData(ActionKind.Quarantine, ActionOutcome.Skipped, "still at its key (the move did not complete); its leftover copy in the trash was removed")]
    [InlineData(ActionKind.Restore, ActionOutcome.Done, "restored; its leftover copy in the trash was removed")]
    public async Task AtBothKeys_TheSameObject_IsAtItsKey_AndTheLeftoverTrashCopyIsRemoved(ActionKind kind, ActionOutcome outcome, string error)
    {
        await using var scene = await Scene.CreateAsync();
        var h = scene.H;
        await h.PutAsync(Key);
        await h.Store.WriteAsync(scene.TrashKey, new MemoryStream(GateHarness.Content(Key)), CancellationToken.None);
        File.SetLastWriteTimeUtc(Path.Combine(h.Root, scene.TrashKey), File.GetLastWriteTimeUtc(Path.Combine(h.Root, Key)));

        var (_, recorded) = await scene.SettleAsync(await scene.PendingAsync(kind, Key, scene.TrashKey));

        (recorded.Outcome, recorded.Error).Should().Be((outcome, $"settled from the store after its run ended: {error}"));
        (await h.KeysAsync()).Should().Equal(Key);
    }

    [Theory]
    [InlineData(ActionKind.Quarantine, ActionOutcome.Done, "the trash holds it; another object has been written at its key since")]
    [InlineData(ActionKind.Restore, ActionOutcome.Failed, "an object has reappeared at the original key; it is kept and this one stays in the trash")]
    public async Task AtBothKeys_DifferentObjects_BothAreKept(ActionKind kind, ActionOutcome outcome, string error)
    {
        await using var scene = await Scene.CreateAsync();
        var h = scene.H;
        await h.Store.WriteAsync(Key, new MemoryStream([1, 2, 3]), CancellationToken.None);
        await h.PutAsync(scene.TrashKey);

        var (_, recorded) = await scene.SettleAsync(await scene.PendingAsync(kind, Key, scene.TrashKey));

        (recorded.Outcome, recorded.Error).Should().Be((outcome, $"settled from the store after its run ended: {error}"));
        (await h.KeysAsync()).Should().BeEquivalentTo([Key, scene.TrashKey]);
        (await h.Store.ReadAllAsync(Key, CancellationToken.None)).Should().Equal([1, 2, 3]);
    }

    [Fact]
    public async Task ARecordsPolicysAfterStatement_IsSettledFailed_SinceWhetherItRanIsNotKnown()
    {
        await using var scene = await Scene.CreateAsync();

        var (_, recorded) = await scene.SettleAsync(await scene.PendingAsync(ActionKind.After, "row id=7", null));

        recorded.Outcome.Should().Be(ActionOutcome.Failed);
        recorded.Error.Should().StartWith("settled from the store after its run ended: whether the statement ran is not known");
        scene.H.Store.Requests.Should().BeEmpty("nothing in the store tells");
    }

    [Fact]
    public async Task ManyPendingActions_AreEachSettled_AndAllRecorded()
    {
        await using var h = await GateHarness.CreateAsync();
        var run = await h.StartRunAsync();
        var keys = await h.PutGroupsAsync(20);
        var actions = keys.Select((k, i) => new ActionRecord(0, run.RunId, "orphan-uploads", "media", ActionKind.Delete, k, 1, k, "orphan", null, null,
            ActionOutcome.Pending, null, h.Clock.GetUtcNow())).ToList();
        var pending = await h.State.RecordIntentAsync(actions, CancellationToken.None);
        await h.Store.DeleteAsync([.. keys.Where((_, i) => i % 2 == 0)], CancellationToken.None);

        var settled = await h.Gate().ReconcileAsync(h.Store, pending, CancellationToken.None);

        settled.Should().HaveCount(60);
        var recorded = await h.ActionsAsync(run.RunId);
        recorded.Where(a => a.Outcome == ActionOutcome.Done).Select(a => a.Key).Should().BeEquivalentTo(keys.Where((_, i) => i % 2 == 0));
        recorded.Where(a => a.Outcome == ActionOutcome.Skipped).Select(a => a.Key).Should().BeEquivalentTo(keys.Where((_, i) => i % 2 == 1));
    }

    /// <summary>A gate harness with a run started, for one pending action of that run about <see cref="Key"/>.</summary>
    private sealed class Scene(GateHarness h, GateRun run) : IAsyncDisposable
    {
        public GateHarness H => h;

        /// <summary>Where the run's quarantine puts <see cref="Key"/>.</summary>
        public string TrashKey { get; } = DestructiveGate.TrashKey(GateHarness.TrashPrefix, run.RunId, Key);

        public static async Task<Scene> CreateAsync()
        {
            var h = await GateHarness.CreateAsync();
            return new Scene(h, await h.StartRunAsync());
        }

        /// <summary>Records the intent of one action of the run, left pending.</summary>
        public async Task<IReadOnlyList<ActionRecord>> PendingAsync(ActionKind kind, string key, string? trashKey) =>
            await h.State.RecordIntentAsync(
                [new ActionRecord(0, run.RunId, "orphan-uploads", "media", kind, key, 10, key, "test", null, trashKey, ActionOutcome.Pending, null, h.Clock.GetUtcNow())],
                CancellationToken.None);

        /// <summary>Settles <paramref name="pending"/> and reads back the run's one action.</summary>
        public async Task<(IReadOnlyDictionary<long, SettledAction> Settled, ActionRecord Recorded)> SettleAsync(IReadOnlyList<ActionRecord> pending)
        {
            var settled = await h.Gate().ReconcileAsync(h.Store, pending, CancellationToken.None);
            return (settled, (await h.ActionsAsync(run.RunId)).Single());
        }

        public ValueTask DisposeAsync() => h.DisposeAsync();
    }
}
