using System.Text;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// Guards per policy, meant for the query kind, end to end through the real command line: a refused policy is
/// refused alone and the others run (exit 3), an idle keep query is normal, a tiny population is judged by
/// <c>max_delete_count</c> only; and a sweep whose planning fails is recorded as failed with its error. On a
/// folder + SQLite, on S3 (s3rver) + PostgreSQL and on a folder + MariaDB.
/// </summary>
public abstract class GuardScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private readonly TBackend _backend = new();
    private ManualClock _clock = new();

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        await _backend.ExecuteSqlAsync($"CREATE TABLE media_assets (id {_backend.KeyText} NOT NULL, org_id {_backend.KeyText} NOT NULL, PRIMARY KEY (org_id, id))");
        await _backend.ExecuteSqlAsync($"CREATE TABLE jobs (id {_backend.KeyText} PRIMARY KEY, status TEXT NOT NULL)");
    }

    public Task DisposeAsync() => _backend.DisposeAsync();

    private static byte[] Content(string key) => Encoding.UTF8.GetBytes($"content of {key}");

    /// <summary>Writes the objects, then sets the clock two days past the newest, so every object is old.</summary>
    private async Task SeedAsync(IEnumerable<string> keys)
    {
        foreach (var key in keys)
        {
            await _backend.PutAsync(key, Content(key));
        }

        _clock = new ManualClock((await _backend.ListAllAsync()).Max(o => o.LastModified) + TimeSpan.FromDays(2));
    }

    private const string Uploads = """
          - name: orphan-uploads
            type: orphans
            store: media
            layout: "orgs/{org}/uploads/{asset}/"
            references:
              catalog: app
              query: "SELECT org_id AS org, id AS asset FROM media_assets"
            min_age: 24h
            action: delete
        """;

    /// <summary>A policy whose references query is empty: refused by <c>refuse_empty_references</c>.</summary>
    private const string Thumbs = """
          - name: orphan-thumbs
            type: orphans
            store: media
            layout: "thumbs/{asset}.jpg"
            references:
              catalog: app
              query: "SELECT id AS asset FROM media_assets WHERE 1 = 0"
            min_age: 24h
            action: delete
        """;

    private static string TempUploads(string guards = "") => $$"""
          - name: temp-uploads
            type: retention
            store: media
            layout: "tmp/{job}/"
            max_age: 1h
            keep:
              catalog: app
              query: "SELECT id AS job FROM jobs WHERE status = 'processing'"
            action: delete
        {{guards}}
        """;

    private static readonly string[] LiveUploads = ["orgs/o1/uploads/a1/v.mp4", "orgs/o1/uploads/a2/v.mp4", "orgs/o2/uploads/b1/v.mp4"];
    private static readonly string[] OrphanUploads = ["orgs/o1/uploads/gone/v.mp4", "orgs/o1/uploads/gone/thumb.jpg"];
    private static readonly string[] ThumbKeys = ["thumbs/a1.jpg", "thumbs/a2.jpg", "thumbs/b1.jpg"];

    private async Task SeedUploadsAndThumbsAsync()
    {
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('a1', 'o1'), ('a2', 'o1'), ('b1', 'o2')");
        await SeedAsync([.. LiveUploads, .. OrphanUploads, .. ThumbKeys]);
    }

    [Fact]
    public async Task Sweep_OnePolicyRefused_IsRefusedAlone_TheOtherRuns_AndTheExitCodeIs3()
    {
        _backend.WriteConfig(Uploads + "\n" + Thumbs, "guards:\n  max_delete_fraction: 0.5");
        await SeedUploadsAndThumbsAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(3, sweep.ToString());
        var keys = await _backend.KeysAsync();
        keys.Should().BeEquivalentTo([.. LiveUploads, .. ThumbKeys], "the good policy ran; the refused one touched nothing");
        sweep.Stderr.Should().Contain("refused: policy 'orphan-thumbs': refuse_empty_references");
        var run = sweep.Json.GetProperty("run");
        run.GetProperty("status").GetString().Should().Be("refused");
        var summary = run.GetProperty("summary");
        summary.GetProperty("refused").EnumerateArray().Select(r => r.GetString()).Should().ContainSingle()
            .Which.Should().StartWith("policy 'orphan-thumbs': refuse_empty_references");
        summary.GetProperty("parts").GetProperty("orphan-uploads").GetProperty("objects_done").GetInt64().Should().Be(OrphanUploads.Length);
        summary.GetProperty("parts").GetProperty("orphan-thumbs").GetProperty("refused").GetArrayLength().Should().Be(1);

        // The history says the same.
        var runs = await _backend.CliAsync(_clock, "runs");
        var recorded = runs.Json.EnumerateArray().Single(r => r.GetProperty("id").GetString() == run.GetProperty("id").GetString());
        recorded.GetProperty("status").GetString().Should().Be("refused");
        recorded.GetProperty("summary").GetProperty("objects_done").GetInt64().Should().Be(OrphanUploads.Length);
    }

    [Fact]
    public async Task SweepDryRun_OnePolicyRefused_ChecksTheOther_Exits3_AndTouchesNothing()
    {
        _backend.WriteConfig(Uploads + "\n" + Thumbs, "guards:\n  max_delete_fraction: 0.5");
        await SeedUploadsAndThumbsAsync();
        var before = await _backend.ListAllAsync();

        var dry = await _backend.CliAsync(_clock, "sweep", "--dry-run");

        dry.ExitCode.Should().Be(3, dry.ToString());
        dry.Json.GetProperty("parts").GetProperty("orphan-uploads").GetProperty("objects_done").GetInt64().Should().Be(OrphanUploads.Length, "the dry run counts what the good policy would remove");
        (await _backend.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task Apply_PlanWithOneRefusedPolicy_AppliesTheOther_AndExits3()
    {
        _backend.WriteConfig(Uploads + "\n" + Thumbs, "guards:\n  max_delete_fraction: 0.5");
        await SeedUploadsAndThumbsAsync();
        var planPath = Path.Combine(_backend.Dir, "plan.json");
        (await _backend.CliAsync(_clock, "plan", "-o", planPath)).ExitCode.Should().Be(3, "plan reports any refusal");

        var apply = await _backend.CliAsync(_clock, "apply", planPath, "--yes");

        apply.ExitCode.Should().Be(3, apply.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo([.. LiveUploads, .. ThumbKeys]);
    }

    [Fact]
    public async Task Sweep_EveryPolicyRefused_IsRecordedAsRefused_AndTouchesNothing()
    {
        _backend.WriteConfig(Thumbs, "guards:\n  max_delete_fraction: 0.5");
        await SeedUploadsAndThumbsAsync();
        var before = await _backend.ListAllAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(3, sweep.ToString());
        sweep.Stderr.Should().Contain("nothing was touched");
        (await _backend.ListAllAsync()).Should().Equal(before);
        var runs = await _backend.CliAsync(_clock, "runs");
        runs.Json.EnumerateArray().Should().ContainSingle().Which.GetProperty("status").GetString().Should().Be("refused");
    }

    [Fact]
    public async Task Sweep_RetentionWithAnIdleKeepQuery_RemovesExpiredGroups()
    {
        // No job in progress: the keep query is empty, which is normal; max_age alone decides.
        await _backend.ExecuteSqlAsync("INSERT INTO jobs (id, status) VALUES ('j1', 'completed'), ('j2', 'failed')");
        _backend.WriteConfig(TempUploads(), "guards:\n  max_delete_fraction: 1");
        await SeedAsync(["tmp/j1/in.mp4", "tmp/j1/audio.wav", "tmp/j2/in.mp4", "keep/me.txt"]);

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(["keep/me.txt"]);
    }

    [Fact]
    public async Task Sweep_RetentionWithAnIdleKeepQuery_IsRefusedWhenThePolicyOptsIn()
    {
        await _backend.ExecuteSqlAsync("INSERT INTO jobs (id, status) VALUES ('j1', 'completed')");
        _backend.WriteConfig(TempUploads("    guards:\n      refuse_empty_keep: true"), "guards:\n  max_delete_fraction: 1");
        await SeedAsync(["tmp/j1/in.mp4", "tmp/j1/audio.wav"]);
        var before = await _backend.ListAllAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(3, sweep.ToString());
        sweep.Stdout.Should().Contain("refuse_empty_keep").And.Contain("the keep query returned no rows");
        (await _backend.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task Sweep_IdleRetentionNextToARefusedOrphansPolicy_RunsAlone()
    {
        await _backend.ExecuteSqlAsync("INSERT INTO jobs (id, status) VALUES ('j1', 'completed')");
        _backend.WriteConfig(Thumbs + "\n" + TempUploads(), "guards:\n  max_delete_fraction: 1");
        await SeedAsync(["tmp/j1/in.mp4", .. ThumbKeys]);

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(3, sweep.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(ThumbKeys);
    }

    [Fact]
    public async Task Sweep_PopulationOfOneGroup_IsNotRefusedByTheShare()
    {
        // One stale upload of one: 100 % of the groups, but one group says nothing about the catalog.
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('elsewhere', 'o9')");
        _backend.WriteConfig(Uploads);
        await SeedAsync(["orgs/o1/uploads/gone/v.mp4"]);

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _backend.KeysAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Sweep_PopulationAtTheMinimum_IsJudgedByTheShare()
    {
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('a0', 'o1')");
        _backend.WriteConfig(Uploads, "guards:\n  min_groups_for_fraction: 3");
        await SeedAsync(["orgs/o1/uploads/a0/v.mp4", "orgs/o1/uploads/gone1/v.mp4", "orgs/o1/uploads/gone2/v.mp4"]);
        var before = await _backend.ListAllAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(3, sweep.ToString());
        sweep.Stdout.Should().Contain("max_delete_fraction").And.Contain("2 of 3 groups");
        (await _backend.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task Sweep_WhosePlanningFails_IsRecordedAsFailedWithTheError()
    {
        _backend.WriteConfig(Uploads.Replace("id AS asset FROM media_assets", "idd AS asset FROM media_assets", StringComparison.Ordinal));
        await SeedUploadsAndThumbsAsync();
        var before = await _backend.ListAllAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(1, sweep.ToString());
        (await _backend.ListAllAsync()).Should().Equal(before);
        var runs = await _backend.CliAsync(_clock, "runs");
        runs.ExitCode.Should().Be(0, runs.ToString());
        var run = runs.Json.EnumerateArray().Should().ContainSingle().Subject;
        run.GetProperty("status").GetString().Should().Be("failed");
        run.GetProperty("kind").GetString().Should().Be("sweep");
        run.GetProperty("policies").EnumerateArray().Select(p => p.GetString()).Should().Equal("orphan-uploads");
        run.GetProperty("summary").GetProperty("error").GetString().Should().Contain("catalog 'app'").And.Contain("idd");
    }

    [Fact]
    public async Task SweepDryRun_WhosePlanningFails_IsRecordedAsAFailedDryRun()
    {
        _backend.WriteConfig(Uploads.Replace("id AS asset FROM media_assets", "idd AS asset FROM media_assets", StringComparison.Ordinal));
        await SeedUploadsAndThumbsAsync();
        var before = await _backend.ListAllAsync();

        var dry = await _backend.CliAsync(_clock, "sweep", "--dry-run");

        dry.ExitCode.Should().Be(1, dry.ToString());
        (await _backend.ListAllAsync()).Should().Equal(before);
        var runs = await _backend.CliAsync(_clock, "runs");
        var run = runs.Json.EnumerateArray().Should().ContainSingle("a dry sweep is recorded, as a dry run through the API is").Subject;
        run.GetProperty("dry_run").GetBoolean().Should().BeTrue();
        run.GetProperty("status").GetString().Should().Be("failed");
        run.GetProperty("summary").GetProperty("error").GetString().Should().Contain("idd");
    }
}

public sealed class FolderSqliteGuardScenarios : GuardScenarios<FolderSqliteBackend>;

public sealed class S3PostgresGuardScenarios : GuardScenarios<S3PostgresBackend>;

public sealed class FolderMariaDbGuardScenarios : GuardScenarios<FolderMariaDbBackend>;
