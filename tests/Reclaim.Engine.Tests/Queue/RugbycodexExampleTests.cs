using System.Diagnostics;
using Npgsql;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Queue;

/// <summary>
/// examples/rugbycodex end to end: its sample-data script against PostgreSQL and s3rver, then its config as a user
/// runs it: the worker drains the cleanup jobs (a thumbnail's job empties only its asset's folder; a live asset's job
/// is never executed), and the orphan audit finds the one lost folder.
/// </summary>
[Collection(ProcessEnvironmentCollection.Name)]
public sealed class RugbycodexExampleTests : IAsyncLifetime
{
    private PostgresDatabase? _database;
    private TestBucket? _s3;
    private readonly string _state = Path.Combine(Directory.CreateTempSubdirectory("reclaim-rugbycodex-").FullName, "state.db");

    public async Task InitializeAsync()
    {
        _database = await PostgresDatabase.CreateAsync();
        _s3 = await TestBucket.CreateAsync("rugbycodex");
    }

    public async Task DisposeAsync()
    {
        await _database!.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(_state)!, recursive: true);
    }

    [Fact]
    public async Task Example_WorkerDrainsJobs_AuditFindsTheLostFolder()
    {
        var builder = new NpgsqlConnectionStringBuilder(_database!.ConnectionString);
        var environment = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = $"postgresql://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}",
            ["BUCKET_NAME"] = _s3!.Name,
            ["WASABI_ENDPOINT"] = _s3!.EndpointText,
            ["WASABI_KEY"] = TestEnvironment.S3rverAccessKey,
            ["WASABI_SECRET"] = TestEnvironment.S3rverSecretKey,
            ["WASABI_PATH_STYLE"] = "true",
            ["WASABI_CHUNK_ENCODING"] = "false",
            ["RECLAIM_STATE"] = _state,
            ["QUEUE_RETRY_DELAY"] = "0s",
        };
        var example = Path.Combine(TestEnvironment.RepositoryRoot, "examples", "rugbycodex");
        var script = new ProcessStartInfo("bash", [Path.Combine(example, "build-sample.sh")]) { RedirectStandardError = true, RedirectStandardOutput = true };
        // The example's config reads these from the environment; set them for this test only, since every
        // test in this process shares the environment (other examples read DATABASE_URL too).
        var previous = environment.Keys.ToDictionary(name => name, Environment.GetEnvironmentVariable);
        foreach (var (name, value) in environment)
        {
            script.Environment[name] = value;
            Environment.SetEnvironmentVariable(name, value);
        }

        try
        {

            using (var process = Process.Start(script)!)
            {
                var error = process.StandardError.ReadToEndAsync();
                var output = await process.StandardOutput.ReadToEndAsync();
                await process.WaitForExitAsync();
                process.ExitCode.Should().Be(0, $"{output}\n{await error}");
            }

            var clock = new ManualClock(DateTimeOffset.UtcNow.AddDays(2));
            var config = Path.Combine(example, "reclaim.yaml");

            var worker = await CliRun.RunAsync(clock, "worker", "--once", "-c", config, "--format", "json");
            var plan = await CliRun.RunAsync(clock, "plan", "--policy", "orphan-folders", "-c", config, "--format", "json");

            worker.ExitCode.Should().Be(4, worker.ToString());
            worker.Json.GetProperty("processed").GetInt32().Should().Be(2);
            worker.Json.GetProperty("failed").GetInt32().Should().Be(2);
            var jobs = new Dictionary<string, string?>(StringComparer.Ordinal);
            await using (var connection = new NpgsqlConnection(_database.ConnectionString))
            {
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT storage_path, error FROM media_cleanup_jobs WHERE processed_at IS NOT NULL", connection);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    jobs[reader.GetString(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
                }
            }

            jobs.Should().HaveCount(4);
            jobs["exports/report.csv"].Should().Contain("outside require_prefix");
            jobs["orgs/rc/uploads/deleted-1/raw/match.mp4"].Should().BeNull();
            jobs["orgs/rc/uploads/deleted-2/thumbnail.jpg"].Should().BeNull();
            jobs["orgs/rc/uploads/live-2/raw/match.mp4"].Should().StartWith("still referenced by policy 'deletion-requests' (references)")
                .And.Contain("'orgs/rc/uploads/live-2/'").And.Contain("after 5 attempts");
            using var s3 = _s3!.CreateClient();
            var keys = (await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = _s3!.Name })).S3Objects.Select(o => o.Key).ToList();
            keys.Should().NotContain(k => k.StartsWith("orgs/rc/uploads/deleted-1/", StringComparison.Ordinal) || k.StartsWith("orgs/rc/uploads/deleted-2/", StringComparison.Ordinal));
            keys.Should().Contain(["orgs/rc/uploads/deleted-10/raw/match.mp4", "orgs/rc/uploads/live-1/raw/match.mp4", "orgs/rc/uploads/lost-1/thumbnail.jpg", "exports/report.csv"]);
            keys.Where(k => k.StartsWith("orgs/rc/uploads/live-2/", StringComparison.Ordinal)).Should().HaveCount(5, "the live asset's job was not executed");
            keys.Should().HaveCount(5 * 5 + 1, "the thumbnail's job emptied deleted-2's folder only, not orgs/rc/uploads/");
            var validate = await CliRun.RunAsync(clock, "validate", "-c", config, "--format", "json");
            validate.Stdout.Should().NotContain("warning", "the example's queue has a layout and references");
            plan.ExitCode.Should().Be(0, plan.ToString());
            plan.Stdout.Should().Contain("orgs/rc/uploads/lost-1/").And.NotContain("orgs/rc/uploads/live-1/");
        }
        finally
        {
            foreach (var (name, value) in previous)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }
}
