using Reclaim.Core.Catalogs;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Gate;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>The gate on its own: a plan, the store and catalog changing under it, and what it records.</summary>
public sealed class DestructiveGateTests
{
    [Fact]
    public async Task DryRun_CountsWhatWouldGo_AndNeitherTouchesNorRecords()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(4);
        h.Reference("o1", "a0001");
        var plan = await h.PlanAsync();
        h.Reference("o1", "a0002"); // referenced since the plan: the dry run's re-check sees it too
        var run = await h.StartRunAsync(dryRun: true);

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(6);
        totals.ObjectsSkipped.Should().Be(3);
        totals.GroupsSkipped.Should().Be(1);
        (await h.KeysAsync()).Should().Equal(keys);
        (await h.ActionsAsync(run.RunId)).Should().BeEmpty();
        h.Store.Requests.Select(r => r.Operation).Should().NotContain(["delete", "move", "copy"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the protecting queries given as a list alone, with no single catalog and query beside it
    public async Task ReferencedNow_GroupIsSkippedWhole_WithTheReasonRecorded(bool queriesAsList)
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(3);
        var plan = await h.PlanAsync(ActionKind.Delete);
        h.Reference("o1", "a0001"); // a row committed after the plan
        var removal = h.Removal(plan);
        if (queriesAsList)
        {
            removal = removal with { Catalog = null, ReferenceQuery = null, Queries = [new ProtectingQuery(removal.Catalog!, removal.ReferenceQuery!)] };
        }

        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, removal, CancellationToken.None);

        totals.ObjectsDone.Should().Be(6);
        totals.GroupsSkipped.Should().Be(1);
        (await h.KeysAsync()).Should().OnlyContain(k => k.StartsWith(GateHarness.Group("o1", "a0001"), StringComparison.Ordinal)).And.HaveCount(3);
        var skipped = (await h.ActionsAsync(run.RunId)).Where(a => a.GroupKey == GateHarness.Group("o1", "a0001")).ToList();
        skipped.Should().HaveCount(3).And.OnlyContain(a => a.Outcome == ActionOutcome.Skipped && a.Error!.StartsWith("referenced now", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReferenceCommittedWhileTheStoreIsReRead_StillSavesItsGroup()
    {
        // The protection check runs after the re-read and the intent, immediately before the act.
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        h.Store.Before = (request, _) =>
        {
            if (request.Operation == "list-range")
            {
                h.Reference("o1", "a0000");
            }

            return Task.CompletedTask;
        };
        var run = await h.StartRunAsync();

        await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        (await h.KeysAsync()).Should().HaveCount(3).And.OnlyContain(k => k.StartsWith(GateHarness.Group("o1", "a0000"), StringComparison.Ordinal));
    }

    [Fact]
    public async Task ChangedSinceThePlan_ObjectIsSkipped_AndTheRestOfItsGroupGoes()
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        var changed = GateHarness.Group("o1", "a0000") + "raw.mp4";
        await h.Store.WriteAsync(changed, new MemoryStream(new byte[5000]), CancellationToken.None);
        File.SetLastWriteTimeUtc(Path.Combine(h.Root, changed), DateTime.UtcNow.AddDays(-3)); // old, but another size
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(5);
        (await h.KeysAsync()).Should().Equal(changed);
        var action = (await h.ActionsAsync(run.RunId)).Single(a => a.Key == changed);
        action.Outcome.Should().Be(ActionOutcome.Skipped);
        action.Error.Should().StartWith("changed since the plan").And.Contain("size=5000");
    }

    [Fact]
    public async Task GoneSinceThePlan_ObjectIsSkippedAsGone()
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync();
        var gone = GateHarness.Group("o1", "a0001") + "thumb.jpg";
        File.Delete(Path.Combine(h.Root, gone));
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(5);
        totals.ObjectsSkipped.Should().Be(1);
        (await h.ActionsAsync(run.RunId)).Single(a => a.Key == gone).Error.Should().Be("gone since the plan");
    }

    [Fact]
    public async Task YoungObjectWrittenIntoAGroupSinceThePlan_SkipsTheGroupWhole()
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync();
        var upload = GateHarness.Group("o1", "a0000") + "z-new-upload.mp4";
        await h.PutAsync(upload);
        h.Touch(upload);
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        totals.GroupsSkipped.Should().Be(1);
        (await h.KeysAsync()).Where(k => !k.StartsWith(GateHarness.TrashPrefix, StringComparison.Ordinal))
            .Should().HaveCount(4).And.OnlyContain(k => k.StartsWith(GateHarness.Group("o1", "a0000"), StringComparison.Ordinal));
        (await h.ActionsAsync(run.RunId)).Where(a => a.GroupKey == GateHarness.Group("o1", "a0000"))
            .Should().OnlyContain(a => a.Outcome == ActionOutcome.Skipped && a.Error!.StartsWith("young now", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StoreErrorForOneKey_FailsThatObjectAlone_WithTheStoreAndItsError()
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        var stuck = GateHarness.Group("o1", "a0001") + "raw.mp4";
        h.Store.DeleteErrors[stuck] = "AccessDenied: Access Denied";
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(5);
        totals.ObjectsFailed.Should().Be(1);
        totals.SampleErrors.Should().ContainSingle().Which.Should().Contain("AccessDenied");
        var action = (await h.ActionsAsync(run.RunId)).Single(a => a.Key == stuck);
        action.Outcome.Should().Be(ActionOutcome.Failed);
        action.Error.Should().Be("store 'media': delete failed: AccessDenied: Access Denied");
        (await h.KeysAsync()).Should().Equal(stuck);
    }

    [Fact]
    public async Task SubBatchWhoseReReadKeepsFailing_FailsAlone_AndTheOthersGoOn()
    {
        // Arrange: sub-batches of 3 objects (one group each); the re-read of the second keeps failing.
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(4);
        h.Store.BatchSize = 3;
        var plan = await h.PlanAsync(ActionKind.Delete);
        var failing = GateHarness.Group("o1", "a0001");
        h.Store.Before = (request, _) => request.Operation is "list-range" or "list" && request.Keys[0] == failing
            ? throw new IOException("ListObjectsV2 failed after 5 attempts (the store's limit): SlowDown")
            : Task.CompletedTask;
        var run = await h.StartRunAsync();

        // Act
        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        // Assert
        totals.ObjectsDone.Should().Be(9);
        totals.ObjectsFailed.Should().Be(3);
        (await h.KeysAsync()).Should().HaveCount(3).And.OnlyContain(k => k.StartsWith(failing, StringComparison.Ordinal));
        var failed = (await h.ActionsAsync(run.RunId)).Where(a => a.Outcome == ActionOutcome.Failed).ToList();
        failed.Should().HaveCount(3).And.OnlyContain(a => a.GroupKey == failing);
        failed[0].Error.Should().Contain("store 'media'").And.Contain(failing).And.Contain("failed after 5 attempts (the store's limit)").And.EndWith("nothing was touched");
    }

    [Fact]
    public async Task CatalogFailingInTheReCheck_StopsTheRun_AndNothingOfThatSubBatchIsTouched()
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync(ActionKind.Delete);
        h.Catalog.BeforeFind = _ => throw new CatalogException("catalog 'app': connection refused");
        var run = await h.StartRunAsync();

        var remove = () => h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        await remove.Should().ThrowAsync<CatalogException>();
        (await h.KeysAsync()).Should().HaveCount(6);
        (await h.ActionsAsync(run.RunId)).Should().HaveCount(6).And.OnlyContain(a => a.Outcome == ActionOutcome.Failed && a.Error!.Contains("connection refused"));
    }

    [Fact]
    public async Task SoftStopDuringASubBatch_FinishesAndRecordsIt_AndStartsNoOther()
    {
        // Arrange: one group per sub-batch; the stop comes while the first sub-batch's re-check runs.
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(12);
        h.Store.BatchSize = 3;
        var plan = await h.PlanAsync();
        using var stopping = new CancellationTokenSource();
        h.Catalog.BeforeFind = _ => stopping.CancelAsync();
        var run = await h.StartRunAsync(stopping: stopping.Token);

        // Act
        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        // Assert: the sub-batches in flight (at most SubBatchesInFlight) were done and recorded; the rest never started.
        totals.Stopped.Should().BeTrue();
        var actions = await h.ActionsAsync(run.RunId);
        actions.Should().NotBeEmpty().And.OnlyContain(a => a.Outcome == ActionOutcome.Done);
        actions.Count.Should().Be((int)totals.ObjectsDone).And.BeLessThanOrEqualTo(3 * DestructiveGate.SubBatchesInFlight);
        totals.GroupsNotStarted.Should().Be(12 - (actions.Count / 3));
        (await h.KeysAsync()).Count(k => k.StartsWith(GateHarness.TrashPrefix, StringComparison.Ordinal)).Should().Be(actions.Count);
    }

    [Fact]
    public async Task HardCancelMidBatch_RecordsEveryOutcomeKnown_LeavesInFlightOnesPending_AndReconcileSettlesThem()
    {
        // Arrange: quarantine by moves; the fourth move of the run is cancelled hard while in flight.
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(6);
        var plan = await h.PlanAsync();
        using var hard = new CancellationTokenSource();
        var moves = 0;
        h.Store.Before = async (request, token) =>
        {
            if (request.Operation == "move" && Interlocked.Increment(ref moves) == 4)
            {
                await hard.CancelAsync();
            }
        };
        var run = await h.StartRunAsync();

        // Act
        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), hard.Token);

        // Assert: nothing thrown, nothing pending that was never sent, every move that ran recorded done.
        totals.Stopped.Should().BeTrue();
        var actions = await h.ActionsAsync(run.RunId);
        actions.Should().HaveCount(keys.Count);
        var inTrash = (await h.KeysAsync()).Where(k => k.StartsWith(GateHarness.TrashPrefix, StringComparison.Ordinal)).ToHashSet();
        actions.Where(a => a.Outcome == ActionOutcome.Done && !inTrash.Contains(a.TrashKey!)).Should().BeEmpty();
        actions.Should().OnlyContain(a => a.Outcome == ActionOutcome.Done || a.Outcome == ActionOutcome.Skipped || a.Outcome == ActionOutcome.Pending);
        // Skipped: never sent, as the stop came before their turn; none when every move had started (two sub-batches in flight).
        actions.Where(a => a.Outcome == ActionOutcome.Skipped && !a.Error!.StartsWith("not acted on", StringComparison.Ordinal)).Should().BeEmpty();
        var pending = actions.Where(a => a.Outcome == ActionOutcome.Pending).ToList();
        pending.Should().NotBeEmpty();
        totals.ObjectsPending.Should().Be(pending.Count);

        // The next command settles them from the store: each is where the store says.
        var settled = await h.Gate().ReconcileAsync(h.Store, pending, CancellationToken.None);
        settled.Should().HaveCount(pending.Count);
        var after = await h.ActionsAsync(run.RunId);
        after.Should().NotContain(a => a.Outcome == ActionOutcome.Pending);
        after.Where(a => a.Outcome == ActionOutcome.Done).Select(a => a.TrashKey).Should().BeEquivalentTo(inTrash);
    }

    [Fact]
    public async Task QuarantineByCopy_CopiesThenDeletesTheOriginalsInOneRequestPerSubBatch()
    {
        await using var h = await GateHarness.CreateAsync(copying: true);
        var keys = await h.PutGroupsAsync(5);
        var plan = await h.PlanAsync();
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(15);
        (await h.KeysAsync()).Should().BeEquivalentTo(keys.Select(k => DestructiveGate.TrashKey(GateHarness.TrashPrefix, run.RunId, k)));
        foreach (var key in keys)
        {
            (await h.Store.ReadAllAsync(DestructiveGate.TrashKey(GateHarness.TrashPrefix, run.RunId, key), CancellationToken.None)).Should().Equal(GateHarness.Content(key));
        }

        var requests = h.Store.Requests.ToList();
        requests.Count(r => r.Operation == "copy").Should().Be(15);
        requests.Where(r => r.Operation == "delete").Should().ContainSingle().Which.Keys.Should().BeEquivalentTo(keys);
        requests.Select(r => r.Operation).Should().NotContain(["move", "stat"]);
        requests.Count(r => r.Operation == "list-range").Should().Be(1, "one range listing re-reads the sub-batch");
    }

    [Fact]
    public async Task CopyAnsweringNotFoundRightAfterTheListing_IsRecordedFailed_NeverGone()
    {
        await using var h = await GateHarness.CreateAsync(copying: true);
        await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync();
        var key = GateHarness.Group("o1", "a0001") + "thumb.jpg";
        ((CopyingStore)h.Store).CopyNotFound[key] = true;
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        totals.ObjectsFailed.Should().Be(1);
        totals.ObjectsDone.Should().Be(5);
        var action = (await h.ActionsAsync(run.RunId)).Single(a => a.Key == key);
        action.Outcome.Should().Be(ActionOutcome.Failed);
        action.Error.Should().Contain("404").And.Contain("recorded as failed, not as gone");
        (await h.KeysAsync()).Should().Contain(key, "an object whose copy failed is never deleted");
    }

    [Fact]
    public async Task ReferenceCommittedWhileObjectsAreCopied_SavesTheGroup_AndItsTrashCopiesAreRemoved()
    {
        await using var h = await GateHarness.CreateAsync(copying: true);
        var keys = await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync();
        h.Store.Before = (request, _) =>
        {
            if (request.Operation == "copy")
            {
                h.Reference("o1", "a0000");
            }

            return Task.CompletedTask;
        };
        var run = await h.StartRunAsync();

        await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        var saved = keys.Where(k => k.StartsWith(GateHarness.Group("o1", "a0000"), StringComparison.Ordinal)).ToList();
        (await h.KeysAsync()).Should().BeEquivalentTo(saved.Concat(keys.Except(saved).Select(k => DestructiveGate.TrashKey(GateHarness.TrashPrefix, run.RunId, k))));
        (await h.ActionsAsync(run.RunId)).Where(a => saved.Contains(a.Key))
            .Should().OnlyContain(a => a.Outcome == ActionOutcome.Skipped && a.Error!.EndsWith("its copy in the trash was removed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Window_SpansOnlyTheReCheckQuery_NoStoreRequestOrStateWriteOfItsSubBatchInBetween()
    {
        // Arrange: several sub-batches of one group, quarantined by copy (the copies come before the window).
        await using var h = await GateHarness.CreateAsync(copying: true);
        await h.PutGroupsAsync(8);
        h.Store.BatchSize = 3;
        var plan = await h.PlanAsync();
        var run = await h.StartRunAsync();

        // Act
        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        // Assert: per sub-batch, its requests run re-read, copies, then (after its re-check) one delete; the gate's
        // measured window lies within [re-check start, delete sent] as observed from outside.
        totals.RecheckWindowsMs.Should().HaveCount(8);
        totals.RecheckWindowMaxMs.Should().BeGreaterThanOrEqualTo(totals.RecheckWindowMedianMs!.Value);
        var requests = h.Store.Requests.ToList();
        var finds = h.Catalog.Finds.ToList();
        finds.Should().HaveCount(8);
        foreach (var find in finds)
        {
            var group = GateHarness.Group(find.Tuples[0][0], find.Tuples[0][1]);
            var mine = requests.Where(r => r.Keys.Any(k => k.StartsWith(group, StringComparison.Ordinal))).ToList();
            mine.Select(r => r.Operation).Should().Equal("list-range", "copy", "copy", "copy", "delete");
            var delete = mine[^1];
            mine.Take(4).Should().OnlyContain(r => r.Timestamp <= find.Timestamp, "the re-read and the copies come before the re-check");
            delete.Timestamp.Should().BeGreaterThanOrEqualTo(find.Timestamp);
            var observedMs = System.Diagnostics.Stopwatch.GetElapsedTime(find.Timestamp, delete.Timestamp).TotalMilliseconds;
            totals.RecheckWindowsMs.Should().Contain(w => w <= observedMs + 1, "one of the measured windows is this sub-batch's, within what was observed");
        }
    }

    [Fact]
    public async Task QuarantineByMoves_ReChecksAFewWholeGroupsAtATime_EachJustBeforeTheirMoves()
    {
        // Arrange: 100 groups of three objects on a folder (every move a request of its own), one sub-batch.
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(100);
        var plan = await h.PlanAsync();
        var run = await h.StartRunAsync();

        // Act
        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        // Assert: runs of at most 64 objects (21 groups), each re-checked, then moved before the next re-check.
        totals.ObjectsDone.Should().Be(300);
        var finds = h.Catalog.Finds.ToList();
        finds.Should().HaveCount(5, "100 groups of three in whole-group runs of at most 64 objects: 21, 21, 21, 21, 16 groups");
        finds.Should().OnlyContain(f => f.Tuples.Count <= DestructiveGate.MovesPerRecheck / 3);
        totals.RecheckWindowsMs.Should().HaveCount(5);
        var moves = h.Store.Requests.Where(r => r.Operation == "move").ToList();
        moves.Should().HaveCount(300);
        foreach (var move in moves)
        {
            var last = finds.Last(f => f.Timestamp <= move.Timestamp);
            last.Tuples.Select(t => GateHarness.Group(t[0], t[1])).Should().Contain(g => move.Keys[0].StartsWith(g, StringComparison.Ordinal),
                "an object is moved only after the re-check of its own group, and before the next run's");
        }
    }

    [Fact]
    public async Task ManyGroups_AreReReadByOneRangeListingPerSubBatch_NotAStatOrListingPerGroup()
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(700); // 2100 objects: three sub-batches of at most 1000
        var plan = await h.PlanAsync(ActionKind.Delete);
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(2100);
        var requests = h.Store.Requests.ToList();
        requests.Count(r => r.Operation == "list-range").Should().Be(3);
        requests.Where(r => r.Operation == "delete").Should().HaveCount(3).And.OnlyContain(r => r.Keys.Count <= 1000);
        requests.Should().NotContain(r => r.Operation == "stat" || (r.Operation == "list" && r.Keys[0].Length > 0));
        h.Catalog.Finds.Should().HaveCount(3);
    }

    [Fact]
    public async Task SparseOrphans_AreReReadGroupByGroup_WhenARangeWouldListFarMore()
    {
        // One orphan group in every 50: a range over a sub-batch would list some 50 times its objects.
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(100);
        for (var i = 0; i < 100; i++)
        {
            if (i % 50 != 0)
            {
                h.Reference("o1", $"a{i:D4}");
            }
        }

        var plan = await h.PlanAsync(ActionKind.Delete);
        plan.Totals.ObjectsScanned = 1_000_000; // as the plan of a large store reports it
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(6);
        h.Store.Requests.Where(r => r.Operation is "list" or "list-range").Select(r => r.Keys[0]).Should().BeEquivalentTo(
            [string.Empty, GateHarness.Group("o1", "a0000"), GateHarness.Group("o1", "a0050")], "the plan's own listing, then one listing per orphan group");
    }

    [Fact]
    public async Task Restore_BringsObjectsBackByteIdentical_AndNeverOverwritesOneThatReappeared()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(2);
        var plan = await h.PlanAsync();
        var run = await h.StartRunAsync();
        await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);
        await h.Store.WriteAsync(keys[0], new MemoryStream([1, 2, 3]), CancellationToken.None); // reappeared
        var restoreRun = await h.StartRunAsync();
        var quarantined = keys.Select(k => new QuarantinedObject(k, DestructiveGate.TrashKey(GateHarness.TrashPrefix, run.RunId, k), 0, "orphan-uploads")).ToList();

        var totals = await h.Gate().RestoreAsync(restoreRun, h.Store, quarantined, CancellationToken.None);

        totals.ObjectsDone.Should().Be(5);
        totals.ObjectsFailed.Should().Be(1);
        (await h.Store.ReadAllAsync(keys[0], CancellationToken.None)).Should().Equal([1, 2, 3]);
        foreach (var key in keys.Skip(1))
        {
            (await h.Store.ReadAllAsync(key, CancellationToken.None)).Should().Equal(GateHarness.Content(key));
        }
    }
}
