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

    [Fact]
    public async Task Plan_OnWasabi_SeparatesBytesThatSaveNowFromThoseThatSaveAfterDayNinety_AndWarnsAboutQuarantineCopies()
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
        File.WriteAllText(_backend.ConfigPath, File.ReadAllText(_backend.ConfigPath).Replace("    type: s3\n", "    type: s3\n    provider: wasabi\n", StringComparison.Ordinal));
        await _backend.PutAsync("uploads/a1/video.mp4", new byte[100]);
        await _backend.PutAsync("uploads/gone/video.mp4", new byte[4000]);
        var written = (await _backend.ListAllAsync()).Single(o => o.Key == "uploads/gone/video.mp4").LastModified;
        var clock = new ManualClock(written + TimeSpan.FromDays(16));

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
}
