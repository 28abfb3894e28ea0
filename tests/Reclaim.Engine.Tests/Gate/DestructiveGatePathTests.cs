using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine.Gate;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// The destructive path's edges the other gate tests leave open: what refuses a plan before anything is touched, a
/// plan out of key order, sub-batch and re-check bounds at their exact limits, and each way a store request can fail
/// — every one recorded with its reason and the objects left where they were.
/// </summary>
public sealed class DestructiveGatePathTests
{
    private static readonly string A0 = GateHarness.Group("o1", "a0000");

    [Fact]
    public async Task APlanAGuardRefused_IsRefusedWhole_AndNothingIsTouchedOrRecorded()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        plan.Guards.AddRange([new GuardVerdict("max_delete_count", true, "6 of at most 10"), new GuardVerdict("max_delete_fraction", false, "100 % of 2 groups")]);
        var run = await h.StartRunAsync();
        h.Store.Requests.Clear();

        var act = () => h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (await act.Should().ThrowAsync<GuardRefusedException>()).WithMessage("policy 'orphan-uploads': guard max_delete_fraction refused: 100 % of 2 groups");
        h.Store.Requests.Should().BeEmpty();
        (await h.KeysAsync()).Should().Equal(keys);
        (await h.ActionsAsync(run.RunId)).Should().BeEmpty();
    }

    [Fact]
    public async Task APlanWhoseActionIsNotARemoval_IsRefused_AndNothingIsTouched()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(1);
        var plan = await h.PlanAsync(ActionKind.Restore);
        var run = await h.StartRunAsync();
        h.Store.Requests.Clear();

        var act = () => h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage("a policy removes by delete or quarantine, not Restore*");
        h.Store.Requests.Should().BeEmpty();
        (await h.KeysAsync()).Should().Equal(keys);
    }

    [Fact]
    public async Task APlanFileOutOfKeyOrder_IsRemovedWhole_AndRecordedInKeyOrder()
    {
        // A plan file's groups (and a group's objects) in another order: each sub-batch is re-read by one range
        // listing from its first key to its last, which only covers its groups in key order.
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(4);
        var plan = await h.PlanAsync(ActionKind.Delete);
        plan.Groups = [.. plan.Groups.AsEnumerable().Reverse().Select(g => g with { Objects = [.. g.Objects.AsEnumerable().Reverse()] })];
        h.Store.BatchSize = 6;
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsSkipped).Should().Be((12L, 0L));
        (await h.KeysAsync()).Should().BeEmpty();
        // The two sub-batches may be in flight together, so which one is recorded first is open; each is
        // recorded whole and in key order.
        var recorded = (await h.ActionsAsync(run.RunId)).OrderBy(a => a.Id).Select(a => a.Key).Chunk(6).ToList();
        recorded.Should().HaveCount(2);
        recorded.OrderBy(c => c[0], StringComparer.Ordinal).SelectMany(c => c).Should().Equal(keys);
    }

    [Theory]
    [InlineData(4, 1)]
    [InlineData(5, 2)]
    public async Task SubBatches_HoldWholeGroupsUpToExactlyTheDeleteBatch(int groups, int subBatches)
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(groups);
        var plan = await h.PlanAsync(ActionKind.Delete);
        h.Store.BatchSize = 12; // four groups of three fill it exactly

        var totals = await h.Gate().RemoveGroupsAsync(await h.StartRunAsync(), h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(groups * 3);
        h.Catalog.Finds.Should().HaveCount(subBatches, "one re-check query per sub-batch");
        h.Store.Requests.Count(r => r.Operation == "delete").Should().Be(subBatches);
    }

    [Fact]
    public async Task OneReCheckQuery_CoversAtMostAThousandGroups()
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutAsync([.. Enumerable.Range(0, DestructiveGate.MaxGroupsPerRecheck + 1).Select(i => $"{GateHarness.Group("o1", $"a{i:D4}")}raw.mp4")]);
        var plan = await h.PlanAsync(ActionKind.Delete);
        h.Store.BatchSize = 5000; // not the object count: the group count bounds this sub-batch

        var totals = await h.Gate().RemoveGroupsAsync(await h.StartRunAsync(), h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(DestructiveGate.MaxGroupsPerRecheck + 1);
        h.Catalog.Finds.Select(f => f.Tuples.Count).Order().Should().Equal(1, DestructiveGate.MaxGroupsPerRecheck);
    }

    [Theory]
    [InlineData(16, 1)]
    [InlineData(17, 2)]
    public async Task QuarantineByMoves_ReChecksUpToExactlyMovesPerRecheckObjects_AtOnce(int groups, int rechecks)
    {
        // Groups of four: sixteen fill the 64 moves one protection check may cover exactly.
        await using var h = await GateHarness.CreateAsync();
        await h.PutAsync([.. Enumerable.Range(0, groups).SelectMany(i => new[] { "a.mp4", "b.mp4", "c.jpg", "d.jpg" }.Select(f => $"{GateHarness.Group("o1", $"a{i:D4}")}{f}"))]);
        var plan = await h.PlanAsync();

        var totals = await h.Gate().RemoveGroupsAsync(await h.StartRunAsync(), h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(groups * 4);
        h.Catalog.Finds.Should().HaveCount(rechecks);
    }

    [Fact]
    public async Task AWholeGroupGoneSinceThePlan_IsSkippedAsGone_AndTheOthersGo()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        Directory.Delete(Path.Combine(h.Root, A0), recursive: true);
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsSkipped, totals.ObjectsFailed).Should().Be((3L, 3L, 0L));
        var actions = await h.ActionsAsync(run.RunId);
        actions.Where(a => a.GroupKey == A0).Should().HaveCount(3).And.OnlyContain(a => a.Outcome == ActionOutcome.Skipped && a.Error == "gone since the plan"
            && a.Reason == "orphan: no reference renders to the group; skipped: gone since the plan" && a.Evidence == null);
        actions.Where(a => a.GroupKey != A0).Should().HaveCount(3).And.OnlyContain(a => a.Outcome == ActionOutcome.Done
            && a.Reason == "orphan: no reference renders to the group" && a.TrashKey == null && a.Evidence!.StartsWith("size=", StringComparison.Ordinal));
        (await h.KeysAsync()).Should().BeEmpty();
        keys.Should().HaveCount(6);
    }

    [Fact]
    public async Task AReferencedGroup_CountsEachOfItsObjectsSkippedOnce()
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        h.Reference("o1", "a0000");

        var totals = await h.Gate().RemoveGroupsAsync(await h.StartRunAsync(), h.Removal(plan), CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsSkipped, totals.GroupsSkipped).Should().Be((3L, 3L, 1L));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task APolicyWithoutAProtectingQuery_IsRemovedWithoutAReCheckQuery_AndReportsNoReCheckWindow(bool catalog, bool query)
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        h.Reference("o1", "a0000"); // in the catalog, but the policy names no query
        var removal = h.Removal(plan);

        var totals = await h.Gate().RemoveGroupsAsync(await h.StartRunAsync(),
            removal with { Catalog = catalog ? removal.Catalog : null, ReferenceQuery = query ? removal.ReferenceQuery : null }, CancellationToken.None);

        totals.ObjectsDone.Should().Be(6);
        h.Catalog.Finds.Should().BeEmpty();
        totals.RecheckWindowsMs.Should().BeEmpty("no protection check ran, so no window between one and the removal exists to report");
    }

    [Fact]
    public async Task AHardStopWhileASubBatchIsReRead_TouchesAndRecordsNothingOfIt()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        using var kill = new CancellationTokenSource();
        h.CancelOn("list-range", kill);
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), kill.Token);

        (totals.Stopped, totals.GroupsNotStarted, totals.ObjectsDone, totals.ObjectsFailed).Should().Be((true, 2L, 0L, 0L));
        (await h.KeysAsync()).Should().Equal(keys);
        (await h.ActionsAsync(run.RunId)).Should().BeEmpty();
    }

    [Fact]
    public async Task AStoreRequestTimingOutDuringTheReRead_FailsThatSubBatchAlone_ItIsNotAStop()
    {
        // An SDK's own timeout is an OperationCanceledException whose token is not the run's.
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        h.Store.BatchSize = 3;
        var listings = 0;
        h.Store.Before = (request, _) => request.Operation == "list-range" && Interlocked.Increment(ref listings) == 1
            ? throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout")
            : Task.CompletedTask;
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (totals.Stopped, totals.ObjectsDone, totals.ObjectsFailed).Should().Be((false, 3L, 3L));
        var failed = (await h.ActionsAsync(run.RunId)).Where(a => a.Outcome == ActionOutcome.Failed).ToList();
        failed.Should().HaveCount(3).And.OnlyContain(a => a.Error!.Contains("before acting failed: The request was canceled due to the configured HttpClient.Timeout; nothing was touched"));
        (await h.KeysAsync()).Should().BeEquivalentTo(failed.Select(a => a.Key));
    }

    [Theory]
    [InlineData("delete", ActionKind.Delete, false, 3, "store 'media': delete failed: {timeout}")]
    [InlineData("copy", ActionKind.Quarantine, true, 1, "store 'media': copy to the trash failed: {timeout}; nothing was moved")]
    [InlineData("move", ActionKind.Quarantine, false, 1, "store 'media': move failed: {timeout}")]
    public async Task AStoreRequestTimingOutOfItsOwn_FailsItsObjectsAlone_ItIsNotAStop(string operation, ActionKind action, bool copying, int failed, string error)
    {
        // An SDK's own timeout is an OperationCanceledException whose token is not the run's: that request failed,
        // the run goes on.
        const string Timeout = "The request was canceled due to the configured HttpClient.Timeout";
        await using var h = await GateHarness.CreateAsync(copying: copying);
        var keys = await h.PutGroupsAsync(1);
        var timingOut = A0 + "raw.mp4";
        var plan = await h.PlanAsync(action);
        h.Store.Before = (request, _) => request.Operation == operation && request.Keys.Contains(timingOut) ? throw new TaskCanceledException(Timeout) : Task.CompletedTask;
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (totals.Stopped, totals.ObjectsDone, totals.ObjectsFailed, totals.ObjectsPending).Should().Be((false, 3L - failed, (long)failed, 0L));
        var actions = await h.ActionsAsync(run.RunId);
        actions.Where(a => a.Outcome == ActionOutcome.Failed).Should().HaveCount(failed).And.Contain(a => a.Key == timingOut)
            .And.OnlyContain(a => a.Error == error.Replace("{timeout}", Timeout, StringComparison.Ordinal));
        (actions.Count, actions.Count(a => a.Outcome == ActionOutcome.Done)).Should().Be((3, 3 - failed));
        (await h.KeysAsync()).Should().Contain(timingOut, "the object whose request timed out stays where it was");
        keys.Should().HaveCount(3);
    }

    [Theory]
    [InlineData("list-range", "before acting failed: AccessDenied; nothing was touched")]
    [InlineData("delete", "store 'media': delete failed: AccessDenied")]
    public async Task AStoreRequestFailingAsTheHardStopComes_IsRecordedFailedWithItsError_NotThrown(string operation, string error)
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        using var kill = new CancellationTokenSource();
        h.Store.Before = async (request, _) =>
        {
            if (request.Operation == operation)
            {
                await kill.CancelAsync();
                throw new IOException("AccessDenied"); // the request failed on its own as the stop came
            }
        };
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), kill.Token);

        totals.ObjectsFailed.Should().Be(6);
        (await h.ActionsAsync(run.RunId)).Should().HaveCount(6).And.OnlyContain(a => a.Outcome == ActionOutcome.Failed && a.Error!.EndsWith(error, StringComparison.Ordinal));
        (await h.KeysAsync()).Should().Equal(keys);
    }

    [Fact]
    public async Task QuarantineByCopy_AHardStopDuringTheCopies_SendsNoFurtherCopy()
    {
        // Every copy request brings the stop: at most the CopyParallelism copies already started are sent.
        await using var h = await GateHarness.CreateAsync(copying: true);
        await h.PutGroupsAsync(20);
        var plan = await h.PlanAsync();
        using var kill = new CancellationTokenSource();
        h.CancelOn("copy", kill);
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), kill.Token);

        totals.Stopped.Should().BeTrue();
        h.Store.Requests.Count(r => r.Operation == "copy").Should().BeInRange(1, DestructiveGate.CopyParallelism);
        h.Store.Requests.Should().NotContain(r => r.Operation == "delete", "nothing is removed after the stop");
        var actions = await h.ActionsAsync(run.RunId);
        actions.Count(a => a.Outcome == ActionOutcome.Pending).Should().Be(h.Store.Requests.Count(r => r.Operation == "copy"));
        actions.Where(a => a.Outcome != ActionOutcome.Pending).Should().HaveCount(60 - (int)totals.ObjectsPending)
            .And.OnlyContain(a => a.Outcome == ActionOutcome.Skipped && a.Error == "not acted on: the run was stopped before this object's store request");
    }

    [Fact]
    public async Task ADeleteRequestThatFailsWhole_FailsEveryObjectOfIt_WithTheStoresError()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(1);
        var plan = await h.PlanAsync(ActionKind.Delete);
        h.Store.Before = (request, _) => request.Operation == "delete" ? throw new IOException("connection reset") : Task.CompletedTask;
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsFailed, totals.Stopped).Should().Be((0L, 3L, false));
        (await h.ActionsAsync(run.RunId)).Should().HaveCount(3).And.OnlyContain(a => a.Outcome == ActionOutcome.Failed && a.Error == "store 'media': delete failed: connection reset");
        (await h.KeysAsync()).Should().Equal(keys);
    }

    [Fact]
    public async Task SampleErrors_KeepTheFirstTen_WhileEveryFailureIsCounted()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(4);
        foreach (var key in keys)
        {
            h.Store.DeleteErrors[key] = "AccessDenied";
        }

        var removal = new RequestedRemoval("expired-rows", h.Store, ActionKind.Delete, GateHarness.TrashPrefix, keys, [], "row id=7", "selected");

        var totals = await h.Gate().RemoveRequestedAsync(await h.StartRunAsync(), removal, CancellationToken.None);

        totals.ObjectsFailed.Should().Be(12);
        totals.SampleErrors.Should().HaveCount(10).And.OnlyContain(e => e.EndsWith(": store 'media': delete failed: AccessDenied", StringComparison.Ordinal));
    }

    [Fact]
    public async Task QuarantineByCopy_AnObjectChangedBeforeItsCopy_IsSkipped_AndOneWhoseCopyFails_IsFailed_BothLeftInPlace()
    {
        await using var h = await GateHarness.CreateAsync(copying: true);
        var keys = await h.PutGroupsAsync(1);
        var changed = A0 + "raw.mp4";
        var failing = A0 + "thumb.jpg";
        var plan = await h.PlanAsync();
        h.Store.Before = async (request, _) =>
        {
            if (request.Operation == "copy" && request.Keys[0] == changed)
            {
                await h.Store.WriteAsync(changed, new MemoryStream(new byte[99]), CancellationToken.None); // another writer
            }
            else if (request.Operation == "copy" && request.Keys[0] == failing)
            {
                throw new IOException("SlowDown");
            }
        };
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsSkipped, totals.ObjectsFailed).Should().Be((1L, 1L, 1L));
        var actions = (await h.ActionsAsync(run.RunId)).ToDictionary(a => a.Key, a => (a.Outcome, a.Error));
        actions[changed].Should().Be((ActionOutcome.Skipped, "changed since the re-check (the copy's ETag condition failed); nothing was moved"));
        actions[failing].Should().Be((ActionOutcome.Failed, "store 'media': copy to the trash failed: SlowDown; nothing was moved"));
        (await h.KeysAsync()).Should().BeEquivalentTo([changed, failing, DestructiveGate.TrashKey(GateHarness.TrashPrefix, run.RunId, A0 + "streaming/seg_000.ts")]);
        (await h.Store.ReadAllAsync(changed, CancellationToken.None)).Should().HaveCount(99, "the new write is kept");
        keys.Should().HaveCount(3);
    }

    [Theory]
    [InlineData(false, "; its copy in the trash was removed")]
    [InlineData(true, "; its copy at '{trash}' could not be removed (store 'media': delete failed: AccessDenied) and goes with the next purge")]
    public async Task QuarantineByCopy_AnOriginalTheStoreWillNotDelete_StaysAndIsFailed_ItsTrashCopyRemovedWhereItCanBe(bool copyStuck, string copy)
    {
        await using var h = await GateHarness.CreateAsync(copying: true);
        await h.PutGroupsAsync(1);
        var stuck = A0 + "raw.mp4";
        var plan = await h.PlanAsync();
        var run = await h.StartRunAsync();
        var trashKey = DestructiveGate.TrashKey(GateHarness.TrashPrefix, run.RunId, stuck);
        h.Store.DeleteErrors[stuck] = "AccessDenied";
        if (copyStuck)
        {
            h.Store.DeleteErrors[trashKey] = "AccessDenied";
        }

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsFailed).Should().Be((2L, 1L));
        var action = (await h.ActionsAsync(run.RunId)).Single(a => a.Key == stuck);
        (action.Outcome, action.Error).Should().Be((ActionOutcome.Failed, "store 'media': delete failed: AccessDenied; the original stays" + copy.Replace("{trash}", trashKey, StringComparison.Ordinal)));
        var held = await h.KeysAsync();
        held.Should().Contain(stuck);
        held.Contains(trashKey).Should().Be(copyStuck);
    }

    [Fact]
    public async Task QuarantineByCopy_AHardStopDuringTheCopy_LeavesItPending_AndSettlingRemovesTheLeftover()
    {
        await using var h = await GateHarness.CreateAsync(copying: true);
        var key = A0 + "raw.mp4";
        await h.PutAsync(key);
        var plan = await h.PlanAsync();
        using var kill = new CancellationTokenSource();
        h.CancelOn("copy", kill);
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), kill.Token);

        (totals.Stopped, totals.ObjectsPending).Should().Be((true, 1L));
        var pending = await h.ActionsAsync(run.RunId);
        pending.Should().ContainSingle().Which.Outcome.Should().Be(ActionOutcome.Pending, "its copy request was sent: what became of it is known only from the store");
        h.Store.Before = null;
        await h.Gate().ReconcileAsync(h.Store, pending, CancellationToken.None);
        (await h.ActionsAsync(run.RunId)).Single().Outcome.Should().Be(ActionOutcome.Skipped);
        (await h.KeysAsync()).Should().Equal(key);
    }

    [Fact]
    public async Task QuarantineByMoves_ATrashKeyAlreadyTaken_AGoneObject_AndAFailedMove_EachRecordedWithItsReason()
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(1);
        var taken = A0 + "raw.mp4";
        var gone = A0 + "thumb.jpg";
        var failing = A0 + "streaming/seg_000.ts";
        var plan = await h.PlanAsync();
        var run = await h.StartRunAsync();
        await h.PutAsync(DestructiveGate.TrashKey(GateHarness.TrashPrefix, run.RunId, taken));
        h.Store.Before = (request, _) =>
        {
            if (request.Operation == "move" && request.Keys[0] == gone)
            {
                File.Delete(Path.Combine(h.Root, gone));
            }

            return request.Operation == "move" && request.Keys[0] == failing ? throw new IOException("disk full") : Task.CompletedTask;
        };

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsSkipped, totals.ObjectsFailed).Should().Be((0L, 1L, 2L));
        var actions = (await h.ActionsAsync(run.RunId)).ToDictionary(a => a.Key, a => (a.Outcome, a.Error));
        actions[taken].Should().Be((ActionOutcome.Failed, "the trash already holds an object at this run's trash key; nothing moved"));
        actions[gone].Should().Be((ActionOutcome.Skipped, "gone before it could be moved"));
        actions[failing].Should().Be((ActionOutcome.Failed, "store 'media': move failed: disk full"));
        (await h.KeysAsync()).Should().Contain([taken, failing]);
    }

    [Fact]
    public async Task Restore_AReappearedObject_AnAlreadyRestoredOne_AndOneGoneFromTheTrash_EachRecordedWithItsReason()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(1);
        var plan = await h.PlanAsync();
        var quarantine = await h.StartRunAsync();
        await h.Gate().RemoveGroupsAsync(quarantine, h.Removal(plan), CancellationToken.None);
        var reappeared = A0 + "raw.mp4";
        var restored = A0 + "thumb.jpg";
        var purged = A0 + "streaming/seg_000.ts";
        string Trash(string key) => DestructiveGate.TrashKey(GateHarness.TrashPrefix, quarantine.RunId, key);
        await h.Store.WriteAsync(reappeared, new MemoryStream([1, 2, 3]), CancellationToken.None);
        await h.Store.MoveAsync(Trash(restored), restored, CancellationToken.None);
        File.Delete(Path.Combine(h.Root, Trash(purged)));
        var restore = await h.StartRunAsync();

        var totals = await h.Gate().RestoreAsync(restore, h.Store, [.. keys.Select(k => new QuarantinedObject(k, Trash(k), 10, "orphan-uploads"))], CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsSkipped, totals.ObjectsFailed).Should().Be((0L, 1L, 2L));
        var actions = (await h.ActionsAsync(restore.RunId)).ToDictionary(a => a.Key, a => (a.Outcome, a.Error));
        actions[reappeared].Should().Be((ActionOutcome.Failed, "an object has reappeared at the original key; it is kept and this one stays in the trash"));
        actions[restored].Should().Be((ActionOutcome.Skipped, "already restored"));
        actions[purged].Should().Be((ActionOutcome.Failed, "not in the trash any more (purged?); nothing to restore"));
        (await h.KeysAsync()).Should().BeEquivalentTo([reappeared, restored, Trash(reappeared)]);
    }

    [Theory]
    [InlineData(false, "its leftover copy in the trash could not be removed (AccessDenied) and goes with the next purge")]
    [InlineData(true, "its leftover copy in the trash could not be removed (connection reset) and goes with the next purge")]
    public async Task Settling_ALeftoverTrashCopyTheStoreWillNotDelete_SaysSo_AndKeepsBoth(bool throws, string leftover)
    {
        await using var h = await GateHarness.CreateAsync();
        var key = A0 + "raw.mp4";
        var run = await h.StartRunAsync();
        var trashKey = DestructiveGate.TrashKey(GateHarness.TrashPrefix, run.RunId, key);
        await h.PutAsync(key);
        await h.Store.WriteAsync(trashKey, new MemoryStream(GateHarness.Content(key)), CancellationToken.None);
        File.SetLastWriteTimeUtc(Path.Combine(h.Root, trashKey), File.GetLastWriteTimeUtc(Path.Combine(h.Root, key)));
        h.Store.DeleteErrors[trashKey] = "AccessDenied";
        h.Store.Before = (request, _) => throws && request.Operation == "delete" ? throw new IOException("connection reset") : Task.CompletedTask;
        var pending = await h.State.RecordIntentAsync(
            [new ActionRecord(0, run.RunId, "orphan-uploads", "media", ActionKind.Quarantine, key, 10, A0, "test", null, trashKey, ActionOutcome.Pending, null, h.Clock.GetUtcNow())],
            CancellationToken.None);

        await h.Gate().ReconcileAsync(h.Store, pending, CancellationToken.None);

        var recorded = (await h.ActionsAsync(run.RunId)).Single();
        (recorded.Outcome, recorded.Error).Should().Be((ActionOutcome.Skipped, $"settled from the store after its run ended: still at its key (the move did not complete); {leftover}"));
        (await h.KeysAsync()).Should().BeEquivalentTo([key, trashKey]);
    }

    [Fact]
    public async Task Settling_CancelledBeforeItStarts_RecordsNothing_AndLeavesTheActionsPending()
    {
        await using var h = await GateHarness.CreateAsync();
        var key = A0 + "raw.mp4";
        var run = await h.StartRunAsync();
        var pending = await h.State.RecordIntentAsync(
            [new ActionRecord(0, run.RunId, "orphan-uploads", "media", ActionKind.Delete, key, 10, A0, "test", null, null, ActionOutcome.Pending, null, h.Clock.GetUtcNow())],
            CancellationToken.None);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var act = () => h.Gate().ReconcileAsync(h.Store, pending, cancelled.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        (await h.ActionsAsync(run.RunId)).Single().Outcome.Should().Be(ActionOutcome.Pending);
    }

    [Fact]
    public async Task ARequestedKeyInTheTrash_IsRefusedSayingSo()
    {
        await using var h = await GateHarness.CreateAsync();
        var run = await h.StartRunAsync();
        var removal = new RequestedRemoval("expired-rows", h.Store, ActionKind.Delete, GateHarness.TrashPrefix, [".reclaim-trash/r/a.mp4"], [], "row id=7", "selected");

        var act = () => h.Gate().RemoveRequestedAsync(run, removal, CancellationToken.None);

        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage("'.reclaim-trash/r/a.mp4' cannot be removed: it is in the trash*");
        var invalid = removal with { Keys = [".reclaim-trash/../a.mp4"] };
        var actInvalid = () => h.Gate().RemoveRequestedAsync(run, invalid, CancellationToken.None);
        (await actInvalid.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().NotContain("it is in the trash", "what is wrong with the key itself is said first");
        h.Store.Requests.Should().BeEmpty();
    }
}
