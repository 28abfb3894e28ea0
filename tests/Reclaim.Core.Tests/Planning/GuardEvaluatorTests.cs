using Reclaim.Core.Planning;
using Reclaim.Core.State;

namespace Reclaim.Core.Tests.Planning;

/// <summary>The guards at their edges: one query of a list, kinds a guard does not apply to, the exact thresholds.</summary>
public sealed class GuardEvaluatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static PolicyPlan Policy(PolicyKind kind, long scanned, long orphaned, long references, TimeSpan? minAge = null) => new()
    {
        Policy = "p",
        Type = kind,
        Store = "s",
        Action = ActionKind.Quarantine,
        Layout = "x/{y}",
        Definition = "d",
        MinAge = minAge ?? TimeSpan.FromDays(1),
        Totals = new PolicyTotals { GroupsScanned = scanned, GroupsOrphaned = orphaned, ObjectsOrphaned = orphaned, ReferencesRead = references },
    };

    private static GuardVerdict Verdict(PolicyPlan plan, string guard) => plan.Guards.Should().ContainSingle(g => g.Guard == guard).Subject;

    [Fact]
    public void EvaluatePolicy_OneQueryOfAListReadEmpty_RefusesAndNamesIt()
    {
        var plan = Policy(PolicyKind.Orphans, 100, 1, 50);
        plan.Totals.Queries.AddRange([new QueryRows("app", 50, 0), new QueryRows("billing", 0, 0)]);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        var verdict = Verdict(plan, GuardEvaluator.RefuseEmptyReferences);
        verdict.Passed.Should().BeFalse("one application's table read empty is implausible whatever the others return");
        verdict.Message.Should().StartWith("the references query 2 of 2 (catalog 'billing') returned no rows");
        verdict.Message.Should().Contain("check the catalog and query");
    }

    [Fact]
    public void EvaluatePolicy_OneQueryOfAListRendersToNothing_Refuses()
    {
        var plan = Policy(PolicyKind.Orphans, 100, 1, 80);
        plan.Totals.ReferencesUnrenderable = 30;
        plan.Totals.Queries.AddRange([new QueryRows("app", 30, 30), new QueryRows("billing", 50, 0)]);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        var verdict = Verdict(plan, GuardEvaluator.RefuseEmptyReferences);
        verdict.Passed.Should().BeFalse();
        verdict.Message.Should().StartWith("the references query 1 of 2 (catalog 'app') returned 30 rows but none renders to a key");
    }

    [Fact]
    public void EvaluatePolicy_EveryQueryOfAListRenders_PassesWithTheRowsRead()
    {
        var plan = Policy(PolicyKind.Orphans, 100, 1, 80);
        plan.Totals.ReferencesUnrenderable = 29;
        plan.Totals.Queries.AddRange([new QueryRows("app", 30, 29), new QueryRows("billing", 50, 0)]);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        Verdict(plan, GuardEvaluator.RefuseEmptyReferences).Should().Be(new GuardVerdict(GuardEvaluator.RefuseEmptyReferences, true, "80 references read"));
        plan.Refused.Should().BeFalse();
    }

    [Fact]
    public void EvaluatePolicy_ReferencesThatRenderToNothing_HintAtTheColumnNames()
    {
        var plan = Policy(PolicyKind.Orphans, 100, 1, 7);
        plan.Totals.ReferencesUnrenderable = 7;

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        Verdict(plan, GuardEvaluator.RefuseEmptyReferences).Message.Should()
            .Contain("returned 7 rows but none renders").And.Contain("named like the layout's variables").And.EndWith("guards.refuse_empty_references: false");
    }

    [Fact]
    public void EvaluatePolicy_EmptyReferencesWithTheGuardOff_AddsNoVerdict()
    {
        var plan = Policy(PolicyKind.Orphans, 100, 1, 0);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default with { RefuseEmptyReferences = false }, force: false);

        plan.Guards.Should().NotContain(g => g.Guard == GuardEvaluator.RefuseEmptyReferences);
        plan.Refused.Should().BeFalse();
    }

    [Fact]
    public void EvaluatePolicy_EmptyKeepWhenRefused_SaysWhatWouldGo()
    {
        var plan = Policy(PolicyKind.Retention, 100, 1, 0);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default with { RefuseEmptyKeep = true }, force: false);

        var verdict = Verdict(plan, GuardEvaluator.RefuseEmptyKeep);
        verdict.Passed.Should().BeFalse();
        verdict.Message.Should().Be("the keep query returned no rows: with nothing kept every group older than max_age would go; check the catalog and query, or set guards.refuse_empty_keep: false on the policy");
    }

    [Fact]
    public void EvaluatePolicy_KeepRowsRead_PassWithTheirCount()
    {
        var plan = Policy(PolicyKind.Retention, 100, 1, 12);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default with { RefuseEmptyKeep = true }, force: false);

        Verdict(plan, GuardEvaluator.RefuseEmptyKeep).Should().Be(new GuardVerdict(GuardEvaluator.RefuseEmptyKeep, true, "12 keep rows read"));
    }

    [Fact]
    public void EvaluatePolicy_NoReferencesRequired_NoEmptyQueryGuard()
    {
        var plan = Policy(PolicyKind.Records, 100, 1, 0);
        plan = new PolicyPlan
        {
            Policy = plan.Policy, Type = plan.Type, Store = plan.Store, Action = plan.Action, Layout = plan.Layout, Definition = plan.Definition,
            MinAge = TimeSpan.Zero, Totals = plan.Totals, ReferencesRequired = false, FractionGuarded = false,
        };

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        plan.Guards.Should().BeEmpty("a records policy selects rows: no references to be empty, no fraction, no grace period to hold to the floor");
    }

    [Fact]
    public void EvaluatePolicy_NoGroupsScanned_FractionIsZeroAndOnlyTheCountApplies()
    {
        var plan = Policy(PolicyKind.Orphans, 0, 0, 10);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default with { MinGroupsForFraction = 1 }, force: false);

        var verdict = Verdict(plan, GuardEvaluator.MaxDeleteFraction);
        verdict.Passed.Should().BeTrue();
        verdict.Message.Should().Be("0 of 0 groups (0.0 %); fewer than min_groups_for_fraction 1 scanned, so only max_delete_count applies");
    }

    [Fact]
    public void EvaluatePolicy_FractionJustAboveTheLimit_RefusesWithBothShares()
    {
        var plan = Policy(PolicyKind.Orphans, 1000, 101, 10);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        Verdict(plan, GuardEvaluator.MaxDeleteFraction).Should().Be(new GuardVerdict(GuardEvaluator.MaxDeleteFraction, false,
            "the plan removes 101 of 1000 groups (10.1 %), more than max_delete_fraction 10.0 %"));
    }

    [Fact]
    public void EvaluatePolicy_FractionAtTheLimit_PassesWithTheShare()
    {
        var plan = Policy(PolicyKind.Orphans, 1000, 100, 10);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        Verdict(plan, GuardEvaluator.MaxDeleteFraction).Should().Be(new GuardVerdict(GuardEvaluator.MaxDeleteFraction, true, "100 of 1000 groups (10.0 %) within 10.0 %"));
    }

    [Fact]
    public void EvaluatePolicy_MinAgeAtTheFloor_NeedsNoForce()
    {
        var plan = Policy(PolicyKind.Orphans, 100, 1, 10, TimeSpan.FromHours(1));

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        plan.Guards.Should().NotContain(g => g.Guard == GuardEvaluator.MinAgeFloor);
    }

    [Theory]
    [InlineData(false, false, "min_age 59m59s is below min_age_floor 1h: uploads whose row is not written yet could be removed; pass --force to accept")]
    [InlineData(true, true, "min_age 59m59s is below the floor 1h; allowed by --force")]
    public void EvaluatePolicy_MinAgeJustBelowTheFloor_RefusesUnlessForced(bool force, bool passed, string message)
    {
        var plan = Policy(PolicyKind.Retention, 100, 1, 10, TimeSpan.FromHours(1) - TimeSpan.FromSeconds(1));

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force);

        Verdict(plan, GuardEvaluator.MinAgeFloor).Should().Be(new GuardVerdict(GuardEvaluator.MinAgeFloor, passed, message));
    }

    [Fact]
    public void EvaluatePolicy_RecordsPolicyWithNoGracePeriod_IsNotHeldToTheFloor()
    {
        var plan = Policy(PolicyKind.Records, 100, 1, 10, TimeSpan.Zero);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        plan.Guards.Should().NotContain(g => g.Guard == GuardEvaluator.MinAgeFloor);
    }

    [Fact]
    public void EvaluatePlan_ExactlyMaxDeleteCount_Passes()
    {
        var plan = new Plan { CreatedAt = Now, ConfigPath = "/c.yaml", Policies = { Policy(PolicyKind.Orphans, 1000, 60, 900), Policy(PolicyKind.Orphans, 1000, 40, 900) } };

        GuardEvaluator.EvaluatePlan(plan, GuardOptions.Default with { MaxDeleteCount = 100 });

        plan.Guards.Should().Equal(new GuardVerdict(GuardEvaluator.MaxDeleteCount, true, "100 objects within 100"));
        plan.Refused.Should().BeFalse();
    }

    [Fact]
    public void EvaluatePlan_OneOverMaxDeleteCount_RefusesWithTheNumbers()
    {
        var plan = new Plan { CreatedAt = Now, ConfigPath = "/c.yaml", Policies = { Policy(PolicyKind.Orphans, 1000, 101, 900) } };

        GuardEvaluator.EvaluatePlan(plan, GuardOptions.Default with { MaxDeleteCount = 100 });

        plan.Guards.Should().Equal(new GuardVerdict(GuardEvaluator.MaxDeleteCount, false, "the plan removes 101 objects, more than max_delete_count 100"));
        plan.RefusedEntirely.Should().BeTrue();
    }
}
