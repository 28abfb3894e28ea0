using Reclaim.Core.Planning;
using Reclaim.Core.State;

namespace Reclaim.Core.Tests.Planning;

public sealed class GuardAndRuleTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Classify_ReferencedGroup_IsKeptWhateverItsAge()
    {
        OrphanRule.Classify(true, Now.AddYears(-3), Now, TimeSpan.FromHours(24)).Should().Be(GroupVerdictKind.Referenced);
    }

    [Fact]
    public void Classify_GroupYoungerThanMinAge_IsNotAnOrphan()
    {
        OrphanRule.Classify(false, Now.AddHours(-23), Now, TimeSpan.FromHours(24)).Should().Be(GroupVerdictKind.TooYoung);
        OrphanRule.Classify(false, Now.AddHours(1), Now, TimeSpan.Zero).Should().Be(GroupVerdictKind.TooYoung);
        OrphanRule.Classify(false, Now.AddHours(-24), Now, TimeSpan.FromHours(24)).Should().Be(GroupVerdictKind.Orphaned);
    }

    private static PolicyPlan Policy(long scanned, long orphaned, long references, TimeSpan minAge) => new()
    {
        Policy = "p",
        Type = PolicyKind.Orphans,
        Store = "s",
        Action = ActionKind.Quarantine,
        Layout = "x/{y}",
        Definition = "d",
        MinAge = minAge,
        Totals = new PolicyTotals { GroupsScanned = scanned, GroupsOrphaned = orphaned, ObjectsOrphaned = orphaned, ReferencesRead = references },
    };

    [Fact]
    public void EvaluatePolicy_EmptyReferences_Refuses()
    {
        var plan = Policy(10, 1, 0, TimeSpan.FromDays(1));
        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);
        plan.Refused.Should().BeTrue();
        plan.Guards.Single(g => !g.Passed).Guard.Should().Be("refuse_empty_references");
    }

    [Fact]
    public void EvaluatePolicy_ReferencesThatAllRenderToNothing_RefuseLikeNoReferences()
    {
        var plan = Policy(10, 1, 40, TimeSpan.FromDays(1));
        plan.Totals.ReferencesUnrenderable = 40;
        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);
        var verdict = plan.Guards.Single(g => !g.Passed);
        verdict.Guard.Should().Be("refuse_empty_references");
        verdict.Message.Should().Contain("40 rows but none renders to a key");
    }

    [Fact]
    public void EvaluatePolicy_SomeReferencesRender_Passes()
    {
        var plan = Policy(100, 1, 40, TimeSpan.FromDays(1));
        plan.Totals.ReferencesUnrenderable = 39;
        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);
        plan.Refused.Should().BeFalse();
    }

    [Fact]
    public void EvaluatePolicy_FractionAboveLimit_RefusesWithTheNumbers()
    {
        var plan = Policy(100, 11, 89, TimeSpan.FromDays(1));
        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);
        var verdict = plan.Guards.Single(g => !g.Passed);
        verdict.Guard.Should().Be("max_delete_fraction");
        verdict.Message.Should().Contain("11 of 100");
    }

    [Fact]
    public void EvaluatePolicy_FractionAtLimit_Passes()
    {
        var plan = Policy(100, 10, 90, TimeSpan.FromDays(1));
        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);
        plan.Refused.Should().BeFalse();
    }

    [Fact]
    public void EvaluatePolicy_MinAgeBelowFloor_NeedsForce()
    {
        var plan = Policy(100, 1, 99, TimeSpan.FromMinutes(5));
        GuardEvaluator.EvaluatePolicy(plan, GuardOptions.Default, force: false);
        plan.Guards.Single(g => !g.Passed).Guard.Should().Be("min_age_floor");

        var forced = Policy(100, 1, 99, TimeSpan.FromMinutes(5));
        GuardEvaluator.EvaluatePolicy(forced, GuardOptions.Default, force: true);
        forced.Refused.Should().BeFalse();
    }

    [Fact]
    public void EvaluatePlan_MoreObjectsThanMaxDeleteCount_Refuses()
    {
        var plan = new Plan { CreatedAt = Now, ConfigPath = "/c.yaml", Policies = { Policy(1000, 60, 900, TimeSpan.FromDays(1)), Policy(1000, 50, 900, TimeSpan.FromDays(1)) } };
        GuardEvaluator.EvaluatePlan(plan, GuardOptions.Default with { MaxDeleteCount = 100 });
        plan.Refused.Should().BeTrue();
        plan.Guards.Single().Message.Should().Contain("110 objects");
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("15m", 900)]
    [InlineData("24h", 86400)]
    [InlineData("7d", 604800)]
    [InlineData("1h30m", 5400)]
    [InlineData("0s", 0)]
    public void Duration_Parses(string text, int seconds)
    {
        Duration.TryParse(text, out var value).Should().BeTrue();
        value.Should().Be(TimeSpan.FromSeconds(seconds));
    }

    [Theory]
    [InlineData("")]
    [InlineData("24")]
    [InlineData("h")]
    [InlineData("1w")]
    [InlineData("-1h")]
    [InlineData("1.5h")]
    [InlineData("24h junk")]
    public void Duration_RejectsNonsense(string text)
    {
        Duration.TryParse(text, out _).Should().BeFalse();
    }
}
