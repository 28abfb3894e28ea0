using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Gate;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// The gate's removals of exactly what a request names (a records policy's rows, a deletion queue's requests): the
/// trash is never a target, what is already gone is skipped, every object is recorded before and after.
/// </summary>
public sealed class RequestedRemovalTests
{
    private const string Folder = "orgs/o1/uploads/a0000/";

    [Fact]
    public async Task Delete_RemovesTheNamedKeysAndEveryObjectUnderThePrefixes_AndNothingElse()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(3);
        var run = await h.StartRunAsync();
        var removal = Request(h, ActionKind.Delete, keys: [keys[3], "orgs/o1/uploads/gone/x.mp4"], prefixes: [Folder]);

        var totals = await h.Gate().RemoveRequestedAsync(run, removal, CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsSkipped, totals.ObjectsFailed).Should().Be((4L, 1L, 0L), "three under the folder and one key; the missing key counts as skipped");
        (await h.KeysAsync()).Should().Equal(keys.Where((_, i) => i is not (0 or 1 or 2 or 3)));
        var actions = await h.ActionsAsync(run.RunId);
        actions.Select(a => a.Key).Should().Equal(keys[3], keys[0], keys[1], keys[2]);
        actions.Should().OnlyContain(a => a.Kind == ActionKind.Delete && a.Outcome == ActionOutcome.Done && a.Policy == "expired-rows"
            && a.GroupKey == "row id=7" && a.Reason == "selected by the records query" && a.TrashKey == null && a.Evidence!.StartsWith("size=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARepeatedRequest_IsHarmless_EveryObjectIsSkippedAsGone()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(1);
        var removal = Request(h, ActionKind.Delete, keys: [.. keys]);
        await h.Gate().RemoveRequestedAsync(await h.StartRunAsync(), removal, CancellationToken.None);
        var again = await h.StartRunAsync();

        var totals = await h.Gate().RemoveRequestedAsync(again, removal, CancellationToken.None);

        (totals.ObjectsDone, totals.ObjectsSkipped).Should().Be((0L, 3L));
        h.Store.Requests.Count(r => r.Operation == "delete").Should().Be(1, "only the first request deleted");
    }

    [Fact]
    public async Task Quarantine_MovesEachObjectToTheRunsTrashKey_AndAPrefixHoldingTheTrashLeavesTheTrashAlone()
    {
        const string trashPrefix = "orgs/.trash/";
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(1);
        var older = trashPrefix + "older-run/" + keys[0];
        await h.PutAsync(older);
        var run = await h.StartRunAsync();
        var removal = Request(h, ActionKind.Quarantine, prefixes: ["orgs/"]) with { TrashPrefix = trashPrefix };

        var totals = await h.Gate().RemoveRequestedAsync(run, removal, CancellationToken.None);

        totals.ObjectsDone.Should().Be(3);
        var trashKeys = keys.Select(k => DestructiveGate.TrashKey(trashPrefix, run.RunId, k)).ToList();
        (await h.KeysAsync()).Should().BeEquivalentTo([older, .. trashKeys]);
        (await h.ActionsAsync(run.RunId)).Select(a => (a.Key, a.TrashKey, a.Outcome)).Should().Equal(
            keys.Select((k, i) => (k, (string?)trashKeys[i], ActionOutcome.Done)));
    }

    [Theory]
    [InlineData("", "a prefix")]
    [InlineData("orgs/o1", "a prefix")]
    [InlineData(".reclaim-trash/", "a prefix")]
    [InlineData(".reclaim-trash/r/orgs/", "a prefix")]
    [InlineData("orgs/../", "a prefix")]
    [InlineData("orgs/o1/uploads/a0000/raw.mp4/../x", "a key")]
    [InlineData("/orgs/o1/uploads/a0000/raw.mp4", "a key")]
    [InlineData(".reclaim-trash/r/orgs/o1/uploads/a0000/raw.mp4", "a key")]
    public async Task ABadPrefixOrKey_IsRefused_AndNothingIsTouched(string target, string kind)
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(1);
        var run = await h.StartRunAsync();
        var removal = kind == "a prefix"
            ? Request(h, ActionKind.Delete, keys: [keys[0]], prefixes: [target])
            : Request(h, ActionKind.Delete, keys: [keys[0], target]);

        var act = () => h.Gate().RemoveRequestedAsync(run, removal, CancellationToken.None);

        var thrown = await act.Should().ThrowAsync<ArgumentException>();
        thrown.Which.Message.Should().Contain(kind == "a prefix" ? "is not a folder prefix the gate may empty" : "cannot be removed");
        h.Store.Requests.Should().BeEmpty("refused before the store is asked anything");
        (await h.KeysAsync()).Should().Equal(keys);
        (await h.ActionsAsync(run.RunId)).Should().BeEmpty();
    }

    [Fact]
    public async Task ARequestToRestore_IsRefused()
    {
        await using var h = await GateHarness.CreateAsync();
        var run = await h.StartRunAsync();

        var act = () => h.Gate().RemoveRequestedAsync(run, Request(h, ActionKind.Restore, keys: ["a"]), CancellationToken.None);

        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage("a request removes by delete or quarantine, not Restore*");
    }

    [Fact]
    public async Task AHardStopWhileTheTargetsAreRead_TouchesNothing_AndCountsEveryTargetNotStarted()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(2);
        using var hard = new CancellationTokenSource();
        h.CancelOn("list", hard);
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveRequestedAsync(run, Request(h, ActionKind.Delete, keys: [keys[0], keys[1]], prefixes: [Folder]), hard.Token);

        (totals.Stopped, totals.GroupsNotStarted, totals.ObjectsDone).Should().Be((true, 3L, 0L));
        (await h.KeysAsync()).Should().Equal(keys);
        (await h.ActionsAsync(run.RunId)).Should().BeEmpty();
    }

    [Fact]
    public async Task ASoftStop_EndsTheRequestBetweenBatches()
    {
        await using var h = await GateHarness.CreateAsync();
        var keys = await h.PutGroupsAsync(2);
        h.Store.BatchSize = 4;
        using var stopping = new CancellationTokenSource();
        h.CancelOn("delete", stopping);
        var run = await h.StartRunAsync(stopping: stopping.Token);

        var totals = await h.Gate().RemoveRequestedAsync(run, Request(h, ActionKind.Delete, prefixes: ["orgs/"]), CancellationToken.None);

        (totals.Stopped, totals.ObjectsDone, totals.GroupsNotStarted).Should().Be((true, 4L, 2L));
        (await h.KeysAsync()).Should().Equal(keys.Skip(4));
    }

    private static RequestedRemoval Request(GateHarness h, ActionKind action, IReadOnlyList<string>? keys = null, IReadOnlyList<string>? prefixes = null) =>
        new("expired-rows", h.Store, action, GateHarness.TrashPrefix, keys ?? [], prefixes ?? [], "row id=7", "selected by the records query");
}
