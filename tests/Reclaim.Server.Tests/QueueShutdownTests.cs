using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Amazon.S3.Model;
using Microsoft.Data.Sqlite;
using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>
/// SIGTERM to a real <c>reclaim serve</c> while its queue worker is in the middle of a request (objects of one
/// folder being quarantined through a slow S3 proxy) loses nothing: the request is finished before the process
/// exits, or its lease is given back so that the next worker takes it at once rather than after the lease; a run in
/// progress is stopped softly, its sub-batch in flight finished and recorded.
/// </summary>
public sealed class QueueShutdownTests
{
    private const int Objects = 32;
    private const int RunObjects = 200;

    [Fact]
    public async Task Serve_StoppedMidRequest_FinishesItOrReleasesItForTheNextWorker()
    {
        using var folder = new TemporaryFolder("reclaim-serve-stop");
        await ServerHost.SeedAsync(folder);
        var bucket = "serve-stop-" + Guid.NewGuid().ToString("N")[..12];
        var endpoint = await TestS3Service.CreateBucketAsync(bucket);
        var keys = Enumerable.Range(0, Objects).Select(i => $"big/part-{i:D3}.bin").ToList();
        using (var s3 = TestS3Service.CreateClient(endpoint))
        {
            foreach (var key in keys)
            {
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = key });
            }
        }

        // Each S3 call waits 250 ms in the proxy: the request's copies and deletes take seconds, so the stop lands in it.
        await using var proxy = new FaultProxy(endpoint, 0) { Delay = TimeSpan.FromMilliseconds(250) };
        var path = folder.Combine("reclaim.yaml");
        await File.WriteAllTextAsync(path, WithSlowStore(ServerHost.Yaml(extraYaml: """
            own_queue:
              lease: 5m
              concurrency: 1
              batch_size: 1
            """), bucket, proxy));
        var state = $"Data Source={folder.Combine(".reclaim/state.db")};Pooling=false";

        await using var serve = await ServeProcess.StartAsync("a", path);
        using var client = new HttpClient { BaseAddress = serve.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServerHost.Keys["operator"]);
        using var accepted = await client.PostAsJsonAsync("api/v1/deletions", new { store = "slow", prefixes = new[] { "big/" }, action = "quarantine" });
        accepted.StatusCode.Should().Be(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        var id = (await accepted.Content.ReadFromJsonAsync<JsonObject>())!["ids"]!.AsArray().Single()!.GetValue<long>();
        var group = string.Create(CultureInfo.InvariantCulture, $"reclaim:{id}");

        // In the middle: the worker holds the lease and has recorded its intents, and some objects are still pending;
        // the process is frozen (SIGSTOP) there, so that the stop lands in that state however the machine schedules it.
        await Polling.FreezeWhenAsync([serve.ProcessId], async () =>
            await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_actions WHERE group_key = '{group}' AND outcome = 'pending'") > 0
            && await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_queue WHERE id = {id} AND processed_at IS NULL") == 1,
            30, () => $"the worker to be in the middle of request {id}:\n{serve.Output}");

        var exit = await serve.StopFrozenAsync();

        exit.Should().Be(0, serve.Output);
        var processed = await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_queue WHERE id = {id} AND processed_at IS NOT NULL AND error IS NULL") == 1;
        if (!processed)
        {
            // Not finished: then its lease must have been given back, so a worker started now takes it at once.
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            (await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_queue_leases WHERE source = 'reclaim' AND request_id = '{id}' AND lease_until >= {now}"))
                .Should().Be(0, $"an unfinished request's lease is released on stop:\n{serve.Output}");
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var next = await Cli.ReclaimCommandLine.RunAsync(["worker", "--once", "--policy", "reclaim", "-c", path, "--format", "json"], stdout, stderr);
            next.Should().Be(0, $"{stdout}\n{stderr}");
            (await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_queue WHERE id = {id} AND processed_at IS NOT NULL AND error IS NULL")).Should().Be(1, stderr.ToString());
        }

        using var check = TestS3Service.CreateClient(endpoint);
        var left = await check.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
        var stored = left.S3Objects?.Select(o => o.Key).ToList() ?? [];
        stored.Should().NotContain(k => k.StartsWith("big/", StringComparison.Ordinal), "every object of the request was quarantined");
        stored.Count(k => k.StartsWith(".reclaim-trash/", StringComparison.Ordinal) && k.Contains("/big/", StringComparison.Ordinal)).Should().Be(Objects, "each one is in the trash, none lost");
        (await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_actions WHERE group_key = '{group}' AND outcome = 'pending'")).Should().Be(0, "every recorded intent has its outcome");
    }

    /// <summary>
    /// SIGTERM while a run the server started quarantines through the slow proxy is a soft stop, as for
    /// <c>reclaim sweep</c>: the sub-batch in flight finishes and records every outcome, the process exits 0, and
    /// nothing of the run is left pending.
    /// </summary>
    [Fact]
    public async Task Serve_TerminatedMidRun_FinishesTheSubBatchInFlight_AndLeavesNothingPending()
    {
        using var folder = new TemporaryFolder("reclaim-serve-run-stop");
        await ServerHost.SeedAsync(folder);
        var bucket = "serve-run-stop-" + Guid.NewGuid().ToString("N")[..12];
        var endpoint = await TestS3Service.CreateBucketAsync(bucket);
        var keys = Enumerable.Range(0, RunObjects).Select(i => $"clips/c{i:D4}.mp4").ToList();
        using (var s3 = TestS3Service.CreateClient(endpoint))
        {
            foreach (var key in keys)
            {
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = key, UseChunkEncoding = false });
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(2.5)); // older than min_age, in S3's whole seconds too

        // Each S3 call waits 100 ms in the proxy: the sub-batch's copies take over a second, so the stop lands in them.
        await using var proxy = new FaultProxy(endpoint, 0) { Delay = TimeSpan.FromMilliseconds(100) };
        var path = folder.Combine("reclaim.yaml");
        await File.WriteAllTextAsync(path, WithSlowStore(ServerHost.Yaml(), bucket, proxy).Replace("policies:\n", """
            policies:
              - name: clips
                type: orphans
                store: slow
                layout: "clips/{clip}"
                references:
                  catalog: app
                  query: "SELECT id AS clip FROM assets"
                min_age: 1s
                action: quarantine

            """, StringComparison.Ordinal).Replace("guards:\n  max_delete_fraction: 0.5", "guards:\n  max_delete_fraction: 1.0\n  min_age_floor: 1s", StringComparison.Ordinal));
        var state = $"Data Source={folder.Combine(".reclaim/state.db")};Pooling=false";

        await using var serve = await ServeProcess.StartAsync("a", path, arguments: ["--no-worker"]);
        using var client = new HttpClient { BaseAddress = serve.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServerHost.Keys["admin"]);
        using var started = await client.PostAsJsonAsync("api/v1/runs", new { policies = new[] { "clips" }, dry_run = false });
        started.StatusCode.Should().Be(HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
        var runId = (await started.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        await Polling.FreezeWhenAsync([serve.ProcessId], async () => await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_actions WHERE run_id = '{runId}' AND outcome = 'pending'") > 0,
            60, () => $"run {runId} to record its intents:\n{serve.Output}");

        var exit = await serve.StopFrozenAsync();

        exit.Should().Be(0, serve.Output);
        (await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_actions WHERE run_id = '{runId}' AND outcome = 'pending'")).Should().Be(0, $"the sub-batch in flight was finished and recorded:\n{serve.Output}");
        (await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_runs WHERE id = '{runId}' AND status IN ('interrupted', 'succeeded')")).Should().Be(1, serve.Output);
        using var check = TestS3Service.CreateClient(endpoint);
        var stored = (await check.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket })).S3Objects?.Select(o => o.Key).ToHashSet(StringComparer.Ordinal) ?? [];
        var done = await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_actions WHERE run_id = '{runId}' AND outcome = 'done'");
        done.Should().BeGreaterThan(0);
        stored.Count(k => k.StartsWith($".reclaim-trash/{runId}/clips/", StringComparison.Ordinal)).Should().Be((int)done, "each object recorded done is in the trash");
        (stored.Count(k => k.StartsWith("clips/", StringComparison.Ordinal)) + done).Should().Be(RunObjects, "every other object is still at its key");
    }

    /// <summary>Adds the store <c>slow</c>: the test bucket reached through <paramref name="proxy"/>.</summary>
    private static string WithSlowStore(string yaml, string bucket, FaultProxy proxy) => yaml.Replace("stores:\n", $"""
        stores:
          slow:
            type: s3
            bucket: {bucket}
            endpoint: {proxy.Endpoint.ToString().TrimEnd('/')}
            region: us-east-1
            force_path_style: true
            access_key: {TestEnvironment.S3rverAccessKey}
            secret_key: {TestEnvironment.S3rverSecretKey}
            use_chunk_encoding: false

        """, StringComparison.Ordinal);

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
