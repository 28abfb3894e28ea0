using System.Text;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// Several owners of one prefix: <c>references:</c> as a list of queries. A group either query renders to is
/// referenced on every path (plan, the gate's re-check, a queue request), and each query is judged by the guards on its
/// own. On a folder + SQLite and on S3 (s3rver) + PostgreSQL.
/// </summary>
public abstract class ReferenceListScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private const string Live = "orgs/o1/uploads/a1/raw.mp4";
    private const string Archived = "orgs/o1/uploads/a2/raw.mp4";
    private const string Gone = "orgs/o1/uploads/gone/raw.mp4";

    private readonly TBackend _backend = new();
    private ManualClock _clock = new();

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        await _backend.ExecuteSqlAsync($"CREATE TABLE media_assets (id {_backend.KeyText} NOT NULL, org_id {_backend.KeyText} NOT NULL)");
        await _backend.ExecuteSqlAsync($"CREATE TABLE archived_assets (asset_id {_backend.KeyText} NOT NULL, org {_backend.KeyText} NOT NULL)");
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('a1', 'o1')");
    }

    public Task DisposeAsync() => _backend.DisposeAsync();

    private void Configure(string archiveQuery = "SELECT org, asset_id AS asset FROM archived_assets") =>
        _backend.WriteConfig($"""
              - name: orphan-uploads
                type: orphans
                store: media
                layout: "orgs/{"{org}"}/uploads/{"{asset}"}/"
                references:
                  - catalog: app
                    query: "SELECT org_id AS org, id AS asset FROM media_assets"
                  - catalog: app
                    query: "{archiveQuery}"
                min_age: 24h
                action: delete
            """, """
            guards:
              max_delete_fraction: 0.9
            """);

    private async Task SeedAsync()
    {
        foreach (var key in new[] { Live, Archived, Gone })
        {
            await _backend.PutAsync(key, Encoding.UTF8.GetBytes("bytes of " + key));
        }

        _clock = new ManualClock((await _backend.ListAllAsync()).Max(o => o.LastModified) + TimeSpan.FromDays(2));
    }

    [Fact]
    public async Task Sweep_GroupReferencedOnlyByTheSecondQuery_Survives()
    {
        await _backend.ExecuteSqlAsync("INSERT INTO archived_assets (asset_id, org) VALUES ('a2', 'o1')");
        Configure();
        await SeedAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo([Live, Archived]);
    }

    [Fact]
    public async Task Apply_GroupTheSecondQueryReferencesAfterThePlan_IsKeptByTheGatesRecheck()
    {
        await _backend.ExecuteSqlAsync("INSERT INTO archived_assets (asset_id, org) VALUES ('a9', 'o9')");
        Configure();
        await SeedAsync();
        var planPath = Path.Combine(_backend.Dir, "plan.json");
        var plan = await _backend.CliAsync(_clock, "plan", "-o", planPath);
        plan.ExitCode.Should().Be(0, plan.ToString());

        // The archive takes the asset between the plan and its apply: only the second query renders to it now.
        await _backend.ExecuteSqlAsync("INSERT INTO archived_assets (asset_id, org) VALUES ('a2', 'o1')");
        var apply = await _backend.CliAsync(_clock, "apply", planPath, "--yes");

        apply.ExitCode.Should().Be(0, apply.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo([Live, Archived]);
    }

    [Fact]
    public async Task QueueRequest_ForAGroupOnlyTheSecondQueryReferences_LeavesItsObjects()
    {
        await _backend.ExecuteSqlAsync("INSERT INTO archived_assets (asset_id, org) VALUES ('a2', 'o1')");
        Configure();
        await SeedAsync();

        var enqueue = await _backend.CliAsync(_clock, "enqueue", "--store", "media", "--prefix", "orgs/o1/uploads/a2/", "--prefix", "orgs/o1/uploads/gone/", "--action", "delete");
        var worker = await _backend.CliAsync(_clock, "worker", "--once", "--policy", "reclaim");

        enqueue.ExitCode.Should().Be(0, enqueue.ToString());
        worker.ExitCode.Should().Be(4, "the request for the archived group fails, the other is done: " + worker);
        worker.Json.GetProperty("processed").GetInt32().Should().Be(1);
        worker.Json.GetProperty("failed").GetInt32().Should().Be(1);
        (await _backend.KeysAsync()).Should().BeEquivalentTo([Live, Archived]);
        var status = await _backend.CliAsync(_clock, "queue", "status", "--format", "json");
        status.Stdout.Should().Contain("still referenced by policy", status.ToString()).And.Contain("orphan-uploads").And.Contain("a2");
    }

    [Fact]
    public async Task Plan_AListWithOneEmptyQuery_IsRefusedByRefuseEmptyReferences()
    {
        Configure();
        await SeedAsync();

        var plan = await _backend.CliAsync(_clock, "plan", "--format", "json");

        plan.ExitCode.Should().Be(3, plan.ToString());
        var guard = plan.Json.GetProperty("policies")[0].GetProperty("guards").EnumerateArray()
            .Single(g => g.GetProperty("guard").GetString() == "refuse_empty_references");
        guard.GetProperty("passed").GetBoolean().Should().BeFalse();
        guard.GetProperty("message").GetString().Should().Contain("query 2 of 2 (catalog 'app') returned no rows");
        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");
        sweep.ExitCode.Should().Be(3, sweep.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo([Live, Archived, Gone]);
    }
}

public sealed class FolderSqliteReferenceListScenarios : ReferenceListScenarios<FolderSqliteBackend>;

public sealed class S3PostgresReferenceListScenarios : ReferenceListScenarios<S3PostgresBackend>;
