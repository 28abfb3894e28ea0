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

    private const string PostgresState = "state:\n  provider: postgres\n  connection: \"Host=127.0.0.1;Database=reclaim\"\n";

    [Fact]
    public void Load_Partitioned_WithPostgresState_IsReadPerEntry_AndReplicasJoinRunsByDefault()
    {
        var config = _folder.Load(Policy + "    partitioned: true\n  - policies: [uploads]\n    cron: \"0 4 * * *\"\n" + PostgresState);

        config.Schedule.Select(s => s.Partitioned).Should().Equal(true, false);
        config.Server.JoinPartitionedRuns.Should().BeTrue();
        config.Server.PartitionLease.Should().Be(TimeSpan.FromSeconds(20), "four times the 5 s cluster check-in");
        ConfigRedactor.ToJson(config)["schedule"]![0]!["partitioned"]!.GetValue<bool>().Should().BeTrue();
        _folder.Load(Policy + PostgresState + "server:\n  join_partitioned_runs: false\n").Server.JoinPartitionedRuns.Should().BeFalse();
    }

    [Fact]
    public void Load_PartitionedWithSqliteState_IsAnErrorAtTheValue()
    {
        _folder.SingleError(Policy + "    partitioned: true\n", 18, 18).Message.Should()
            .Contain("schedule[0].partitioned").And.Contain("state.provider: postgres");
    }

    [Fact]
    public void Load_PartitionedPolicyWithConfirmAfter_IsAnErrorAtThePolicysName()
    {
        var yaml = ConfigLoaderErrorTests.Orphans() + "\n    confirm_after: 1h\nschedule:\n  - policies: [uploads]\n    cron: \"0 3 * * *\"\n    partitioned: true\n" + PostgresState;

        _folder.SingleError(yaml, 17, 16).Message.Should().Contain("policy 'uploads' has confirm_after").And.Contain("cannot be partitioned");
    }

    [Fact]
    public void Load_PartitionedRecordsPolicy_IsAnErrorAtThePolicysName()
    {
        var yaml = ConfigLoaderErrorTests.Orphans() + """

              - name: failed
                type: records
                catalog: app
                query: "SELECT id, path AS file FROM sessions"
                store: media
                objects: "{file}"
            schedule:
              - policies: [uploads, failed]
                cron: "0 3 * * *"
                partitioned: true

            """ + PostgresState;

        _folder.SingleError(yaml, 22, 25).Message.Should().Contain("policy 'failed' (records) cannot be partitioned");
    }

    [Fact]
    public void Load_PartitionedNotABoolean_IsAnErrorAtTheValue()
    {
        _folder.SingleError(Policy + "    partitioned: sometimes\n" + PostgresState, 18, 18).Message.Should().Contain("schedule[0].partitioned: expected true or false");
    }
}
