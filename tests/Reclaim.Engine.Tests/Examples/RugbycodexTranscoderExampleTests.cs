using System.Diagnostics;
using Npgsql;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Examples;

/// <summary>
/// <c>examples/rugbycodex/transcoder.yaml</c> (the RugbyCodex transcoder's transcoder) end to end: its sample builder against
/// PostgreSQL, s3rver and a temporary working folder, then one sweep as its operators run it. The working folders
/// go by age except those of jobs still running, a failed job's at once; the partial HLS output of a transcode
/// that only failed goes to quarantine, and nothing else in the bucket moves.
/// </summary>
[Collection(ProcessEnvironmentCollection.Name)]
public sealed class RugbycodexTranscoderExampleTests : IAsyncLifetime
{
    private static readonly string[] JobFiles = ["input.mp4", "hls/index.m3u8", "hls/seg_000.ts", "hls/seg_001.ts"];

    private static readonly string[] AssetFiles = ["raw/match.mp4", "streaming/index.m3u8", "streaming/seg_000.ts", "thumbnail.jpg"];

    private readonly string _dir = Directory.CreateTempSubdirectory("reclaim-transcoder-").FullName;
    private PostgresDatabase? _database;
    private TestBucket? _s3;

    private string Scratch => Path.Combine(_dir, "transcode");

    private static string Config => Path.Combine(TestEnvironment.RepositoryRoot, "examples", "rugbycodex", "transcoder.yaml");

    public async Task InitializeAsync()
    {
        _database = await PostgresDatabase.CreateAsync();
        _s3 = await TestBucket.CreateAsync("transcoder");
    }

    public async Task DisposeAsync()
    {
        await _database!.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Sweep_CleansOldAndFailedWorkingFolders_KeepsRunningJobs_QuarantinesOnlyFailedHlsOutput()
    {
        await WithExampleEnvironmentAsync(async () =>
        {
            await BuildSampleAsync();
            var clock = new ManualClock(DateTimeOffset.UtcNow);

            var validate = await CliRun.RunAsync(clock, "validate", "-c", Config, "--format", "json");
            var sweep = await CliRun.RunAsync(clock, "sweep", "--yes", "-c", Config, "--format", "json");

            validate.ExitCode.Should().Be(0, validate.ToString());
            sweep.ExitCode.Should().Be(0, sweep.ToString());
            Directory.EnumerateDirectories(Scratch).Select(Path.GetFileName).Order(StringComparer.Ordinal)
                .Should().Equal(["job-fresh", "job-running"], "old, unknown and failed jobs' folders go; a running job's (8 hours old) and a fresh one stay");
            foreach (var job in new[] { "job-fresh", "job-running" })
            {
                JobFiles.Should().OnlyContain(f => File.Exists(Path.Combine(Scratch, job, f)), "{0} is kept whole", job);
            }

            File.Exists(Path.Combine(Scratch, "ffmpeg-report.log")).Should().BeTrue("a file outside a job folder never matches the layout");
            var keys = await BucketKeysAsync();
            var live = keys.Where(k => !k.StartsWith(".reclaim-trash/", StringComparison.Ordinal)).ToList();
            live.Should().BeEquivalentTo(
                AssetFiles.Select(f => $"orgs/rc/uploads/a-done/{f}")
                    .Concat(AssetFiles.Select(f => $"orgs/rc/uploads/a-retried/{f}"))
                    .Concat(["orgs/rc/uploads/a-failed/raw/match.mp4", "orgs/rc/uploads/a-failed/thumbnail.jpg"]),
                "only the failed transcode's streaming/ output leaves the bucket");
            keys.Where(k => k.StartsWith(".reclaim-trash/", StringComparison.Ordinal)).Select(k => k.Split('/', 3)[2]).Order(StringComparer.Ordinal)
                .Should().Equal(["orgs/rc/uploads/a-failed/streaming/index.m3u8", "orgs/rc/uploads/a-failed/streaming/seg_000.ts"], "the bucket's removals are restorable");
            var parts = sweep.Json.GetProperty("parts");
            parts.GetProperty("transcode-scratch").GetProperty("objects_done").GetInt64().Should().Be(2 * JobFiles.Length, "job-done and job-unknown, by age");
            parts.GetProperty("failed-transcode-scratch").GetProperty("objects_done").GetInt64().Should().Be(JobFiles.Length);
            parts.GetProperty("failed-transcode-hls").GetProperty("objects_done").GetInt64().Should().Be(2);
        });
    }

    [Fact]
    public async Task Sweep_AJobThatIsRetried_KeepsItsWorkingFolder_AndTheHlsOfItsAsset()
    {
        await WithExampleEnvironmentAsync(async () =>
        {
            await BuildSampleAsync();
            await _database!.ExecuteAsync("""
                UPDATE transcode_jobs SET status = 'processing', updated_at = now() WHERE id = 'job-failed';
                """);
            var clock = new ManualClock(DateTimeOffset.UtcNow);

            var sweep = await CliRun.RunAsync(clock, "sweep", "--yes", "-c", Config, "--format", "json");

            sweep.ExitCode.Should().Be(0, sweep.ToString());
            JobFiles.Should().OnlyContain(f => File.Exists(Path.Combine(Scratch, "job-failed", f)), "a job transcoding again keeps its folder");
            (await BucketKeysAsync()).Should().Contain(AssetFiles.Select(f => $"orgs/rc/uploads/a-failed/{f}"), "its asset is being transcoded again");
        });
    }

    /// <summary>Runs the example's sample builder with the test's database, bucket and working folder.</summary>
    private async Task BuildSampleAsync()
    {
        var script = new ProcessStartInfo("bash", [Path.Combine(TestEnvironment.RepositoryRoot, "examples", "rugbycodex", "build-transcoder-sample.sh")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var (name, value) in Environment())
        {
            script.Environment[name] = value;
        }

        using var process = Process.Start(script)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        process.ExitCode.Should().Be(0, $"{output}\n{await error}");
    }

    private async Task<List<string>> BucketKeysAsync()
    {
        using var s3 = _s3!.CreateClient();
        return (await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = _s3!.Name })).S3Objects.Select(o => o.Key).ToList();
    }

    private Dictionary<string, string> Environment()
    {
        var builder = new NpgsqlConnectionStringBuilder(_database!.ConnectionString);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DATABASE_URL"] = $"postgresql://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}",
            ["BUCKET_NAME"] = _s3!.Name,
            ["WASABI_ENDPOINT"] = _s3!.EndpointText,
            ["WASABI_KEY"] = TestEnvironment.S3rverAccessKey,
            ["WASABI_SECRET"] = TestEnvironment.S3rverSecretKey,
            ["WASABI_PATH_STYLE"] = "true",
            ["WASABI_CHUNK_ENCODING"] = "false",
            ["TRANSCODE_DIR"] = Scratch,
            ["RECLAIM_STATE"] = Path.Combine(_dir, "state.db"),
        };
    }

    /// <summary>
    /// Sets the variables the example's config reads for the duration of <paramref name="body"/> (every test in this
    /// process shares the environment, and other examples read DATABASE_URL too), then puts the old values back.
    /// </summary>
    private async Task WithExampleEnvironmentAsync(Func<Task> body)
    {
        var values = Environment();
        var previous = values.Keys.ToDictionary(name => name, System.Environment.GetEnvironmentVariable, StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            System.Environment.SetEnvironmentVariable(name, value);
        }

        try
        {
            await body();
        }
        finally
        {
            foreach (var (name, value) in previous)
            {
                System.Environment.SetEnvironmentVariable(name, value);
            }
        }
    }
}
