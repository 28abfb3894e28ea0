// Drains N deletion requests (the RugbyCodex cleanup worker's media_cleanup_jobs, K objects per media folder) from PostgreSQL against
// s3rver with `reclaim worker --once`, three times on identical fresh data: once as the RugbyCodex cleanup worker's worker did it (one
// request at a time: concurrency 1, batch_size 1), once at Reclaim's default settings, and once at the defaults with
// a layout and references (a media_assets table of N live assets besides the deleted ones), which adds the request's
// references look-up and the store's protection check per sub-batch. Prints a markdown table row per mode and the
// ratios. Needs RECLAIM_TEST_PG and RECLAIM_TEST_S3_ENDPOINT (scripts/test-services.sh) and the
// path of the reclaim binary.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Amazon.S3.Model;
using Npgsql;
using Reclaim.Testing;

var reclaim = args.Length > 0 ? args[0] : throw new ArgumentException("usage: QueueDrain RECLAIM_BINARY [REQUESTS] [OBJECTS_PER_REQUEST]");
var requests = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10000;
var perRequest = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;

const string Protected = "    layout: \"orgs/{org}/uploads/{asset}/\"\n    references:\n      catalog: app\n      query: \"SELECT org_id AS org, id AS asset FROM media_assets\"\n";
var modes = new (string Name, string Settings)[]
{
    ("the RugbyCodex cleanup worker design: one request at a time (concurrency 1, batch_size 1)", "    concurrency: 1\n    batch_size: 1\n"),
    ("reclaim defaults (concurrency 8, batch_size 32)", string.Empty),
    ("reclaim defaults with layout and references (N live media_assets rows)", Protected),
};
var results = new List<(string Name, double Seconds, long Objects)>();
foreach (var (name, settings) in modes)
{
    await using var database = await PostgresDatabase.CreateAsync();
    var bucket = "bench-" + Guid.NewGuid().ToString("N")[..10];
    var endpoint = await TestS3Service.CreateBucketAsync(bucket);
    using var s3 = TestS3Service.CreateClient(endpoint);
    await database.ExecuteAsync(SeedTables.MediaCleanupJobsPostgres);
    // Live assets that share the deleted ones' orgs, so the references query has rows to search (and none to find).
    await database.ExecuteAsync($"CREATE TABLE media_assets (id text PRIMARY KEY, org_id text NOT NULL); INSERT INTO media_assets SELECT 'live' || i, 'o' || (i % 50) FROM generate_series(0, {requests - 1}) AS i");
    var sql = new StringBuilder();
    for (var i = 0; i < requests; i++)
    {
        sql.Append(CultureInfo.InvariantCulture, $"{(i % 1000 == 0 ? string.Empty : ",")}(gen_random_uuid(), '{bucket}', 'orgs/o{i % 50}/uploads/a{i}/raw/match.mp4', timestamp '2026-01-01' + interval '{i} seconds')");
        if (i % 1000 == 999 || i == requests - 1)
        {
            await database.ExecuteAsync("INSERT INTO media_cleanup_jobs (media_asset_id, bucket, storage_path, created_at) VALUES " + sql);
            sql.Clear();
        }
    }

    Console.Error.WriteLine($"{name}: putting {requests * perRequest} objects ...");
    var keys = Enumerable.Range(0, requests).SelectMany(i => Enumerable.Range(0, perRequest).Select(n => n == 0 ? $"orgs/o{i % 50}/uploads/a{i}/raw/match.mp4" : $"orgs/o{i % 50}/uploads/a{i}/streaming/seg_{n:000}.ts"));
    await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (key, token) =>
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = key, UseChunkEncoding = false }, token));

    var dir = Directory.CreateTempSubdirectory("reclaim-bench-queue-").FullName;
    var config = Path.Combine(dir, "reclaim.yaml");
    await File.WriteAllTextAsync(config, $"""
        version: 1
        stores:
          media:
            type: s3
            bucket: {bucket}
            endpoint: {endpoint.ToString().TrimEnd('/')}
            force_path_style: true
            access_key: {TestEnvironment.S3rverAccessKey}
            secret_key: {TestEnvironment.S3rverSecretKey}
            use_chunk_encoding: false
        catalogs:
          app:
            provider: postgres
            connection: "{database.ConnectionString}"
        policies:
          - name: cleanup
            type: queue
            catalog: app
            table: media_cleanup_jobs
            store: media
            target: folder
            folder_depth: 2
            require_prefix: "orgs/"
            action: delete
        {settings}
        """);
    var start = new ProcessStartInfo(reclaim) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var arg in new[] { "worker", "--once", "--policy", "cleanup", "--format", "json", "-c", config })
    {
        start.ArgumentList.Add(arg);
    }

    Console.Error.WriteLine($"{name}: draining {requests} requests ...");
    var clock = Stopwatch.StartNew();
    using var process = Process.Start(start)!;
    var stderr = process.StandardError.ReadToEndAsync();
    var stdout = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
    clock.Stop();
    await stderr;
    if (process.ExitCode != 0)
    {
        throw new InvalidOperationException($"worker exited {process.ExitCode}: {stdout}");
    }

    await using var connection = new NpgsqlConnection(database.ConnectionString);
    await connection.OpenAsync();
    await using var check = new NpgsqlCommand("SELECT COUNT(*) FROM media_cleanup_jobs WHERE processed_at IS NULL OR error IS NOT NULL", connection);
    var unfinished = (long)(await check.ExecuteScalarAsync())!;
    var left = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, MaxKeys = 10 });
    if (unfinished != 0 || (left.S3Objects?.Count ?? 0) != 0)
    {
        throw new InvalidOperationException($"{name}: {unfinished} requests unfinished, objects left in the bucket");
    }

    Console.Error.WriteLine($"{name}: {clock.Elapsed.TotalSeconds:0.0} s ({stdout.Trim()})");
    results.Add((name, clock.Elapsed.TotalSeconds, (long)requests * perRequest));
    Directory.Delete(dir, recursive: true);
}

Console.WriteLine($"| mode | requests | objects | seconds | requests/s |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
foreach (var (name, seconds, objects) in results)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {requests} | {objects} | {seconds:0.0} | {requests / seconds:0.0} |"));
}

Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Ratio (defaults vs one at a time): **{results[0].Seconds / results[1].Seconds:0.00}x** faster."));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Ratio (layout and references vs defaults): **{results[2].Seconds / results[1].Seconds:0.00}x** the time."));
