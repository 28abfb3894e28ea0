using System.Text;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// Two-sighting confirmation (<c>confirm_after: 1h</c>) end to end: a group orphaned in only one plan survives a sweep,
/// and goes at the first sweep at least the interval after its first sighting. The clock is moved, never waited on. On a
/// folder + SQLite (SQLite state) and on S3 (s3rver) + PostgreSQL (PostgreSQL state).
/// </summary>
public abstract class ConfirmAfterScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private const string Live = "orgs/o1/uploads/a1/raw.mp4";
    private const string Gone = "orgs/o1/uploads/gone/raw.mp4";
    private const string Late = "orgs/o1/uploads/late/raw.mp4";

    private readonly TBackend _backend = new();
    private ManualClock _clock = new();

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        await _backend.ExecuteSqlAsync($"CREATE TABLE media_assets (id {_backend.KeyText} NOT NULL, org_id {_backend.KeyText} NOT NULL)");
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('a1', 'o1')");
        _backend.WriteConfig("""
              - name: orphan-uploads
                type: orphans
                store: media
                layout: "orgs/{org}/uploads/{asset}/"
                references:
                  catalog: app
                  query: "SELECT org_id AS org, id AS asset FROM media_assets"
                min_age: 24h
                confirm_after: 1h
                action: delete
            """, $"""
            guards:
              max_delete_fraction: 0.9
            {_backend.StateYaml}
            """);
        foreach (var key in new[] { Live, Gone, Late })
        {
            await _backend.PutAsync(key, Encoding.UTF8.GetBytes("bytes of " + key));
        }

        _clock = new ManualClock((await _backend.ListAllAsync()).Max(o => o.LastModified) + TimeSpan.FromDays(2));
    }

    public Task DisposeAsync() => _backend.DisposeAsync();

    [Fact]
    public async Task Sweep_GroupOrphanedInOnlyOnePlan_Survives_AndGoesAtTheFirstSweepAfterTheInterval()
    {
        var first = await _backend.CliAsync(_clock, "sweep", "--yes");

        first.ExitCode.Should().Be(0, first.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo([Live, Gone, Late], "a group seen orphaned for the first time is held");

        _clock.Advance(TimeSpan.FromMinutes(59));
        var early = await _backend.CliAsync(_clock, "sweep", "--yes");
        var plan = await _backend.CliAsync(_clock, "plan", "--format", "json");

        early.ExitCode.Should().Be(0, early.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo([Live, Gone, Late], "the first sighting is less than confirm_after old");
        var totals = plan.Json.GetProperty("policies")[0].GetProperty("totals");
        totals.GetProperty("groups_unconfirmed").GetInt64().Should().Be(2);
        totals.GetProperty("groups_orphaned").GetInt64().Should().Be(0);
        plan.Json.GetProperty("policies")[0].GetProperty("warnings")[0].GetString().Should().Contain("held by confirm_after 1h");

        // The late group's row is written meanwhile: it is referenced at the next plan, and its sighting is forgotten.
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('late', 'o1')");
        _clock.Advance(TimeSpan.FromMinutes(1));
        var confirmed = await _backend.CliAsync(_clock, "sweep", "--yes");

        confirmed.ExitCode.Should().Be(0, confirmed.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo([Live, Late], "the group orphaned in a plan an hour before goes");
    }

    [Fact]
    public async Task Sweep_GroupReferencedBetweenTwoPlans_StartsItsSightingOver()
    {
        _ = await _backend.CliAsync(_clock, "plan");
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('late', 'o1')");
        _clock.Advance(TimeSpan.FromMinutes(30));
        _ = await _backend.CliAsync(_clock, "plan");
        await _backend.ExecuteSqlAsync("DELETE FROM media_assets WHERE id = 'late'");
        _clock.Advance(TimeSpan.FromMinutes(45));

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo([Live, Late], "gone was orphaned in a plan 75 minutes before; late only in this one since it was referenced");
    }
}

public sealed class FolderSqliteConfirmAfterScenarios : ConfirmAfterScenarios<FolderSqliteBackend>;

public sealed class S3PostgresConfirmAfterScenarios : ConfirmAfterScenarios<S3PostgresBackend>;
