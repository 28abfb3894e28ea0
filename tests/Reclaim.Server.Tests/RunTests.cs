using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Reclaim.Server.Scheduling;

namespace Reclaim.Server.Tests;

public sealed class RunTests
{
    /// <summary>A references query that takes about a second in SQLite, so a run is still going when the next request comes.</summary>
    private const string SlowQuery =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT id AS asset FROM assets WHERE (SELECT count(*) FROM c) > 0";

    [Fact]
    public async Task Run_WhileTheSamePolicyRuns_IsAConflict()
    {
        await using var host = await ServerHost.StartAsync(referencesQuery: SlowQuery);
        using var admin = host.As("admin");

        using var first = await admin.PostAsJsonAsync("api/v1/runs", new { dry_run = true });
        using var second = await admin.PostAsJsonAsync("api/v1/runs", new { policies = new[] { "uploads" }, dry_run = false });

        first.StatusCode.Should().Be(HttpStatusCode.Accepted);
        second.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var problem = (await second.Content.ReadFromJsonAsync<JsonObject>())!;
        var firstId = (await first.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        problem["run_id"]!.GetValue<string>().Should().Be(firstId);

        (await ServerHost.WaitForRunAsync(admin, firstId))["status"]!.GetValue<string>().Should().Be("succeeded");
        using var third = await admin.PostAsJsonAsync("api/v1/runs", new { dry_run = true });
        third.StatusCode.Should().Be(HttpStatusCode.Accepted, "the policy is free again once the first run finished");
        await ServerHost.WaitForRunAsync(admin, (await third.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task MutatingBurst_BeyondTheLimit_Gets429WithRetryAfter()
    {
        await using var host = await ServerHost.StartAsync(rateLimitPerMinute: 3);
        using var admin = host.As("admin");
        using var viewer = host.As("viewer");

        var statuses = new List<int>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 5; i++)
        {
            var response = await admin.PostAsync("api/v1/runs/20200101-000000-abcdef/restore", null);
            statuses.Add((int)response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited ??= response;
            }
        }

        statuses.Should().Equal(404, 404, 404, 429, 429);
        var seconds = int.Parse(limited!.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture);
        seconds.Should().BeInRange(1, 60);
        limited.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await viewer.GetAsync("api/v1/runs")).StatusCode.Should().Be(HttpStatusCode.OK, "reads are not rate limited");
    }

    [Fact]
    public async Task RealRun_QuarantinesOrphans_RecordsTheCaller_ShowsInMetrics_AndRestores()
    {
        await using var host = await ServerHost.StartAsync();
        using var admin = host.As("admin");
        var before = host.StoreKeys();

        var run = await ServerHost.RunAsync(admin, new { policies = new[] { "uploads" }, dry_run = false });
        var runId = run["id"]!.GetValue<string>();

        run["status"]!.GetValue<string>().Should().Be("succeeded");
        run["actor"]!.GetValue<string>().Should().Be("api:admin");
        var orphans = before.Where(k => k.StartsWith("uploads/gone", StringComparison.Ordinal)).ToList();
        orphans.Should().HaveCount(ServerHost.OrphanGroups * 2);
        host.StoreKeys().Should().NotIntersectWith(orphans);
        var actions = (await admin.GetFromJsonAsync<JsonArray>($"api/v1/runs/{runId}/actions"))!;
        actions.Select(a => a!["key"]!.GetValue<string>()).Should().BeEquivalentTo(orphans);
        actions.Should().OnlyContain(a => a!["outcome"]!.GetValue<string>() == "done" && a["kind"]!.GetValue<string>() == "quarantine");

        var metrics = await host.Client(null).GetStringAsync("metrics");
        metrics.Should().Contain($"reclaim_removed_objects_total{{policy=\"uploads\"}} {orphans.Count}");
        metrics.Should().Contain($"reclaim_removed_size_bytes_total{{policy=\"uploads\"}} {host.OrphanBytes}");
        metrics.Should().Contain("reclaim_runs_total{dry_run=\"false\",policy=\"uploads\",status=\"succeeded\"} 1");

        using var restored = await admin.PostAsync($"api/v1/runs/{runId}/restore", null);
        restored.StatusCode.Should().Be(HttpStatusCode.OK);
        var restore = (await restored.Content.ReadFromJsonAsync<JsonObject>())!;
        restore["kind"]!.GetValue<string>().Should().Be("restore");
        restore["actor"]!.GetValue<string>().Should().Be("api:admin");
        host.StoreKeys().Should().BeEquivalentTo(before);
    }

    [Fact]
    public async Task DryRun_ShowsItsPlan_AndTouchesNothing()
    {
        await using var host = await ServerHost.StartAsync();
        using var operatorClient = host.As("operator");
        var before = host.StoreKeys();

        var run = await ServerHost.RunAsync(operatorClient, new { dry_run = true });

        run["dry_run"]!.GetValue<bool>().Should().BeTrue();
        run["actor"]!.GetValue<string>().Should().Be("api:operator");
        run["plan"]!["objects_proposed"]!.GetValue<long>().Should().Be(ServerHost.OrphanGroups * 2);
        run["plan"]!["bytes_proposed"]!.GetValue<long>().Should().Be(host.OrphanBytes);
        host.StoreKeys().Should().BeEquivalentTo(before);
        var history = (await operatorClient.GetFromJsonAsync<JsonArray>("api/v1/runs"))!;
        history.Should().Contain(r => r!["id"]!.GetValue<string>() == run["id"]!.GetValue<string>() && r["dry_run"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Schedule_EverySecond_StartsRunsAsTheSchedule()
    {
        await using var host = await ServerHost.StartAsync(extraYaml: """
            schedule:
              - policies: [uploads]
                cron: "* * * * * ?"
            """);
        using var viewer = host.As("viewer");

        JsonArray runs = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(60);
            !runs.Any(r => r!["actor"]!.GetValue<string>() == "schedule:0" && r["status"]!.GetValue<string>() == "succeeded") && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(100);
            runs = (await viewer.GetFromJsonAsync<JsonArray>("api/v1/runs"))!;
        }

        runs.Should().Contain(r => r!["actor"]!.GetValue<string>() == "schedule:0" && !r["dry_run"]!.GetValue<bool>() && r["status"]!.GetValue<string>() == "succeeded");
        host.StoreKeys().Should().NotContain(k => k.StartsWith("uploads/gone", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0 3 * * *", "0 0 3 * * ?")]
    [InlineData("*/5 * * * *", "0 */5 * * * ?")]
    [InlineData("30 2 * * 0", "0 30 2 ? * SUN")]
    [InlineData("0 9 * * 1-5", "0 0 9 ? * MON-FRI")]
    [InlineData("0 0 * * 0,6,7", "0 0 0 ? * SUN,SAT,SUN")]
    [InlineData("0 0 1 * *", "0 0 0 1 * ?")]
    [InlineData("0 12 * * MON-FRI", "0 0 12 ? * MON-FRI")]
    [InlineData("0 0/5 * * * ?", "0 0/5 * * * ?")]
    public void ToQuartz_UnixCron_GetsSecondsAndQuestionMark(string unix, string quartz) =>
        CronExpressions.ToQuartz(unix).Should().Be(quartz);

    [Fact]
    public void ToQuartz_DayAndWeekdayBothSet_IsRefused() =>
        FluentActions.Invoking(() => CronExpressions.ToQuartz("0 0 1 * 1")).Should().Throw<FormatException>().WithMessage("*keep one of them*");
}
