using System.Text.Json.Nodes;

namespace Reclaim.Engine.Tests.Cli;

/// <summary><c>reclaim validate</c> shows each schedule entry's next firings in its time zone and in UTC.</summary>
public sealed class ValidateScheduleTests : IDisposable
{
    private readonly SeededFolderStore _store = new();

    public void Dispose() => _store.Dispose();

    private void Schedule(string entries) => _store.WriteConfig(SeededFolderStore.BaseConfig + "schedule:\n" + entries);

    [Fact]
    public async Task Validate_Json_ListsTheNextFiringsOfEachEntry()
    {
        // The clock stands at 2026-06-01T12:00Z, a Monday. Tbilisi is UTC+4 all year.
        Schedule("""
              - policies: [orphan-uploads]
                cron: "0 3 * * *"
                timezone: Europe/Tbilisi
              - policies: [orphan-uploads]
                cron: "15 18 * * *"

            """);

        var result = await _store.RunAsync("validate", "--format", "json");

        result.ExitCode.Should().Be(0, result.ToString());
        var items = JsonNode.Parse(result.Stdout)!.AsArray();
        var tbilisi = items.Single(i => i!["component"]!.GetValue<string>() == "schedule 0")!;
        tbilisi["ok"]!.GetValue<bool>().Should().BeTrue();
        tbilisi["next_firings"]!.AsArray().Select(f => f!["utc"]!.GetValue<DateTimeOffset>()).Should().Equal(
            new DateTimeOffset(2026, 6, 1, 23, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, 6, 2, 23, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, 6, 3, 23, 0, 0, TimeSpan.Zero));
        tbilisi["next_firings"]![0]!["local"]!.GetValue<string>().Should().Be("2026-06-02T03:00:00+04:00");
        var utc = items.Single(i => i!["component"]!.GetValue<string>() == "schedule 1")!;
        utc["detail"]!.GetValue<string>().Should().Contain("UTC").And.Contain("2026-06-01 18:15 UTC");
    }

    [Fact]
    public async Task Validate_Table_PrintsTheFiringsInTheZoneAndUtc()
    {
        Schedule("""
              - policies: [orphan-uploads]
                cron: "0 3 * * *"
                timezone: Europe/Tbilisi

            """);

        var result = await _store.RunAsync("validate", "--format", "table");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Contain("schedule 0: orphan-uploads at '0 3 * * *' Asia/Tbilisi, next 2026-06-02 03:00 +04:00 (2026-06-01 23:00 UTC)");
    }

    [Fact]
    public async Task Validate_CronTheSchedulerRejects_IsAConfigErrorAtItsLine()
    {
        Schedule("""
              - policies: [orphan-uploads]
                cron: "0 25 * * *"

            """);

        var result = await _store.RunAsync("validate", "--format", "json");

        // The cron is read by the scheduler's own parser when the config loads, so validate refuses it
        // as bad config (exit 2) at its position, exactly as serve would.
        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("0 25 * * *").And.MatchRegex(@"reclaim\.ya?ml:\d+:\d+");
    }
}
