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
/// exits, or its lease is given back so that the next worker takes it at once rather than after the lease.
/// </summary>
public sealed class QueueShutdownTests
{
    private const int Objects = 32;

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
        await File.WriteAllTextAsync(path, ServerHost.Yaml(extraYaml: """
            own_queue:
              lease: 5m
              concurrency: 1
              batch_size: 1
            """).Replace("stores:\n", $"""
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

            """, StringComparison.Ordinal));
        var state = $"Data Source={folder.Combine(".reclaim/state.db")};Pooling=false";

        await using var serve = await ServeProcess.StartAsync("a", path);
        using var client = new HttpClient { BaseAddress = serve.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServerHost.Keys["operator"]);
        using var accepted = await client.PostAsJsonAsync("api/v1/deletions", new { store = "slow", prefixes = new[] { "big/" }, action = "quarantine" });
        accepted.StatusCode.Should().Be(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        var id = (await accepted.Content.ReadFromJsonAsync<JsonObject>())!["ids"]!.AsArray().Single()!.GetValue<long>();
        var group = string.Create(CultureInfo.InvariantCulture, $"reclaim:{id}");

        // In the middle: the worker holds the lease and has recorded its intents, and some objects are still pending.
        await ServeProcess.WaitForAsync(async () =>
        {
            return await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_actions WHERE group_key = '{group}' AND outcome = 'pending'") > 0;
        }, 30, () => $"the worker to start request {id}:\n{serve.Output}");
        (await ScalarAsync(state, $"SELECT COUNT(*) FROM reclaim_queue WHERE id = {id} AND processed_at IS NULL")).Should().Be(1, "the stop must land mid-request");

        var exit = await serve.StopAsync();

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

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
