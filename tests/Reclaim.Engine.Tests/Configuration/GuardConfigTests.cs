using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary>The <c>guards:</c> keys, at the top level and per policy.</summary>
public sealed class GuardConfigTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Load_NewGuardKeys_HaveTheirDefaults()
    {
        var guards = _folder.Load(ConfigLoaderErrorTests.Orphans()).Guards;

        guards.MinGroupsForFraction.Should().Be(20);
        guards.RefuseEmptyKeep.Should().BeFalse();
        guards.RefuseEmptyReferences.Should().BeTrue();
    }

    [Fact]
    public void Load_TopLevelGuards_AreReadAndShownInTheEffectiveConfig()
    {
        var config = _folder.Load(ConfigLoaderErrorTests.Orphans() + "\nguards:\n  min_groups_for_fraction: 50\n  refuse_empty_keep: true\n");

        config.Guards.MinGroupsForFraction.Should().Be(50);
        config.Guards.RefuseEmptyKeep.Should().BeTrue();
        var json = ConfigRedactor.ToJson(config)["guards"]!;
        json["min_groups_for_fraction"]!.GetValue<long>().Should().Be(50);
        json["refuse_empty_keep"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public void Load_PolicyGuards_OverrideTheTopLevelOnes_AndInheritTheRest()
    {
        var config = _folder.Load(ConfigLoaderErrorTests.Orphans() + "\n    guards:\n      min_groups_for_fraction: 5\n      refuse_empty_keep: true\nguards:\n  max_delete_fraction: 0.3\n");

        var own = config.Policies.Single().Guards!;
        own.MinGroupsForFraction.Should().Be(5);
        own.RefuseEmptyKeep.Should().BeTrue();
        own.MaxDeleteFraction.Should().Be(0.3);
        config.Guards.MinGroupsForFraction.Should().Be(20);
    }

    [Theory]
    [InlineData("min_groups_for_fraction: 0", "guards.min_groups_for_fraction: 0 is out of range: expected a whole number >= 1")]
    [InlineData("min_groups_for_fraction: -3", "guards.min_groups_for_fraction: -3 is out of range")]
    [InlineData("max_delete_count: 0", "guards.max_delete_count: 0 is out of range: expected a whole number >= 1")]
    [InlineData("refuse_empty_keep: maybe", "guards.refuse_empty_keep: expected true or false")]
    public void Load_GuardValueOutOfRange_IsAnErrorAtTheValue(string line, string message)
    {
        var error = _folder.SingleError($"guards:\n  {line}\n", 2, line.IndexOf(':', StringComparison.Ordinal) + 5);

        error.Message.Should().Contain(message);
    }

    [Fact]
    public void Load_MaxDeleteCountInAPolicy_IsStillPerPlan()
    {
        var error = _folder.SingleError(ConfigLoaderErrorTests.Orphans() + "\n    guards:\n      max_delete_count: 5\n", 16, 7);

        error.Message.Should().Contain("unknown key 'max_delete_count'");
    }
}
