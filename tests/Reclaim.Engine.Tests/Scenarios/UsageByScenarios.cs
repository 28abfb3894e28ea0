using System.Text;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// <c>reclaim usage --by org</c> end to end: objects and bytes, referenced and reclaimable, per tenant, on a folder +
/// SQLite and on S3 (s3rver) + PostgreSQL.
/// </summary>
public abstract class UsageByScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private readonly TBackend _backend = new();
    private ManualClock _clock = new();

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        await _backend.ExecuteSqlAsync($"CREATE TABLE media_assets (id {_backend.KeyText} NOT NULL, org_id {_backend.KeyText} NOT NULL)");
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('a1', 'o1'), ('a2', 'o2')");
        _backend.WriteConfig("""
              - name: orphan-uploads
                type: orphans
                store: media
                layout: "orgs/{org}/uploads/{asset}/"
                references:
                  catalog: app
                  query: "SELECT org_id AS org, id AS asset FROM media_assets"
                min_age: 24h
            """);
    }

    public Task DisposeAsync() => _backend.DisposeAsync();

    private Task PutAsync(string key, int size) => _backend.PutAsync(key, Encoding.ASCII.GetBytes(new string('x', size)));

    /// <summary>o1: 300 bytes referenced, 50 orphaned; o2: 200 referenced, 1000 orphaned; o3: 70 too young; plus unmatched and trash.</summary>
    private async Task SeedAsync()
    {
        await PutAsync("orgs/o1/uploads/a1/raw.mp4", 200);
        await PutAsync("orgs/o1/uploads/a1/thumb.jpg", 100);
        await PutAsync("orgs/o1/uploads/gone/raw.mp4", 50);
        await PutAsync("orgs/o2/uploads/a2/raw.mp4", 200);
        await PutAsync("orgs/o2/uploads/old-1/raw.mp4", 600);
        await PutAsync("orgs/o2/uploads/old-2/raw.mp4", 400);
        await PutAsync("orgs/o2/exports/report.csv", 5000);
        await PutAsync(".reclaim-trash/20260101-000000-abcdef/orgs/o9/uploads/x/raw.mp4", 9000);
        var oldNewest = (await _backend.ListAllAsync()).Max(o => o.LastModified);
        await Task.Delay(1200);
        await PutAsync("orgs/o3/uploads/fresh/raw.mp4", 70);
        _clock = new ManualClock(oldNewest + TimeSpan.FromHours(24));
    }

    [Fact]
    public async Task UsageBy_Org_ReportsReferencedAndReclaimableBytesPerTenant_MostReclaimableFirst()
    {
        await SeedAsync();

        var result = await _backend.CliAsync(_clock, "usage", "--by", "org", "--format", "json");

        result.ExitCode.Should().Be(0, result.ToString());
        var report = result.Json;
        report.GetProperty("by").GetString().Should().Be("org");
        var rows = report.GetProperty("rows").EnumerateArray().Select(r => new
        {
            Value = r.GetProperty("value").GetString(),
            Groups = r.GetProperty("groups").GetInt64(),
            Objects = r.GetProperty("objects").GetInt64(),
            Bytes = r.GetProperty("bytes").GetInt64(),
            ReferencedBytes = r.GetProperty("referenced_bytes").GetInt64(),
            ReclaimableObjects = r.GetProperty("reclaimable_objects").GetInt64(),
            ReclaimableBytes = r.GetProperty("reclaimable_bytes").GetInt64(),
            Policy = r.GetProperty("policy").GetString(),
        }).ToList();
        rows.Select(r => r.Value).Should().Equal("o2", "o1", "o3");
        rows.Should().OnlyContain(r => r.Policy == "orphan-uploads");
        rows[0].Should().BeEquivalentTo(new { Value = "o2", Groups = 3L, Objects = 3L, Bytes = 1200L, ReferencedBytes = 200L, ReclaimableObjects = 2L, ReclaimableBytes = 1000L, Policy = "orphan-uploads" });
        rows[1].Should().BeEquivalentTo(new { Value = "o1", Groups = 2L, Objects = 3L, Bytes = 350L, ReferencedBytes = 300L, ReclaimableObjects = 1L, ReclaimableBytes = 50L, Policy = "orphan-uploads" });
        rows[2].Should().BeEquivalentTo(new { Value = "o3", Groups = 1L, Objects = 1L, Bytes = 70L, ReferencedBytes = 0L, ReclaimableObjects = 0L, ReclaimableBytes = 0L, Policy = "orphan-uploads" });
        report.GetProperty("warnings").GetArrayLength().Should().Be(0);

        // The per-tenant numbers agree with what a plan proposes.
        var plan = await _backend.CliAsync(_clock, "plan", "--format", "json");
        plan.Json.GetProperty("policies")[0].GetProperty("totals").GetProperty("bytes_reclaimable").GetInt64().Should().Be(rows.Sum(r => r.ReclaimableBytes));
    }

    [Fact]
    public async Task UsageBy_AsATable_ShowsOneLinePerTenant()
    {
        await SeedAsync();

        var result = await _backend.CliAsync(_clock, "usage", "--by", "asset", "--format", "table");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Contain("asset").And.Contain("old-1").And.Contain("fresh");
    }

    [Fact]
    public async Task UsageBy_AVariableNoLayoutHas_IsAUsageError_NamingTheLayoutsVariables()
    {
        var result = await _backend.CliAsync(_clock, "usage", "--by", "tenant");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("'tenant'").And.Contain("org, asset");
        result.Stdout.Should().BeEmpty();
    }
}

public sealed class FolderSqliteUsageByScenarios : UsageByScenarios<FolderSqliteBackend>;

public sealed class S3PostgresUsageByScenarios : UsageByScenarios<S3PostgresBackend>;
