using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Examples;

/// <summary>
/// <c>examples/viral-clips</c> (viral-clips app) end to end: three retention policies, on its local config (a folder
/// and SQLite) and on its S3 + PostgreSQL config (s3rver and PostgreSQL, settings in a <c>.env</c> file).
/// </summary>
public abstract class ViralClipsExampleTests<TSite> : IAsyncLifetime
    where TSite : ExampleSite, new()
{
    private static readonly string[] FinishedTemporary =
        ["uploads/j1/source.mp4", "uploads/j1/thumb.jpg", "uploads/j3/source.mp4", "uploads/j6/source.mp4", "audio/j1/audio.wav"];

    private static readonly string[] InProgressTemporary = ["uploads/j2/source.mp4", "uploads/j5/source.mp4", "audio/j2/audio.wav"];

    private const string RecentCompletedClip = "clips/j1/c1.mp4";

    private static readonly string[] ExpiredClips = ["clips/j4/c2.mp4", "clips/j1/c3.mp4"];

    private const string YoungClip = "clips/j2/c4.mp4";

    private const string Stray = "clips/stray.mp4";

    private readonly TSite _site = new();
    private ManualClock _clock = new();

    public async Task InitializeAsync()
    {
        await _site.InitializeAsync();
        _clock = await _site.SeedObjectsAsync(
            [.. FinishedTemporary, .. InProgressTemporary, RecentCompletedClip, .. ExpiredClips, Stray], [YoungClip], TimeSpan.FromDays(5));
        await ViralClipsSample.SeedRowsAsync(_site, _clock.GetUtcNow());
    }

    public Task DisposeAsync() => _site.DisposeAsync();

    [Fact]
    public async Task Sweep_DeletesFinishedJobsTemporaryFiles_AndQuarantinesExpiredClips()
    {
        var sweep = await _site.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _site.LiveKeysAsync()).Should().Equal(InProgressTemporary.Append(RecentCompletedClip).Append(YoungClip).Append(Stray).Order(StringComparer.Ordinal));
        (await _site.TrashedKeysAsync()).Should().Equal(ExpiredClips.Order(StringComparer.Ordinal), "temporary files are deleted, clips quarantined");
        var parts = sweep.Json.GetProperty("parts");
        parts.GetProperty("finished-job-uploads").GetProperty("objects_done").GetInt64().Should().Be(4);
        parts.GetProperty("finished-job-audio").GetProperty("objects_done").GetInt64().Should().Be(1);
        parts.GetProperty("expire-clips").GetProperty("objects_done").GetInt64().Should().Be(2);
        (await _site.ColumnAsync("SELECT id FROM jobs")).Should().HaveCount(5, "retention never writes to the catalog");
    }

    [Fact]
    public async Task Plan_ReportsWhatEachPolicyKeeps_AndChangesNothing()
    {
        var before = await _site.ListAllAsync();

        var plan = await _site.CliAsync(_clock, "plan");

        plan.ExitCode.Should().Be(0, plan.ToString());
        var clips = plan.Json.GetProperty("policies").EnumerateArray().Single(p => p.GetProperty("policy").GetString() == "expire-clips").GetProperty("totals");
        clips.GetProperty("groups_referenced").GetInt64().Should().Be(1);
        clips.GetProperty("groups_too_young").GetInt64().Should().Be(1);
        clips.GetProperty("groups_orphaned").GetInt64().Should().Be(2);
        (await _site.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task KeepQueryWithNoRows_IsNormal_AndEveryExpiredTemporaryFolderGoes()
    {
        // No job in progress: the upload and audio keep queries are empty, which is what an idle service looks like.
        await _site.ExecuteSqlAsync("UPDATE jobs SET status = 'completed'");

        var sweep = await _site.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _site.LiveKeysAsync()).Should().Equal(new[] { RecentCompletedClip, YoungClip, Stray }.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task KeepQueryWithNoRows_WithThePolicysOptIn_RefusesThatPolicyAlone()
    {
        await _site.ExecuteSqlAsync("UPDATE jobs SET status = 'completed'");
        _site.EditConfig("    action: delete\n  - name: finished-job-audio", "    action: delete\n    guards: {refuse_empty_keep: true}\n  - name: finished-job-audio");

        var sweep = await _site.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(3, sweep.ToString());
        sweep.Stderr.Should().Contain("policy 'finished-job-uploads': refuse_empty_keep");
        var live = await _site.LiveKeysAsync();
        live.Should().Contain(FinishedTemporary.Concat(InProgressTemporary).Where(k => k.StartsWith("uploads/", StringComparison.Ordinal)), "the refused policy touched nothing");
        live.Should().NotContain(k => k.StartsWith("audio/", StringComparison.Ordinal), "the other policies ran");
    }

    [Fact]
    public async Task MaxAgeOfZero_IsAConfigError_Exit2()
    {
        _site.EditConfig("max_age: 5d", "max_age: 0");
        var before = await _site.ListAllAsync();

        var sweep = await _site.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(2, sweep.ToString());
        sweep.Stderr.Should().Contain("max_age");
        (await _site.ListAllAsync()).Should().Equal(before);
    }
}

/// <summary>The example's catalog rows, shared by its CLI and its bulk cleanup route tests.</summary>
internal static class ViralClipsSample
{
    /// <summary>
    /// The jobs and clips rows, their times relative to <paramref name="now"/> (the clock the command sees: the keep
    /// query compares with its @cutoff, the run's start minus max_age).
    /// </summary>
    /// <param name="site">The example's site.</param>
    /// <param name="now">The clock's time.</param>
    /// <returns>A task.</returns>
    public static Task SeedRowsAsync(ExampleSite site, DateTimeOffset now)
    {
        var time = site is S3PostgresSite ? "TIMESTAMPTZ" : "TEXT";
        string DaysAgo(int days) => site.Timestamp(now.AddDays(-days));
        return site.ExecuteSqlAsync($"""
            CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at {time} NOT NULL);
            CREATE TABLE clips (id TEXT PRIMARY KEY, job_id TEXT NOT NULL, filename TEXT NOT NULL, status TEXT NOT NULL, created_at {time} NOT NULL);
            INSERT INTO jobs VALUES
              ('j1', 'completed', {DaysAgo(6)}),
              ('j2', 'processing', {DaysAgo(6)}),
              ('j3', 'failed', {DaysAgo(6)}),
              ('j4', 'completed', {DaysAgo(10)}),
              ('j5', 'queued', {DaysAgo(6)});
            INSERT INTO clips VALUES
              ('c1', 'j1', 'c1.mp4', 'completed', {DaysAgo(1)}),
              ('c2', 'j4', 'c2.mp4', 'completed', {DaysAgo(10)}),
              ('c3', 'j1', 'c3.mp4', 'failed', {DaysAgo(1)}),
              ('c4', 'j2', 'c4.mp4', 'rendering', {DaysAgo(0)});
            """);
    }
}

public sealed class ViralClipsFolderSqliteSite() : FolderSqliteSite("viral-clips", "clips.db");

public sealed class ViralClipsS3PostgresSite() : S3PostgresSite("viral-clips", "reclaim.s3.yaml");

public sealed class FolderSqliteViralClipsExampleTests : ViralClipsExampleTests<ViralClipsFolderSqliteSite>;

public sealed class S3PostgresViralClipsExampleTests : ViralClipsExampleTests<ViralClipsS3PostgresSite>;
