using System.Text;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// The retention and records policies end to end through the real command line, on a folder + SQLite, on
/// S3 (s3rver) + PostgreSQL and on a folder + MariaDB.
/// </summary>
public abstract class RetentionAndRecordsScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private readonly TBackend _backend = new();
    private ManualClock _clock = new();

    public Task InitializeAsync() => _backend.InitializeAsync();

    public Task DisposeAsync() => _backend.DisposeAsync();

    private static byte[] Content(string key) => Encoding.UTF8.GetBytes($"content of {key}");

    /// <summary>Uploads <paramref name="old"/>, waits past a second boundary, uploads <paramref name="young"/>; the clock then makes exactly the old ones <paramref name="age"/> old.</summary>
    private async Task SeedAsync(IEnumerable<string> old, IEnumerable<string> young, TimeSpan age)
    {
        foreach (var key in old)
        {
            await _backend.PutAsync(key, Content(key));
        }

        var oldNewest = (await _backend.ListAllAsync()).Max(o => o.LastModified);
        await Task.Delay(1200);
        foreach (var key in young)
        {
            await _backend.PutAsync(key, Content(key));
        }

        _clock = new ManualClock(oldNewest + age);
    }

    [Fact]
    public async Task Retention_RemovesOldGroups_ExceptThoseTheKeepQueryRendersTo()
    {
        await _backend.ExecuteSqlAsync($"CREATE TABLE clips (id {_backend.KeyText} PRIMARY KEY, status TEXT NOT NULL)");
        await _backend.ExecuteSqlAsync("INSERT INTO clips (id, status) VALUES ('c1', 'completed'), ('c2', 'failed'), ('c3', 'completed')");
        _backend.WriteConfig("""
              - name: expire-clips
                type: retention
                store: media
                layout: "clips/{clip}/"
                max_age: 5d
                keep:
                  catalog: app
                  query: "SELECT id AS clip FROM clips WHERE status = 'completed'"
                action: delete
            """, """
            guards:
              max_delete_fraction: 0.9
            """);
        string[] old = ["clips/c1/final.mp4", "clips/c2/final.mp4", "clips/c4/final.mp4", "clips/c4/thumb.jpg", "audio/c2.wav"];
        string[] young = ["clips/c5/final.mp4"];
        await SeedAsync(old, young, TimeSpan.FromDays(5));

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(["clips/c1/final.mp4", "clips/c5/final.mp4", "audio/c2.wav"]);
    }

    [Fact]
    public async Task Retention_EmptyKeepQuery_RefusedByTheTopLevelOptIn_UnlessThePolicyOwnGuardsAllowIt()
    {
        await _backend.ExecuteSqlAsync($"CREATE TABLE jobs (id {_backend.KeyText} PRIMARY KEY, status TEXT NOT NULL)");
        await _backend.ExecuteSqlAsync("INSERT INTO jobs (id, status) VALUES ('j1', 'finished')");
        string Policy(string guards) => $"""
              - name: temp-uploads
                type: retention
                store: media
                layout: "uploads/{"{job}"}/"
                max_age: 1h
                keep:
                  catalog: app
                  query: "SELECT id AS job FROM jobs WHERE status = 'processing'"
                action: delete
            {guards}
            """;
        _backend.WriteConfig(Policy(string.Empty), "guards:\n  max_delete_fraction: 1\n  refuse_empty_keep: true");
        await SeedAsync(["uploads/j1/in.mp4", "uploads/j1/audio.wav"], [], TimeSpan.FromHours(2));

        var refused = await _backend.CliAsync(_clock, "sweep", "--yes");
        refused.ExitCode.Should().Be(3, refused.ToString());
        refused.Stdout.Should().Contain("refuse_empty_keep");
        (await _backend.KeysAsync()).Should().HaveCount(2);

        _backend.WriteConfig(Policy("    guards:\n      refuse_empty_keep: false"), "guards:\n  max_delete_fraction: 1\n  refuse_empty_keep: true");
        var allowed = await _backend.CliAsync(_clock, "sweep", "--yes");

        allowed.ExitCode.Should().Be(0, allowed.ToString());
        (await _backend.KeysAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Retention_KeepRowAddedAfterThePlan_SavesItsGroup()
    {
        await _backend.ExecuteSqlAsync($"CREATE TABLE clips (id {_backend.KeyText} PRIMARY KEY, status TEXT NOT NULL)");
        await _backend.ExecuteSqlAsync("INSERT INTO clips (id, status) VALUES ('c1', 'completed')");
        _backend.WriteConfig("""
              - name: expire-clips
                type: retention
                store: media
                layout: "clips/{clip}.mp4"
                max_age: 5d
                keep:
                  catalog: app
                  query: "SELECT id AS clip FROM clips WHERE status = 'completed'"
                action: delete
            """, """
            guards:
              max_delete_fraction: 0.9
            """);
        await SeedAsync(["clips/c1.mp4", "clips/c2.mp4", "clips/c3.mp4"], [], TimeSpan.FromDays(6));
        var planPath = Path.Combine(_backend.Dir, "plan.json");
        (await _backend.CliAsync(_clock, "plan", "-o", planPath)).ExitCode.Should().Be(0);
        await _backend.ExecuteSqlAsync("INSERT INTO clips (id, status) VALUES ('c2', 'completed')");

        var apply = await _backend.CliAsync(_clock, "apply", planPath, "--yes");

        apply.ExitCode.Should().Be(0, apply.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(["clips/c1.mp4", "clips/c2.mp4"]);
    }

    [Fact]
    public async Task Records_RemoveEachRowsObjects_ThenRunItsAfter_AndSkipNullColumns()
    {
        await _backend.ExecuteSqlAsync("CREATE TABLE sessions (id INTEGER PRIMARY KEY, status TEXT NOT NULL, audio_path TEXT, processed_path TEXT)");
        await _backend.ExecuteSqlAsync("""
            INSERT INTO sessions (id, status, audio_path, processed_path) VALUES
              (1, 'completed', 'uploads/audio/a1.mp3', 'uploads/audio/a1_processed.mp3'),
              (2, 'failed',    'uploads/audio/a2.mp3', 'uploads/audio/a2_processed.mp3'),
              (3, 'failed',    NULL,                   NULL),
              (4, 'failed',    'uploads/audio/a4.mp3', NULL)
            """);
        _backend.WriteConfig("""
              - name: failed-sessions
                type: records
                catalog: app
                query: "SELECT id, audio_path AS file, processed_path AS processed FROM sessions WHERE status = 'failed'"
                scope: "SELECT id FROM sessions"
                store: media
                objects: ["{file}", "{processed}"]
                after: "DELETE FROM sessions WHERE id = @id"
                action: delete
            """, """
            guards:
              max_delete_fraction: 0.9
            """);
        await SeedAsync(["uploads/audio/a1.mp3", "uploads/audio/a1_processed.mp3", "uploads/audio/a2.mp3", "uploads/audio/a2_processed.mp3", "uploads/audio/a4.mp3", "uploads/audio/other.mp3"], [], TimeSpan.FromDays(8));

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(["uploads/audio/a1.mp3", "uploads/audio/a1_processed.mp3", "uploads/audio/other.mp3"]);
        var rerun = await _backend.CliAsync(_clock, "plan");
        rerun.Json.GetProperty("policies")[0].GetProperty("totals").GetProperty("groups_orphaned").GetInt64().Should().Be(0, "every failed session's after statement ran");
        var runId = sweep.Json.GetProperty("run").GetProperty("id").GetString()!;
        var actions = (await _backend.CliAsync(_clock, "runs", "show", runId)).Json.GetProperty("actions").EnumerateArray().ToList();
        actions.Where(a => a.GetProperty("kind").GetString() == "after").Should().HaveCount(3)
            .And.OnlyContain(a => a.GetProperty("outcome").GetString() == "done");
        actions.Where(a => a.GetProperty("kind").GetString() == "delete").Select(a => a.GetProperty("key").GetString())
            .Should().BeEquivalentTo(["uploads/audio/a2.mp3", "uploads/audio/a2_processed.mp3", "uploads/audio/a4.mp3"]);
    }

    [Fact]
    public async Task Records_RowWhoseObjectsWereRemovedBeforeACrash_GetsItsAfterOnTheNextRun()
    {
        await _backend.ExecuteSqlAsync("CREATE TABLE sessions (id INTEGER PRIMARY KEY, status TEXT NOT NULL, audio_path TEXT)");
        await _backend.ExecuteSqlAsync("INSERT INTO sessions (id, status, audio_path) VALUES (1, 'completed', 'u/a1.mp3'), (2, 'failed', 'u/a2.mp3')");
        _backend.WriteConfig("""
              - name: failed-sessions
                type: records
                catalog: app
                query: "SELECT id, audio_path AS file FROM sessions WHERE status = 'failed'"
                store: media
                objects: "{file}"
                after: "DELETE FROM sessions WHERE id = @id"
                action: delete
            """);
        await SeedAsync(["u/a1.mp3", "u/a2.mp3"], [], TimeSpan.FromDays(8));
        // The crash: the object went, the row stayed.
        (await _backend.Store.DeleteAsync(["u/a2.mp3"], CancellationToken.None)).Should().BeEmpty();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(["u/a1.mp3"]);
        var plan = await _backend.CliAsync(_clock, "plan");
        plan.Json.GetProperty("policies")[0].GetProperty("totals").GetProperty("groups_orphaned").GetInt64().Should().Be(0);
    }

    [Fact]
    public async Task Records_AfterThatFails_KeepsItsObjectsRecords_AndExitsFour()
    {
        await _backend.ExecuteSqlAsync("CREATE TABLE sessions (id INTEGER PRIMARY KEY, status TEXT NOT NULL, audio_path TEXT)");
        await _backend.ExecuteSqlAsync("INSERT INTO sessions (id, status, audio_path) VALUES (2, 'failed', 'u/a2.mp3')");
        _backend.WriteConfig("""
              - name: failed-sessions
                type: records
                catalog: app
                query: "SELECT id, audio_path AS file FROM sessions WHERE status = 'failed'"
                store: media
                objects: "{file}"
                after: "DELETE FROM no_such_table WHERE id = @id"
                action: delete
            """);
        await SeedAsync(["u/a2.mp3"], [], TimeSpan.FromDays(8));

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(4, sweep.ToString());
        var runId = sweep.Json.GetProperty("run").GetProperty("id").GetString()!;
        var actions = (await _backend.CliAsync(_clock, "runs", "show", runId)).Json.GetProperty("actions").EnumerateArray().ToList();
        actions.Should().Contain(a => a.GetProperty("kind").GetString() == "delete" && a.GetProperty("outcome").GetString() == "done" && a.GetProperty("key").GetString() == "u/a2.mp3");
        actions.Should().Contain(a => a.GetProperty("kind").GetString() == "after" && a.GetProperty("outcome").GetString() == "failed");
    }

    [Fact]
    public async Task Records_TemplateRenderingOutsideTheStore_RefusesWithExit3_AndTouchesNothing()
    {
        await _backend.ExecuteSqlAsync("CREATE TABLE sessions (id INTEGER PRIMARY KEY, status TEXT NOT NULL, audio_path TEXT)");
        await _backend.ExecuteSqlAsync("INSERT INTO sessions (id, status, audio_path) VALUES (1, 'failed', 'u/a1.mp3'), (2, 'failed', '../etc/passwd'), (3, 'failed', '')");
        _backend.WriteConfig("""
              - name: failed-sessions
                type: records
                catalog: app
                query: "SELECT id, audio_path AS file FROM sessions WHERE status = 'failed'"
                store: media
                objects: "{file}"
                after: "DELETE FROM sessions WHERE id = @id"
                action: delete
            """);
        await SeedAsync(["u/a1.mp3"], [], TimeSpan.FromDays(8));
        var before = await _backend.ListAllAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(3, sweep.ToString());
        sweep.Stdout.Should().Contain("../etc/passwd");
        (await _backend.ListAllAsync()).Should().Equal(before);
    }
}

public sealed class FolderSqliteRetentionAndRecordsScenarios : RetentionAndRecordsScenarios<FolderSqliteBackend>;

public sealed class S3PostgresRetentionAndRecordsScenarios : RetentionAndRecordsScenarios<S3PostgresBackend>;

public sealed class FolderMariaDbRetentionAndRecordsScenarios : RetentionAndRecordsScenarios<FolderMariaDbBackend>;
