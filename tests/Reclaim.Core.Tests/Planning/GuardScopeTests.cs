using Reclaim.Core.Planning;
using Reclaim.Core.State;

namespace Reclaim.Core.Tests.Planning;

/// <summary>Which guard applies to which query kind and population, and what a refused policy does to its plan.</summary>
public sealed class GuardScopeTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static PolicyPlan Policy(PolicyKind type, long scanned, long orphaned, long references, string name = "p") => new()
    {
        Policy = name,
        Type = type,
        Store = "s",
        Action = ActionKind.Quarantine,
        Layout = "x/{y}",
        Definition = "d",
        MinAge = TimeSpan.FromDays(1),
        Totals = new PolicyTotals { GroupsScanned = scanned, GroupsOrphaned = orphaned, ObjectsOrphaned = orphaned * 3, ReferencesRead = references },
    };

    [Fact]
    public void EvaluatePolicy_RetentionWhoseKeepQueryIsEmpty_IsNotRefusedByDefault()
    {
        var plan = Policy(PolicyKind.Retention, 30, 2, 0);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        plan.Refused.Should().BeFalse("an empty keep set is normal: no job in progress keeps nothing");
        plan.Guards.Should().ContainSingle(g => g.Guard == GuardEvaluator.RefuseEmptyKeep)
            .Which.Message.Should().Contain("the keep query returned no rows").And.Contain("refuse_empty_keep: true");
        plan.Guards.Should().NotContain(g => g.Guard == GuardEvaluator.RefuseEmptyReferences);
    }

    [Fact]
    public void EvaluatePolicy_RetentionWhoseKeepQueryIsEmpty_IsRefusedWhenThePolicyOptsIn()
    {
        var plan = Policy(PolicyKind.Retention, 30, 2, 0);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default with { RefuseEmptyKeep = true }, force: false);

        var verdict = plan.Guards.Single(g => !g.Passed);
        verdict.Guard.Should().Be("refuse_empty_keep");
        verdict.Message.Should().Contain("the keep query returned no rows").And.Contain("older than max_age");
    }

    [Fact]
    public void EvaluatePolicy_RetentionKeepRowsThatRenderToNothing_AreEmptyForTheOptIn()
    {
        var plan = Policy(PolicyKind.Retention, 30, 2, 5);
        plan.Totals.ReferencesUnrenderable = 5;

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default with { RefuseEmptyKeep = true }, force: false);

        plan.Guards.Single(g => !g.Passed).Message.Should().Contain("5 rows but none renders");
    }

    [Fact]
    public void EvaluatePolicy_RefuseEmptyReferencesOff_DoesNotTurnTheKeepGuardOn()
    {
        var plan = Policy(PolicyKind.Retention, 30, 2, 0);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default with { RefuseEmptyReferences = true, RefuseEmptyKeep = false }, force: false);

        plan.Refused.Should().BeFalse();
    }

    [Fact]
    public void EvaluatePolicy_OrphansWithEmptyReferences_IsStillRefused()
    {
        var plan = Policy(PolicyKind.Orphans, 30, 2, 0);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default with { RefuseEmptyKeep = false }, force: false);

        plan.Guards.Single(g => !g.Passed).Guard.Should().Be("refuse_empty_references");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(19, 19)]
    [InlineData(5, 3)]
    public void EvaluatePolicy_FewerGroupsThanTheMinimum_FractionDoesNotApply(long scanned, long orphaned)
    {
        var plan = Policy(PolicyKind.Orphans, scanned, orphaned, 10);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        plan.Refused.Should().BeFalse();
        plan.Guards.Single(g => g.Guard == "max_delete_fraction").Message.Should().Contain("fewer than min_groups_for_fraction 20").And.Contain("only max_delete_count applies");
    }

    [Fact]
    public void EvaluatePolicy_AtTheMinimumOfGroups_FractionApplies()
    {
        var plan = Policy(PolicyKind.Orphans, 20, 3, 17);

        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);

        plan.Guards.Single(g => !g.Passed).Message.Should().Contain("3 of 20 groups");
    }

    [Fact]
    public void EvaluatePolicy_MinimumOfGroupsIsConfigurable()
    {
        var small = Policy(PolicyKind.Orphans, 4, 2, 2);
        GuardEvaluator.EvaluatePolicy(small, GuardOptions.Default with { MinGroupsForFraction = 4 }, force: false);
        small.Guards.Single(g => !g.Passed).Guard.Should().Be("max_delete_fraction");

        var large = Policy(PolicyKind.Orphans, 200, 40, 160);
        GuardEvaluator.EvaluatePolicy(large, GuardOptions.Default with { MinGroupsForFraction = 1000 }, force: false);
        large.Refused.Should().BeFalse();
    }

    [Fact]
    public void Plan_OneRefusedPolicyAmongOthers_IsNotRefusedEntirely_AndItsObjectsDoNotCount()
    {
        var refused = Policy(PolicyKind.Orphans, 30, 30, 0, "refused");
        var good = Policy(PolicyKind.Orphans, 100, 2, 98, "good");
        GuardEvaluator.EvaluatePolicy(refused, GuardOptions.Default, force: false);
        GuardEvaluator.EvaluatePolicy(good, GuardOptions.Default, force: false);
        var plan = new Plan { CreatedAt = Now, ConfigPath = "/c.yaml", Policies = { refused, good } };

        GuardEvaluator.EvaluatePlan(plan, GuardOptions.Default with { MaxDeleteCount = 10 });

        plan.Refused.Should().BeTrue();
        plan.RefusedEntirely.Should().BeFalse();
        plan.ObjectsProposed.Should().Be(96);
        plan.ObjectsAccepted.Should().Be(6);
        plan.Guards.Single().Passed.Should().BeTrue("the refused policy's 90 objects are not removed, so they do not count");
    }

    [Fact]
    public void Plan_EveryPolicyRefused_IsRefusedEntirely()
    {
        var a = Policy(PolicyKind.Orphans, 30, 30, 0, "a");
        var b = Policy(PolicyKind.Orphans, 30, 30, 0, "b");
        GuardEvaluator.EvaluatePolicy(a, GuardOptions.Default, force: false);
        GuardEvaluator.EvaluatePolicy(b, GuardOptions.Default, force: false);
        var plan = new Plan { CreatedAt = Now, ConfigPath = "/c.yaml", Policies = { a, b } };
        GuardEvaluator.EvaluatePlan(plan, GuardOptions.Default);

        plan.RefusedEntirely.Should().BeTrue();
    }

    [Fact]
    public void Plan_MaxDeleteCountRefusal_RefusesThePlanEntirely()
    {
        var good = Policy(PolicyKind.Orphans, 1000, 50, 950);
        GuardEvaluator.EvaluatePolicy(good, GuardOptions.Default, force: false);
        var plan = new Plan { CreatedAt = Now, ConfigPath = "/c.yaml", Policies = { good } };

        GuardEvaluator.EvaluatePlan(plan, GuardOptions.Default with { MaxDeleteCount = 100 });

        plan.RefusedEntirely.Should().BeTrue();
    }
}
