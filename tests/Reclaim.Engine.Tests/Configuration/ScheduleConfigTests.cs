using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

public sealed class ScheduleConfigTests : IDisposable
{
    /// <summary>One policy and one schedule entry, whose <c>cron</c> is line 17.</summary>
    private static readonly string Policy = ConfigLoaderErrorTests.Orphans() + "\nschedule:\n  - policies: [uploads]\n    cron: \"0 3 * * *\"\n";

    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Load_RunOnStartup_IsReadPerEntry_AndDefaultsToFalse()
    {
        var config = _folder.Load(Policy + "    run_on_startup: true\n  - policies: [uploads]\n    cron: \"0 4 * * *\"\n");

        config.Schedule.Select(s => s.RunOnStartup).Should().Equal(true, false);
        ConfigRedactor.ToJson(config)["schedule"]![0]!["run_on_startup"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public void Load_RunOnStartupNotABoolean_IsAnErrorAtTheValue()
    {
        _folder.SingleError(Policy + "    run_on_startup: yes please\n", 18, 21).Message.Should().Contain("schedule[0].run_on_startup: expected true or false");
    }

    [Fact]
    public void Load_ClusterCheckinInterval_IsReadAsADuration_AndDefaultsTo5s()
    {
        _folder.Load(Policy + "server:\n  cluster_checkin_interval: 2s\n").Server.ClusterCheckinInterval.Should().Be(TimeSpan.FromSeconds(2));
        _folder.Load(Policy).Server.ClusterCheckinInterval.Should().Be(TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("0s", "longer than zero")]
    [InlineData("soon", "not a duration")]
    public void Load_ClusterCheckinIntervalInvalid_IsAnErrorAtTheValue(string value, string message)
    {
        _folder.SingleError(Policy + $"server:\n  cluster_checkin_interval: {value}\n", 19, 29).Message.Should().Contain("server.cluster_checkin_interval").And.Contain(message);
    }
}
