using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine.Planning;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// A large plan's proposed groups are spooled on disk and the gate reads them as a stream: every spooled group is
/// removed, a referenced one survives, and groups that are not in key order (an edited plan file) are sorted first.
/// </summary>
public sealed class SpooledPlanGateTests
{
    [Fact]
    public async Task SpooledGroups_AreAllRemoved_AndAReferencedOneSurvives()
    {
        await using var h = await GateHarness.CreateAsync();
        using var spill = new TemporaryFolder();
        var keys = await h.PutGroupsAsync(600);
        var planned = await h.PlanAsync(ActionKind.Delete);
        using var spool = new SpilledGroupSpool(spill.Path);
        var plan = Respool(planned, new PlannedGroups(spool, inMemory: 3), planned.Groups);
        h.Reference("o1", "a0400"); // referenced since the plan
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        plan.Groups.Spooled.Should().Be(597);
        totals.GroupsSkipped.Should().Be(1);
        totals.ObjectsDone.Should().Be((600 - 1) * 3);
        var left = Directory.EnumerateFiles(h.Root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(h.Root, f).Replace('\\', '/')).ToList();
        left.Should().BeEquivalentTo(keys.Where(k => k.StartsWith(GateHarness.Group("o1", "a0400"), StringComparison.Ordinal)));
    }

    [Fact]
    public async Task GroupsOutOfKeyOrder_AreRemovedAll()
    {
        await using var h = await GateHarness.CreateAsync();
        await h.PutGroupsAsync(5);
        var planned = await h.PlanAsync(ActionKind.Delete);
        var plan = Respool(planned, [], planned.Groups.Reverse());
        var run = await h.StartRunAsync();

        var totals = await h.Gate().RemoveGroupsAsync(run, h.Removal(plan), CancellationToken.None);

        totals.ObjectsDone.Should().Be(15);
        Directory.EnumerateFiles(h.Root, "*", SearchOption.AllDirectories).Should().BeEmpty();
    }

    private static PolicyPlan Respool(PolicyPlan plan, PlannedGroups into, IEnumerable<PlannedGroup> groups)
    {
        foreach (var group in groups.ToList())
        {
            into.Add(group);
        }

        var copy = new PolicyPlan
        {
            Policy = plan.Policy,
            Type = plan.Type,
            Store = plan.Store,
            Action = plan.Action,
            Layout = plan.Layout,
            Definition = plan.Definition,
            MinAge = plan.MinAge,
            Groups = into,
        };
        copy.Totals.ObjectsScanned = plan.Totals.ObjectsScanned;
        copy.Totals.ObjectsOrphaned = plan.Totals.ObjectsOrphaned;
        copy.Totals.GroupsOrphaned = plan.Totals.GroupsOrphaned;
        return copy;
    }
}
