using System.Text;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>Cost-aware plans on an S3 store (s3rver + PostgreSQL) that names its provider: Wasabi's 90-day minimum.</summary>
public sealed class ProviderCostScenarios : IAsyncLifetime
{
    private readonly S3PostgresBackend _backend = new();

    public Task InitializeAsync() => _backend.InitializeAsync();

    public Task DisposeAsync() => _backend.DisposeAsync();

    /// <summary>
    /// An orphans policy on the store with <c>provider: wasabi</c> (and <paramref name="storeYaml"/>), one referenced
    /// object of 100 bytes and one orphan of 4000; returns the orphan's time and a clock sixteen days later.
    /// </summary>
    private async Task<(DateTimeOffset Written, ManualClock Clock)> SeedAsync(string storeYaml)
    {
        await _backend.ExecuteSqlAsync("CREATE TABLE media_assets (id TEXT NOT NULL)");
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id) VALUES ('a1')");
        _backend.WriteConfig("""
              - name: orphan-uploads
                type: orphans
                store: media
                layout: "uploads/{asset}/"
                references: {catalog: app, query: "SELECT id AS asset FROM media_assets"}
                min_age: 24h
            """, """
            guards:
              max_delete_fraction: 0.9
            """);
        File.WriteAllText(_backend.ConfigPath, File.ReadAllText(_backend.ConfigPath).Replace("    type: s3\n", "    type: s3\n    provider: wasabi\n" + storeYaml, StringComparison.Ordinal));
        await _backend.PutAsync("uploads/a1/video.mp4", new byte[100]);
        await _backend.PutAsync("uploads/gone/video.mp4", new byte[4000]);
        var written = (await _backend.ListAllAsync()).Single(o => o.Key == "uploads/gone/video.mp4").LastModified;
        return (written, new ManualClock(written + TimeSpan.FromDays(16)));
    }

    [Fact]
    public async Task Plan_OnWasabi_SeparatesBytesThatSaveNowFromThoseThatSaveAfterDayNinety_AndWarnsAboutQuarantineCopies()
    {
        var (written, clock) = await SeedAsync(string.Empty);

        var plan = await _backend.CliAsync(clock, "plan", "--format", "json");

        plan.ExitCode.Should().Be(0, plan.ToString());
        var policy = plan.Json.GetProperty("policies")[0];
        var cost = policy.GetProperty("cost");
        cost.GetProperty("provider").GetString().Should().Be("wasabi");
        cost.GetProperty("bytes_saving_now").GetInt64().Should().Be(0, "an object deleted on day 16 is billed for 74 more");
        cost.GetProperty("bytes_saving_later").GetInt64().Should().Be(4000);
        cost.GetProperty("saves_from").GetDateTimeOffset().Should().Be(written + TimeSpan.FromDays(90));
        cost.GetProperty("copy_requests").GetInt64().Should().Be(1, "quarantine copies the object");
        cost.GetProperty("trash_minimum_bytes").GetInt64().Should().Be(4000);
        var warnings = policy.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()).ToList();
        warnings.Should().Contain(w => w!.Contains("saves nothing until", StringComparison.Ordinal));
        warnings.Should().Contain(w => w!.Contains("each copy starts a new 90d minimum", StringComparison.Ordinal));

        var table = await _backend.CliAsync(clock, "plan", "--format", "table");
        table.Stdout.Should().Contain("each copy starts a new 90d minimum");
    }

    [Fact]
    public async Task Usage_OnWasabi_ShowsCostNow_WhatDeletingSavesNowAndAfterTheMinimum_AndTheQuarantineCopyWarning_AsThePlanDoes()
    {
        var (written, clock) = await SeedAsync("    price_per_gb_month: 1000000\n");

        var plan = await _backend.CliAsync(clock, "plan", "--format", "json");
        var usage = await _backend.CliAsync(clock, "usage", "--format", "json");

        usage.ExitCode.Should().Be(0, usage.ToString());
        var store = usage.Json.GetProperty("stores")[0];
        store.GetProperty("provider").GetString().Should().Be("wasabi");
        store.GetProperty("cost_per_month").GetDecimal().Should().Be(Math.Round(4100m / (1L << 30) * 1000000m, 2), "the store's bytes at its price");
        var reclaimable = usage.Json.GetProperty("reclaimable")[0];
        var cost = reclaimable.GetProperty("cost");
        var planned = plan.Json.GetProperty("policies")[0].GetProperty("cost");
        cost.GetRawText().Should().Be(planned.GetRawText(), "usage gives the plan's own cost figures");
        cost.GetProperty("bytes_saving_now").GetInt64().Should().Be(0);
        cost.GetProperty("bytes_saving_later").GetInt64().Should().Be(4000);
        cost.GetProperty("saving_later_per_month").GetDecimal().Should().Be(Math.Round(4000m / (1L << 30) * 1000000m, 2));
        var warnings = reclaimable.GetProperty("cost_warnings").EnumerateArray().Select(w => w.GetString()).ToList();
        warnings.Should().Contain(w => w!.Contains("saves nothing until", StringComparison.Ordinal));
        warnings.Should().Contain(w => w!.Contains("each copy starts a new 90d minimum", StringComparison.Ordinal));

        var table = await _backend.CliAsync(clock, "usage", "--format", "table");
        table.ExitCode.Should().Be(0, table.ToString());
        table.Stdout.Should().Contain("on wasabi: 0 B save 0.00 per month now; 3.9 KB save");
        table.Stdout.Should().Contain("only after the minimum storage duration (from " + (written + TimeSpan.FromDays(90)).UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        table.Stdout.Should().Contain("each copy starts a new 90d minimum");
    }
}
