using System.Text;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// Thousands of orphan groups of a two-variable layout (<c>orgs/{org}/uploads/{asset}/</c>), through
/// <c>sweep --dry-run</c> and <c>sweep</c>: the gate's re-check asks the catalog about up to 1000 groups at once,
/// which must not grow the query's expression tree (SQLite refuses one deeper than 1000). On a folder + SQLite, on
/// S3 (s3rver) + PostgreSQL and on a folder + MariaDB.
/// </summary>
public abstract class RecheckScaleScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private const int Referenced = 40;

    private readonly TBackend _backend = new();

    public Task InitializeAsync() => _backend.InitializeAsync();

    public Task DisposeAsync() => _backend.DisposeAsync();

    private static string Key(int i) => $"orgs/o{i % 10}/uploads/a{i}/v.mp4";

    [Theory]
    [InlineData(1000)]
    [InlineData(5000)]
    public async Task Sweep_ThousandsOfOrphanGroups_OfATwoVariableLayout_AreRemoved_AndTheReferencedOnesKept(int orphans)
    {
        await _backend.ExecuteSqlAsync($"CREATE TABLE media_assets (id {_backend.KeyText} NOT NULL, org_id {_backend.KeyText} NOT NULL, PRIMARY KEY (org_id, id))");
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES " +
            string.Join(", ", Enumerable.Range(0, Referenced).Select(i => $"('a{i}', 'o{i % 10}')")));
        _backend.WriteConfig("""
              - name: orphan-uploads
                type: orphans
                store: media
                layout: "orgs/{org}/uploads/{asset}/"
                references:
                  catalog: app
                  query: "SELECT org_id AS org, id AS asset FROM media_assets"
                min_age: 24h
                action: delete
            """, "guards:\n  max_delete_fraction: 1");
        var keys = Enumerable.Range(0, Referenced + orphans).Select(Key).ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, _) => await _backend.PutAsync(key, Encoding.UTF8.GetBytes(key)));
        var clock = new ManualClock((await _backend.ListAllAsync()).Max(o => o.LastModified) + TimeSpan.FromDays(2));

        var dry = await _backend.CliAsync(clock, "sweep", "--dry-run");

        dry.ExitCode.Should().Be(0, dry.ToString());
        dry.Json.GetProperty("objects_done").GetInt64().Should().Be(orphans);
        (await _backend.KeysAsync()).Should().HaveCount(keys.Count, "a dry run touches nothing");

        // A row committed after the plan is found by the re-check among a thousand groups, and saves its group.
        var planPath = Path.Combine(_backend.Dir, "plan.json");
        (await _backend.CliAsync(clock, "plan", "-o", planPath)).ExitCode.Should().Be(0);
        var late = Referenced + (orphans / 2);
        await _backend.ExecuteSqlAsync($"INSERT INTO media_assets (id, org_id) VALUES ('a{late}', 'o{late % 10}')");
        var apply = await _backend.CliAsync(clock, "apply", planPath, "--yes");

        apply.ExitCode.Should().Be(0, apply.ToString());
        apply.Json.GetProperty("objects_done").GetInt64().Should().Be(orphans - 1);
        (await _backend.KeysAsync()).Should().BeEquivalentTo(Enumerable.Range(0, Referenced).Append(late).Select(Key));

        // And a sweep of what is left finds nothing more to do.
        var sweep = await _backend.CliAsync(clock, "sweep", "--yes");
        sweep.ExitCode.Should().Be(0, sweep.ToString());
        sweep.Json.GetProperty("objects_done").GetInt64().Should().Be(0);
    }
}

public sealed class FolderSqliteRecheckScaleScenarios : RecheckScaleScenarios<FolderSqliteBackend>;

public sealed class S3PostgresRecheckScaleScenarios : RecheckScaleScenarios<S3PostgresBackend>;

public sealed class FolderMariaDbRecheckScaleScenarios : RecheckScaleScenarios<FolderMariaDbBackend>;
