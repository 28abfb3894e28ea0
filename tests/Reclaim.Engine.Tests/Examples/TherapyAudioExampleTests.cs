using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Examples;

/// <summary>
/// <c>examples/therapy-audio</c> (therapy-audio service) end to end on a folder store, with SQLite (<c>reclaim.yaml</c>) and
/// PostgreSQL (<c>reclaim.postgres.yaml</c>): orphaned recordings
/// older than 24h, failed sessions older than 7 days with both their files and an <c>after</c>; a rerun
/// after a crash, a failing <c>after</c>, and rows whose objects render to something that is not a key.
/// </summary>
public abstract class TherapyAudioExampleTests : IAsyncLifetime
{
    private readonly ExampleSite _site;

    protected TherapyAudioExampleTests(ExampleSite site)
    {
        _site = site;
    }
    private ManualClock _clock = new();

    private bool IsPostgres => _site is FolderPostgresSite;

    private const string Audio = TherapyAudioSample.Audio;

    private const string YoungOrphan = TherapyAudioSample.YoungOrphan;

    private const string Nested = TherapyAudioSample.Nested;

    private static readonly string[] Live = TherapyAudioSample.Live;

    private static readonly string[] OfFailedSessions = TherapyAudioSample.OfFailedSessions;

    private static readonly string[] Orphaned = TherapyAudioSample.Orphaned;

    private static string[] Keys(IEnumerable<string> names) => TherapyAudioSample.Keys(names);

    public async Task InitializeAsync()
    {
        await _site.InitializeAsync();
        _clock = await TherapyAudioSample.SeedAsync(_site);
    }

    public Task DisposeAsync() => _site.DisposeAsync();

    [Fact]
    public async Task Sweep_DeletesOldFailedSessionsWithBothFiles_AndQuarantinesOldOrphans()
    {
        var sweep = await _site.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _site.LiveKeysAsync()).Should().Equal(Keys(Live).Append(Audio + YoungOrphan).Append(Nested).Order(StringComparer.Ordinal));
        (await _site.TrashedKeysAsync()).Should().Equal(Keys(Orphaned), "failed sessions' files are deleted, orphans quarantined");
        (await _site.ColumnAsync("SELECT id FROM sessions")).Should().Equal("s1", "s2", "s5");
        var actions = await _site.ActionsAsync(_clock, sweep);
        actions.Where(a => a.Kind == "delete").Select(a => a.Key).Should().BeEquivalentTo(Keys(OfFailedSessions));
        actions.Where(a => a.Kind == "after").Select(a => (a.Key, a.Outcome))
            .Should().BeEquivalentTo(new[] { ("row id=s3", "done"), ("row id=s4", "done"), ("row id=s6", "done") });
    }

    [Fact]
    public async Task Rerun_AfterACrashBetweenObjectsAndAfter_FinishesTheRow()
    {
        // What a crash leaves: the row's objects are gone, its after never ran.
        var errors = await _site.Store.DeleteAsync(Keys(["s3.mp3", "s3_processed.mp3"]), CancellationToken.None);
        errors.Should().BeEmpty();
        (await _site.ColumnAsync("SELECT id FROM sessions")).Should().Contain("s3");

        var sweep = await _site.CliAsync(_clock, "sweep", "--yes", "--policy", "failed-sessions");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _site.ColumnAsync("SELECT id FROM sessions")).Should().Equal("s1", "s2", "s5");
        var actions = await _site.ActionsAsync(_clock, sweep);
        actions.Should().Contain(("after", "row id=s3", "done"));
        (await _site.LiveKeysAsync()).Should().NotContain(Keys(OfFailedSessions));
    }

    [Fact]
    public async Task AfterThatFails_KeepsItsObjectsRecords_ExitsFour_AndTheOtherRowsGoOn()
    {
        await _site.ExecuteSqlAsync(IsPostgres
            ? """
              CREATE FUNCTION keep_s4() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN
                IF OLD.id = 's4' THEN RAISE EXCEPTION 'session s4 is under legal hold'; END IF;
                RETURN OLD;
              END $$;
              CREATE TRIGGER keep_s4 BEFORE DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION keep_s4();
              """
            : """
              CREATE TRIGGER keep_s4 BEFORE DELETE ON sessions WHEN OLD.id = 's4'
              BEGIN SELECT RAISE(ABORT, 'session s4 is under legal hold'); END;
              """);

        var sweep = await _site.CliAsync(_clock, "sweep", "--yes", "--policy", "failed-sessions");

        sweep.ExitCode.Should().Be(4, sweep.ToString());
        (await _site.ColumnAsync("SELECT id FROM sessions")).Should().Equal("s1", "s2", "s4", "s5");
        (await _site.LiveKeysAsync()).Should().NotContain(Audio + "s4.mp3");
        var actions = await _site.ActionsAsync(_clock, sweep);
        actions.Should().Contain(("delete", Audio + "s4.mp3", "done"), "the object's action is recorded whatever its after does");
        actions.Should().Contain(("after", "row id=s4", "failed"));
        actions.Should().Contain(("after", "row id=s3", "done")).And.Contain(("after", "row id=s6", "done"));
    }

    [Fact]
    public async Task AfterWithAParameterThatIsNotAColumn_IsRefusedClearly_AndNothingIsDeleted()
    {
        _site.EditConfig("WHERE id = @id", "WHERE id = @session_id");
        var before = await _site.ListAllAsync();

        var sweep = await _site.CliAsync(_clock, "sweep", "--yes", "--policy", "failed-sessions");

        sweep.ExitCode.Should().BeOneOf([1, 2], sweep.ToString());
        sweep.Stderr.Should().Contain("session_id");
        (await _site.ListAllAsync()).Should().Equal(before);
        (await _site.ColumnAsync("SELECT id FROM sessions")).Should().HaveCount(6);
    }

    [Theory]
    [InlineData("{file}", "''")]
    [InlineData("{file}", "'../x'")]
    [InlineData("{file}", "'/abs'")]
    [InlineData("uploads/audio/{file}", "''")]
    [InlineData("uploads/audio/{file}", "'../../../x'")]
    [InlineData("uploads/audio/{file}", "'a/../../../x'")]
    public async Task ObjectsThatRenderToAnEmptyKeyOrOutsideTheStore_AreRefusedWithExit3_AndNothingIsDeleted(string template, string value)
    {
        _site.EditConfig("- \"uploads/audio/{file}\"", $"- \"{template}\"");
        _site.EditConfig("SELECT id, audio_file AS file,", $"SELECT id, CASE WHEN id = 's4' THEN {value} ELSE audio_file END AS file,");
        var before = await _site.ListAllAsync();

        var sweep = await _site.CliAsync(_clock, "sweep", "--yes", "--policy", "failed-sessions");

        sweep.ExitCode.Should().Be(3, sweep.ToString());
        sweep.Stdout.Should().Contain("row id=s4");
        (await _site.ListAllAsync()).Should().Equal(before);
        (await _site.ColumnAsync("SELECT id FROM sessions")).Should().HaveCount(6);
    }

}

/// <summary>The example on a folder store and SQLite (its default).</summary>
public sealed class TherapyAudioExampleOnSqliteTests() : TherapyAudioExampleTests(new Site())
{
    private sealed class Site() : FolderSqliteSite("therapy-audio", "therapy.db");
}

/// <summary>The example on a folder store and PostgreSQL (<c>reclaim.postgres.yaml</c>).</summary>
public sealed class TherapyAudioExampleOnPostgresTests() : TherapyAudioExampleTests(new Site())
{
    private sealed class Site() : FolderPostgresSite("therapy-audio", "reclaim.postgres.yaml");
}

/// <summary>The example's sessions and recordings, shared by its CLI and its admin cleanup route tests.</summary>
internal static class TherapyAudioSample
{
    /// <summary>The folder of the recordings.</summary>
    public const string Audio = "uploads/audio/";

    /// <summary>Recordings of live sessions (s1 completed, s2 processing, s5 failed two days ago).</summary>
    public static readonly string[] Live = ["s1.mp3", "s1_processed.mp3", "s2.mp3", "s5.mp3"];

    /// <summary>Recordings of the sessions that failed ten days ago (s3, s4; s6's is gone already).</summary>
    public static readonly string[] OfFailedSessions = ["s3.mp3", "s3_processed.mp3", "s4.mp3"];

    /// <summary>Recordings no session names, a day old.</summary>
    public static readonly string[] Orphaned = ["old-orphan.mp3", "old-orphan_processed.mp3"];

    /// <summary>A recording no session names yet, just uploaded.</summary>
    public const string YoungOrphan = "young-orphan.mp3";

    /// <summary>A file in a sub-folder, outside the layout.</summary>
    public const string Nested = "uploads/audio/tmp/part.mp3";

    /// <summary>The keys of recordings.</summary>
    /// <param name="names">File names.</param>
    /// <returns>Keys under <see cref="Audio"/>.</returns>
    public static string[] Keys(IEnumerable<string> names) => names.Select(n => Audio + n).ToArray();

    /// <summary>Creates the sessions table and the recordings.</summary>
    /// <param name="site">The example's site.</param>
    /// <returns>A clock at which the old recordings are 24 hours old.</returns>
    public static async Task<ManualClock> SeedAsync(ExampleSite site)
    {
        // Session ages are the catalog's own (the query compares with its now); object ages follow the clock.
        await site.ExecuteSqlAsync($"""
            CREATE TABLE sessions (id TEXT PRIMARY KEY, status TEXT NOT NULL, audio_file TEXT, processed_file TEXT, created_at {(site is FolderPostgresSite ? "TIMESTAMPTZ" : "TEXT")} NOT NULL);
            INSERT INTO sessions VALUES
              ('s1', 'completed', 's1.mp3', 's1_processed.mp3', {site.DaysAgo(10)}),
              ('s2', 'processing', 's2.mp3', NULL, {site.DaysAgo(10)}),
              ('s3', 'failed', 's3.mp3', 's3_processed.mp3', {site.DaysAgo(10)}),
              ('s4', 'failed', 's4.mp3', NULL, {site.DaysAgo(10)}),
              ('s5', 'failed', 's5.mp3', NULL, {site.DaysAgo(2)}),
              ('s6', 'failed', 's6.mp3', NULL, {site.DaysAgo(10)});
            """);
        return await site.SeedObjectsAsync([.. Keys(Live), .. Keys(OfFailedSessions), .. Keys(Orphaned), Nested], Keys([YoungOrphan]), TimeSpan.FromHours(24));
    }
}
