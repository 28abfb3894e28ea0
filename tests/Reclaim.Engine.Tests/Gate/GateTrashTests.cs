using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Gate;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>The gate's purge of the trash: only trash keys, each recorded before and after, stopping between batches.</summary>
public sealed class GateTrashTests
{
    [Fact]
    public async Task Purge_DeletesTheTrashObjects_RecordingEachAsDoneWithItsEvidence()
    {
        await using var h = await GateHarness.CreateAsync();
        var (_, trash, _) = await QuarantineAsync(h, 2);
        var purge = await h.StartRunAsync();

        var totals = await h.Gate().PurgeAsync(purge, h.Store, GateHarness.TrashPrefix, trash, CancellationToken.None);

        (totals.ObjectsDone, totals.BytesDone, totals.ObjectsSkipped, totals.ObjectsFailed).Should().Be((6L, trash.Sum(o => o.Size), 0L, 0L));
        totals.Stopped.Should().BeFalse();
        (await h.KeysAsync()).Should().BeEmpty();
        var actions = await h.ActionsAsync(purge.RunId);
        actions.Should().HaveCount(6).And.OnlyContain(a => a.Kind == ActionKind.Purge && a.Outcome == ActionOutcome.Done && a.Policy == "trash"
            && a.Store == "media" && a.TrashKey == a.Key && a.GroupKey == a.Key && a.Reason == "quarantined past the trash retention" && a.Error == null);
        actions.Select(a => a.Key).Should().BeEquivalentTo(trash.Select(o => o.Key));
        foreach (var item in trash)
        {
            actions.Single(a => a.Key == item.Key).Should().Match<ActionRecord>(a => a.Size == item.Size && a.Evidence!.StartsWith($"size={item.Size} ", StringComparison.Ordinal));
        }

    }

    [Fact]
    public async Task Purge_AKeyOutsideTheTrash_IsRefused_AndNothingIsDeletedOrRecorded()
    {
        await using var h = await GateHarness.CreateAsync();
        var (keys, trash, _) = await QuarantineAsync(h, 1);
        await h.PutAsync("orgs/o1/uploads/live/raw.mp4");
        var live = (await h.Store.StatAsync("orgs/o1/uploads/live/raw.mp4", CancellationToken.None))!.Value;
        var purge = await h.StartRunAsync();

        var act = () => h.Gate().PurgeAsync(purge, h.Store, GateHarness.TrashPrefix, [.. trash, live], CancellationToken.None);

        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage("'orgs/o1/uploads/live/raw.mp4' is not under the trash prefix '.reclaim-trash/'; nothing purged*");
        (await h.KeysAsync()).Should().HaveCount(4);
        (await h.ActionsAsync(purge.RunId)).Should().BeEmpty();
        h.Store.Requests.Should().NotContain(r => r.Operation == "delete");
        keys.Should().HaveCount(3, "the quarantined originals are the trash objects' keys");
    }

    [Fact]
    public async Task Purge_WithAnEmptyTrashPrefix_IsRefused()
    {
        await using var h = await GateHarness.CreateAsync();
        var (_, trash, _) = await QuarantineAsync(h, 1);
        var purge = await h.StartRunAsync();

        var act = () => h.Gate().PurgeAsync(purge, h.Store, string.Empty, trash, CancellationToken.None);

        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage("the trash prefix is empty*");
        (await h.KeysAsync()).Should().HaveCount(3);
    }

    [Fact]
    public async Task Purge_StoppedBeforeItStarts_DeletesNothing_AndCountsEveryObjectNotStarted()
    {
        await using var h = await GateHarness.CreateAsync();
        var (_, trash, _) = await QuarantineAsync(h, 2);
        h.Store.BatchSize = 2;
        using var stopping = new CancellationTokenSource();
        await stopping.CancelAsync();
        var purge = await h.StartRunAsync(stopping: stopping.Token);

        var totals = await h.Gate().PurgeAsync(purge, h.Store, GateHarness.TrashPrefix, trash, CancellationToken.None);

        totals.Stopped.Should().BeTrue();
        totals.GroupsNotStarted.Should().Be(6, "three batches of two, none started");
        totals.ObjectsDone.Should().Be(0);
        (await h.KeysAsync()).Should().HaveCount(6);
        (await h.ActionsAsync(purge.RunId)).Should().BeEmpty();
    }

    [Fact]
    public async Task Purge_SoftStopDuringABatch_FinishesThatBatch_AndStartsNoOther()
    {
        await using var h = await GateHarness.CreateAsync();
        var (_, trash, _) = await QuarantineAsync(h, 2);
        h.Store.BatchSize = 2;
        using var stopping = new CancellationTokenSource();
        h.CancelOn("delete", stopping);
        var purge = await h.StartRunAsync(stopping: stopping.Token);

        var totals = await h.Gate().PurgeAsync(purge, h.Store, GateHarness.TrashPrefix, trash, CancellationToken.None);

        (totals.Stopped, totals.ObjectsDone, totals.GroupsNotStarted).Should().Be((true, 2L, 4L));
        h.Store.Requests.Count(r => r.Operation == "delete").Should().Be(1);
        var actions = await h.ActionsAsync(purge.RunId);
        actions.Should().HaveCount(2).And.OnlyContain(a => a.Outcome == ActionOutcome.Done);
        actions.Select(a => a.Key).Should().Equal(trash.Take(2).Select(o => o.Key), "the first batch, in order");
        (await h.KeysAsync()).Should().BeEquivalentTo(trash.Skip(2).Select(o => o.Key));
    }

    [Fact]
    public async Task Purge_AKeyTheStoreFailsOn_IsRecordedFailedWithTheStoresError_TheOthersGo()
    {
        await using var h = await GateHarness.CreateAsync();
        var (_, trash, _) = await QuarantineAsync(h, 1);
        h.Store.DeleteErrors[trash[1].Key] = "AccessDenied";
        var purge = await h.StartRunAsync();

        var totals = await h.Gate().PurgeAsync(purge, h.Store, GateHarness.TrashPrefix, trash, CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsFailed, totals.BytesDone).Should().Be((2L, 1L, trash[0].Size + trash[2].Size));
        totals.SampleErrors.Should().Equal($"{trash[1].Key}: store 'media': delete failed: AccessDenied");
        var failed = (await h.ActionsAsync(purge.RunId)).Single(a => a.Outcome == ActionOutcome.Failed);
        failed.Key.Should().Be(trash[1].Key);
        failed.Error.Should().Be("store 'media': delete failed: AccessDenied");
        (await h.KeysAsync()).Should().Equal(trash[1].Key);
    }

    [Fact]
    public async Task Purge_DryRun_CountsWhatWouldGo_AndNeitherDeletesNorRecords()
    {
        await using var h = await GateHarness.CreateAsync();
        var (_, trash, _) = await QuarantineAsync(h, 1);
        var purge = await h.StartRunAsync(dryRun: true);

        var totals = await h.Gate().PurgeAsync(purge, h.Store, GateHarness.TrashPrefix, trash, CancellationToken.None);

        (totals.ObjectsDone, totals.BytesDone).Should().Be((3L, trash.Sum(o => o.Size)));
        (await h.KeysAsync()).Should().HaveCount(3);
        (await h.ActionsAsync(purge.RunId)).Should().BeEmpty();
        h.Store.Requests.Should().NotContain(r => r.Operation == "delete");
    }

    [Fact]
    public async Task Restore_StoppedAfterTheFirstBatch_BringsBackThatBatch_AndCountsTheRestNotStarted()
    {
        await using var h = await GateHarness.CreateAsync();
        var (keys, _, quarantineRun) = await QuarantineAsync(h, 1);
        h.Store.BatchSize = 2;
        using var stopping = new CancellationTokenSource();
        h.CancelOn("move", stopping);
        var restore = await h.StartRunAsync(stopping: stopping.Token);
        var quarantined = keys.Select(k => new QuarantinedObject(k, DestructiveGate.TrashKey(GateHarness.TrashPrefix, quarantineRun, k), 5, "orphan-uploads")).ToList();

        var totals = await h.Gate().RestoreAsync(restore, h.Store, quarantined, CancellationToken.None);

        (totals.Stopped, totals.ObjectsDone, totals.BytesDone, totals.GroupsNotStarted).Should().Be((true, 2L, 10L, 1L));
        var actions = await h.ActionsAsync(restore.RunId);
        actions.Should().HaveCount(2).And.OnlyContain(a => a.Kind == ActionKind.Restore && a.Outcome == ActionOutcome.Done
            && a.Policy == "orphan-uploads" && a.Reason == "restore of a quarantined object" && a.Evidence == null);
        actions.Select(a => (a.Key, a.TrashKey)).Should().Equal(quarantined.Take(2).Select(q => (q.Key, (string?)q.TrashKey)));
        (await h.KeysAsync()).Should().BeEquivalentTo([keys[0], keys[1], quarantined[2].TrashKey]);
    }

    /// <summary>Quarantines <paramref name="groups"/> groups of three by moves; returns their keys, the trash objects in key order, and the run.</summary>
    private static async Task<(List<string> Keys, List<StoredObject> Trash, string RunId)> QuarantineAsync(GateHarness h, int groups)
    {
        var keys = await h.PutGroupsAsync(groups);
        var plan = await h.PlanAsync();
        var run = await h.StartRunAsync();
        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);
        totals.ObjectsDone.Should().Be(keys.Count);
        var trash = await h.Store.ListAsync(GateHarness.TrashPrefix, CancellationToken.None).CollectAsync();
        h.Store.Requests.Clear();
        return (keys, [.. trash.OrderBy(o => o.Key, ObjectKey.Comparer)], run.RunId);
    }
}
