using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Queue;
using Reclaim.Engine.Runtime;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Queue;

/// <summary>
/// The queue policy end to end, through the real command line, on the RugbyCodex cleanup worker's exact table: the same scenarios run
/// on a folder + SQLite and on S3 (s3rver) + PostgreSQL.
/// </summary>
public abstract class QueueScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private static readonly DateTime Epoch = new(2026, 5, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly ManualClock _clock = new();
    private int _sequence;

    protected TBackend Backend { get; } = new();

    protected ManualClock Clock => _clock;

    /// <summary>The bucket column's value that routes to the policy's store.</summary>
    protected string Bucket { get; private set; } = "media";

    public async Task InitializeAsync()
    {
        await Backend.InitializeAsync();
        await Backend.ExecuteSqlAsync(Backend.IsPostgres ? SeedTables.MediaCleanupJobsPostgres : SeedTables.MediaCleanupJobsSqlite);
        Configure();
        Bucket = ConfigLoader.Load(Backend.ConfigPath).Stores["media"].Bucket ?? "media";
    }

    public Task DisposeAsync() => Backend.DisposeAsync();

    protected void Configure(string settings = "")
    {
        Backend.WriteConfig($"""
              - name: cleanup
                type: queue
                catalog: app
                table: media_cleanup_jobs
                store: media
                target: folder
                folder_depth: 2
                require_prefix: "orgs/"
                action: delete
                retry_delay: 0s
                max_attempts: 3
                lease: 5m
            {settings}
            """, Backend.StateYaml);
    }

    /// <summary>Inserts requests (oldest first, one second apart); returns their ids.</summary>
    protected async Task<List<string>> InsertAsync(IEnumerable<(string Path, string? Bucket)> requests)
    {
        var ids = new List<string>();
        var values = new List<string>();
        foreach (var (path, bucket) in requests)
        {
            var id = Guid.NewGuid().ToString();
            ids.Add(id);
            var created = Epoch.AddSeconds(_sequence++).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            values.Add($"('{id}', '{Guid.NewGuid()}', {Literal(bucket ?? Bucket)}, {Literal(path)}, '{created}')");
        }

        foreach (var chunk in values.Chunk(500))
        {
            await Backend.ExecuteSqlAsync($"INSERT INTO media_cleanup_jobs (id, media_asset_id, bucket, storage_path, created_at) VALUES {string.Join(",\n", chunk)}");
        }

        return ids;
    }

    /// <summary>id → (processed, error).</summary>
    protected async Task<Dictionary<string, (bool Processed, string? Error)>> RowsAsync()
    {
        var rows = await Backend.QueryAsync("SELECT CAST(id AS TEXT), CAST(processed_at AS TEXT), error FROM media_cleanup_jobs");
        return rows.ToDictionary(r => r[0]!, r => (r[1] is not null, r[2]), StringComparer.Ordinal);
    }

    protected static string Folder(int i) => $"orgs/o{i % 7}/uploads/a{i}/";

    /// <summary>5 to 10 objects under the request's folder, at several depths.</summary>
    protected static string[] FolderObjects(int i) =>
        [.. Enumerable.Range(0, 5 + (i % 6)).Select(n => n switch
        {
            0 => $"{Folder(i)}raw/match.mp4",
            1 => $"{Folder(i)}thumbnail.jpg",
            2 => $"{Folder(i)}streaming/index.m3u8",
            _ => $"{Folder(i)}streaming/seg_{n:000}.ts",
        })];

    protected async Task PutAllAsync(IEnumerable<string> keys)
    {
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, _) =>
            await Backend.PutAsync(key, Encoding.UTF8.GetBytes($"bytes of {key}")));
    }

    protected Task<CliResult> WorkerAsync(params string[] more) => Backend.CliAsync(_clock, ["worker", "--once", "--policy", "cleanup", .. more]);

    // SQLite cannot take NUL inside a quoted literal: it is spliced in with char(0).
    private static string Literal(string text) =>
        string.Join(" || char(0) || ", text.Split('\0').Select(part => "'" + part.Replace("'", "''", StringComparison.Ordinal) + "'"));

    [Fact]
    public async Task Worker_DrainsRequests_EachFolderEmptiedAndNeighboursKept()
    {
        const int count = 60;
        var keep = Enumerable.Range(0, count).SelectMany(i => new[] { $"orgs/o{i % 7}/uploads/a{i}0/keep.mp4", $"orgs/o{i % 7}/uploads/a{i}.mp4", $"orgs/o{i % 7}/uploads/a{i}x/raw/b.mp4" }).ToList();
        await PutAllAsync(Enumerable.Range(0, count).SelectMany(FolderObjects).Concat(keep));
        // The request points at a file inside the folder, as the RugbyCodex cleanup worker's backend writes it.
        var ids = await InsertAsync(Enumerable.Range(0, count).Select(i => ($"{Folder(i)}raw/match.mp4", (string?)null)));

        var workers = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => WorkerAsync()));

        workers.Should().AllSatisfy(w => w.ExitCode.Should().Be(0, w.ToString()));
        var rows = await RowsAsync();
        ids.Should().AllSatisfy(id => rows[id].Should().Be((true, (string?)null)));
        var left = await Backend.KeysAsync();
        left.Should().BeEquivalentTo(keep);
    }

    [Fact]
    public async Task Worker_MalformedRequests_EachFailsWithAClearErrorAndNothingIsDeleted()
    {
        var objects = new[]
        {
            "orgs/o1/uploads/a1/raw/v.mp4", "orgs/raw/a.mp4", "orgs/keep.bin", "media/o1/uploads/a1/raw/v.mp4", "orgs/o1/uploads/a2/raw/v.mp4",
        };
        await PutAllAsync(objects);
        var cases = new List<(string Path, string? Bucket, string Expected)>
        {
            (string.Empty, null, "is empty"),
            ("   ", null, "is empty"),
            ("orgs/o1/uploads/../uploads/a1/raw/v.mp4", null, "'..'"),
            ("orgs/o1/./a1/raw/v.mp4", null, "'..' or '.'"),
            ("media/o1/uploads/a1/raw/v.mp4", null, "outside require_prefix"),
            ("orgsx/o1/uploads/a1/raw/v.mp4", null, "outside require_prefix"),
            ("orgs/raw/a.mp4", null, "or above it"),
            ("orgs/a.mp4", null, "leaves no folder"),
            ("orgs/o1/uploads/a1/", null, "ends in '/'"),
            ("orgs\\o1\\uploads\\a1\\raw\\v.mp4", null, "backslash"),
            ("/orgs/o1/uploads/a1/raw/v.mp4", null, "absolute"),
            ("orgs/o1/uploads/a1/" + new string('x', 1100), null, "bytes long"),
            ("orgs/o1/uploads/a2/raw/v.mp4", "someone-elses-bucket", "unknown bucket 'someone-elses-bucket'"),
        };
        if (!Backend.IsPostgres)
        {
            cases.Add(("orgs/o1/uploads/a1/raw/v\0.mp4", null, "NUL"));
        }

        var ids = await InsertAsync(cases.Select(c => (c.Path, c.Bucket)));

        var result = await WorkerAsync();

        result.ExitCode.Should().Be(ExitCodesPartiallyFailed, result.ToString());
        var rows = await RowsAsync();
        for (var i = 0; i < cases.Count; i++)
        {
            rows[ids[i]].Processed.Should().BeTrue($"case {i} '{cases[i].Path}'");
            rows[ids[i]].Error.Should().Contain(cases[i].Expected, $"case {i}").And.Contain("rejected").And.Contain("nothing was deleted");
        }

        (await Backend.KeysAsync()).Should().BeEquivalentTo(objects);
    }

    [Fact]
    public async Task Worker_ReferencedObjectOutsideRequirePrefix_Survives()
    {
        await PutAllAsync(["media/o1/uploads/a1/raw/v.mp4", "media/o1/uploads/a1/thumb.jpg"]);
        var ids = await InsertAsync([("media/o1/uploads/a1/raw/v.mp4", null)]);

        var result = await WorkerAsync();

        result.ExitCode.Should().Be(ExitCodesPartiallyFailed, result.ToString());
        (await RowsAsync())[ids[0]].Error.Should().Contain("outside require_prefix 'orgs/'");
        (await Backend.KeysAsync()).Should().HaveCount(2);
    }

    [Fact]
    public async Task Worker_RequestClaimedByAWorkerThatDied_IsTakenAgainAfterTheLease()
    {
        await PutAllAsync(Enumerable.Range(0, 3).SelectMany(FolderObjects));
        var ids = await InsertAsync(Enumerable.Range(0, 3).Select(i => ($"{Folder(i)}raw/match.mp4", (string?)null)));
        var config = ConfigLoader.Load(Backend.ConfigPath);
        await using (var workspace = new Workspace(config, NullLoggerFactory.Instance))
        {
            // A worker claims the oldest request, removes part of it, and dies.
            var claimed = await new QueueService(workspace, _clock, NullLoggerFactory.Instance).ClaimOnlyAsync("cleanup", 1, "dead-worker", CancellationToken.None);
            claimed.Should().Be(1);
        }

        await ((Core.Storage.IObjectStore)Backend.Store).DeleteAsync([FolderObjects(0)[0], FolderObjects(0)[1]], CancellationToken.None);

        var before = await WorkerAsync();
        before.ExitCode.Should().Be(0, before.ToString());
        var rows = await RowsAsync();
        rows[ids[0]].Processed.Should().BeFalse("the dead worker's lease has not expired");
        rows[ids[1]].Processed.Should().BeTrue();
        (await Backend.KeysAsync()).Should().BeEquivalentTo(FolderObjects(0).Skip(2));

        _clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var after = await WorkerAsync();

        after.ExitCode.Should().Be(0, after.ToString());
        (await RowsAsync())[ids[0]].Should().Be((true, (string?)null));
        (await Backend.KeysAsync()).Should().BeEmpty();
        after.Json.GetProperty("processed").GetInt32().Should().Be(1);
    }

    [Fact]
    public async Task QueueRetry_FailedRequestFixed_IsProcessedOnTheNextRun()
    {
        await PutAllAsync(FolderObjects(4));
        var ids = await InsertAsync([("orgs/o4/uploads/a4/raw/match.mp4", "unknown-bucket")]);
        (await WorkerAsync()).ExitCode.Should().Be(ExitCodesPartiallyFailed);
        var status = await Backend.CliAsync(_clock, "queue", "status");
        status.ExitCode.Should().Be(0, status.ToString());
        status.Stdout.Should().Contain(ids[0]).And.Contain("unknown bucket");
        await Backend.ExecuteSqlAsync($"UPDATE media_cleanup_jobs SET bucket = '{Bucket}'");

        var retry = await Backend.CliAsync(_clock, "queue", "retry", ids[0]);
        var worker = await WorkerAsync();

        retry.ExitCode.Should().Be(0, retry.ToString());
        worker.ExitCode.Should().Be(0, worker.ToString());
        (await RowsAsync())[ids[0]].Should().Be((true, (string?)null));
        (await Backend.KeysAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Enqueue_OwnQueue_IsDrainedByTheWorker()
    {
        await PutAllAsync([.. FolderObjects(1), .. FolderObjects(2), "orgs/o1/uploads/a10/keep.mp4"]);

        var enqueue = await Backend.CliAsync(_clock, "enqueue", "--store", "media", "--prefix", Folder(1), "--key", FolderObjects(2)[0], "--action", "delete");
        var bad = await Backend.CliAsync(_clock, "enqueue", "--store", "media", "--prefix", "orgs/o1/uploads/a1", "--key", "a/../b");
        var worker = await Backend.CliAsync(_clock, "worker", "--once", "--policy", "reclaim");

        enqueue.ExitCode.Should().Be(0, enqueue.ToString());
        bad.ExitCode.Should().Be(2, bad.ToString());
        worker.ExitCode.Should().Be(0, worker.ToString());
        (await Backend.KeysAsync()).Should().BeEquivalentTo([.. FolderObjects(2).Skip(1), "orgs/o1/uploads/a10/keep.mp4"]);
    }

    [Fact]
    public async Task InstallTrigger_UnknownOrNonQueuePolicyOrTheOwnQueue_ExitsTwo()
    {
        var unknown = await Backend.CliAsync(_clock, "queue", "install-trigger", "--policy", "no-such-policy");
        var own = await Backend.CliAsync(_clock, "queue", "install-trigger", "--policy", "reclaim");

        unknown.ExitCode.Should().Be(2, unknown.ToString());
        unknown.Stderr.Should().Contain("no policy named 'no-such-policy'");
        own.ExitCode.Should().Be(2, own.ToString());
        own.Stderr.Should().Contain("needs no trigger");
    }

    /// <summary>
    /// The cleanup policy with a layout (and, unless <paramref name="references"/> is null, references into a
    /// <c>media_assets</c> table created here) instead of <c>folder_depth</c> arithmetic.
    /// </summary>
    protected async Task ConfigureLayoutAsync(string? references = "SELECT org_id AS org, id AS asset FROM media_assets", string settings = "")
    {
        await Backend.ExecuteSqlAsync("CREATE TABLE IF NOT EXISTS media_assets (id TEXT PRIMARY KEY, org_id TEXT NOT NULL)");
        var yaml = "    layout: \"orgs/{org}/uploads/{asset}/\"\n" + (references is null ? string.Empty : $"    references:\n      catalog: app\n      query: \"{references}\"\n") + settings;
        Configure(yaml);
    }

    [Fact]
    public async Task Worker_ThumbnailRequestUnderALayout_EmptiesOnlyThatAssetsFolder()
    {
        await ConfigureLayoutAsync();
        // Three assets of one org; the requests name a file at the folder's top and one three levels down.
        var neighbours = new[] { "orgs/o1/uploads/a80/keep.mp4", "orgs/o1/uploads/a8.mp4", "orgs/o1/keep.bin" };
        await PutAllAsync([.. FolderObjects(1), .. FolderObjects(8), .. FolderObjects(15), .. neighbours]);
        var ids = await InsertAsync([($"{Folder(8)}thumbnail.jpg", null), ($"{Folder(15)}streaming/seg_003.ts", null)]);

        var result = await WorkerAsync();

        result.ExitCode.Should().Be(0, result.ToString());
        var rows = await RowsAsync();
        ids.Should().AllSatisfy(id => rows[id].Should().Be((true, (string?)null)));
        (await Backend.KeysAsync()).Should().BeEquivalentTo([.. FolderObjects(1), .. neighbours],
            "each request empties its asset's layout group, never the org's uploads/ folder two segments up");
    }

    [Fact]
    public async Task Worker_RequestForAnAssetStillReferenced_IsNotExecuted_AndFailsStillReferencedAfterMaxAttempts()
    {
        await ConfigureLayoutAsync();
        await Backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('a1', 'o1')");
        await PutAllAsync([.. FolderObjects(1), .. FolderObjects(8)]);
        var ids = await InsertAsync([($"{Folder(1)}raw/match.mp4", null), ($"{Folder(8)}raw/match.mp4", null)]);

        var result = await WorkerAsync();

        result.ExitCode.Should().Be(ExitCodesPartiallyFailed, result.ToString());
        var rows = await RowsAsync();
        rows[ids[0]].Processed.Should().BeTrue();
        rows[ids[0]].Error.Should().StartWith("still referenced by policy 'cleanup' (references)")
            .And.Contain("renders to 'orgs/o1/uploads/a1/'").And.Contain("nothing was deleted").And.Contain("after 3 attempts");
        rows[ids[1]].Should().Be((true, (string?)null), "a8 has no media_assets row");
        (await Backend.KeysAsync()).Should().BeEquivalentTo(FolderObjects(1));
        var actions = await StateRowsAsync("SELECT key FROM reclaim_actions WHERE group_key = 'cleanup:" + ids[0] + "'");
        actions.Should().BeEmpty("a request whose group is referenced is not executed: nothing is listed, recorded or touched");
    }

    [Fact]
    public async Task Worker_PathsTheLayoutDoesNotMatch_AreRejectedWithAClearError()
    {
        await ConfigureLayoutAsync();
        var objects = new[] { "orgs/o1/a.mp4", "orgs/o1/uploads/a1.mp4", "orgs/o1/thumbs/a1/x.jpg", "orgs/o1/uploads/a2/raw/v.mp4" };
        await PutAllAsync(objects);
        var ids = await InsertAsync([("orgs/o1/a.mp4", null), ("orgs/o1/uploads/a1.mp4", null), ("orgs/o1/thumbs/a1/x.jpg", null), ("orgs/o1/uploads/", null)]);

        var result = await WorkerAsync();

        result.ExitCode.Should().Be(ExitCodesPartiallyFailed, result.ToString());
        var rows = await RowsAsync();
        ids.Should().AllSatisfy(id => rows[id].Error.Should().Contain("does not match the policy's layout 'orgs/{org}/uploads/{asset}/'").And.Contain("nothing was deleted"));
        (await Backend.KeysAsync()).Should().BeEquivalentTo(objects);
    }

    [Fact]
    public async Task Validate_QueueWithNeitherLayoutNorReferences_Warns()
    {
        var bare = await Backend.CliAsync(_clock, "validate");
        await ConfigureLayoutAsync();
        var withLayout = await Backend.CliAsync(_clock, "validate");

        bare.ExitCode.Should().Be(0, bare.ToString());
        bare.Json.EnumerateArray().Should().Contain(c => c.GetProperty("component").GetString() == "policy cleanup"
            && c.GetProperty("detail").GetString()!.StartsWith("warning: a queue with neither layout nor references", StringComparison.Ordinal));
        withLayout.ExitCode.Should().Be(0, withLayout.ToString());
        withLayout.Stdout.Should().NotContain("warning");
    }

    [Fact]
    public async Task Enqueue_OwnQueue_ObjectsAPolicyOnTheStoreReferences_AreSkippedAndRecordedWithThatPolicy()
    {
        // No layout on the queue policy; an orphans policy on the same store references asset a1.
        Configure("""
              - name: assets
                type: orphans
                store: media
                layout: "orgs/{org}/uploads/{asset}/"
                references:
                  catalog: app
                  query: "SELECT org_id AS org, id AS asset FROM media_assets"
            """);
        File.AppendAllText(Backend.ConfigPath, "\nown_queue:\n  retry_delay: 0s\n  max_attempts: 2\n");
        await Backend.ExecuteSqlAsync("CREATE TABLE media_assets (id TEXT PRIMARY KEY, org_id TEXT NOT NULL); INSERT INTO media_assets VALUES ('a1', 'o1')");
        await PutAllAsync([.. FolderObjects(1), .. FolderObjects(8)]);

        var enqueue = await Backend.CliAsync(_clock, "enqueue", "--store", "media", "--prefix", Folder(1), "--prefix", Folder(8), "--key", FolderObjects(1)[0], "--action", "delete");
        var worker = await Backend.CliAsync(_clock, "worker", "--once", "--policy", "reclaim");

        enqueue.ExitCode.Should().Be(0, enqueue.ToString());
        worker.ExitCode.Should().Be(ExitCodesPartiallyFailed, worker.ToString());
        (await Backend.KeysAsync()).Should().BeEquivalentTo(FolderObjects(1), "what policy 'assets' references survives an explicit delete; a8 goes");
        var skipped = await StateRowsAsync("SELECT DISTINCT key, error FROM reclaim_actions WHERE outcome = 'skipped'");
        skipped.Select(r => r[0]).Should().BeEquivalentTo(FolderObjects(1));
        skipped.Should().AllSatisfy(r => r[1].Should().Be("protected by policy 'assets' (references): a row of catalog 'app' renders to 'orgs/o1/uploads/a1/'"));
        var status = await Backend.CliAsync(_clock, "queue", "status", "--policy", "reclaim");
        status.Json[0].GetProperty("recent_failures").EnumerateArray().Select(f => f.GetProperty("error").GetString()).Should().HaveCount(2)
            .And.AllSatisfy(e => e.Should().StartWith("still referenced by policy 'assets' (references)"));
    }

    /// <summary>Rows of Reclaim's state database (SQLite next to the config, or the PostgreSQL state).</summary>
    protected async Task<List<string?[]>> StateRowsAsync(string sql)
    {
        if (Backend.IsPostgres)
        {
            return await Backend.QueryAsync(sql);
        }

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(Backend.Dir, ".reclaim", "state.db")};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var rows = new List<string?[]>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture))]);
        }

        return rows;
    }

    /// <summary>Polls until a request is processed; false when <paramref name="within"/> passes first.</summary>
    protected async Task<bool> ProcessedWithinAsync(string id, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        do
        {
            if ((await RowsAsync())[id].Processed)
            {
                return true;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        return false;
    }

    private const int ExitCodesPartiallyFailed = 4;
}

/// <summary>The scenarios on a folder store and a SQLite catalog.</summary>
public sealed class FolderSqliteQueueScenarios : QueueScenarios<FolderSqliteBackend>
{
    [Fact]
    public async Task InstallTrigger_OnSqlite_ExitsTwoAndSaysWhy()
    {
        var result = await Backend.CliAsync(Clock, "queue", "install-trigger");
        var printed = await Backend.CliAsync(Clock, "queue", "install-trigger", "--print");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("needs a PostgreSQL catalog").And.Contain("policy 'cleanup'").And.Contain("(sqlite)");
        printed.ExitCode.Should().Be(2, printed.ToString());
    }

    /// <summary>Adds a second folder store, <c>other</c>, and top-level YAML; returns its root.</summary>
    private string AddStoreB(string topLevelYaml)
    {
        var other = Directory.CreateDirectory(Path.Combine(Backend.Dir, "other")).FullName;
        var yaml = File.ReadAllText(Backend.ConfigPath);
        File.WriteAllText(Backend.ConfigPath, yaml.Replace("stores:\n", $"stores:\n  other:\n    type: filesystem\n    root: {other}\n", StringComparison.Ordinal) + "\n" + topLevelYaml);
        return other;
    }

    [Fact]
    public async Task OwnQueue_RequestForStoreB_IsJudgedByStoreBsRequirePrefix_NotStoreAs()
    {
        // Store media (A) has the queue policy's require_prefix orgs/ and own_queue's orgs/; store other (B) has tmp/.
        var other = AddStoreB("own_queue:\n  max_attempts: 2\n  require_prefix:\n    media: \"orgs/\"\n    other: \"tmp/\"\n");
        foreach (var key in new[] { "tmp/a.bin", "tmp/b.bin", "orgs/o1/x.bin" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(other, key))!);
            await File.WriteAllTextAsync(Path.Combine(other, key), key);
        }

        await PutAllAsync(["tmp/a.bin", "orgs/o1/x.bin"]);

        var outsideB = await Backend.CliAsync(Clock, "enqueue", "--store", "other", "--key", "orgs/o1/x.bin", "--action", "delete");
        var outsideA = await Backend.CliAsync(Clock, "enqueue", "--store", "media", "--key", "tmp/a.bin", "--action", "delete");
        var insideB = await Backend.CliAsync(Clock, "enqueue", "--store", "other", "--key", "tmp/a.bin", "--action", "delete");
        var laterOutside = await Backend.CliAsync(Clock, "enqueue", "--store", "other", "--prefix", "tmp/", "--action", "delete");
        var later = await Backend.CliAsync(Clock, "enqueue", "--store", "other", "--key", "tmp/b.bin", "--action", "delete");
        // B's rule changes before the worker runs: the request is judged again when it is executed.
        File.WriteAllText(Backend.ConfigPath, File.ReadAllText(Backend.ConfigPath).Replace("other: \"tmp/\"", "other: \"tmp/a/\"", StringComparison.Ordinal));
        var worker = await Backend.CliAsync(Clock, "worker", "--once", "--policy", "reclaim");

        outsideB.ExitCode.Should().Be(2, outsideB.ToString());
        outsideB.Stderr.Should().Contain("outside require_prefix 'tmp/'");
        outsideA.ExitCode.Should().Be(2, outsideA.ToString());
        outsideA.Stderr.Should().Contain("outside require_prefix 'orgs/'");
        insideB.ExitCode.Should().Be(0, insideB.ToString());
        laterOutside.ExitCode.Should().Be(2, "a prefix equal to require_prefix would empty all of it");
        later.ExitCode.Should().Be(0, later.ToString());
        worker.ExitCode.Should().Be(4, worker.ToString());
        worker.Json.GetProperty("processed").GetInt32().Should().Be(0, "tmp/a.bin is outside the new require_prefix tmp/a/ too");
        worker.Json.GetProperty("failed").GetInt32().Should().Be(2);
        var status = await Backend.CliAsync(Clock, "queue", "status", "--policy", "reclaim");
        status.Json[0].GetProperty("recent_failures").EnumerateArray().Select(f => f.GetProperty("error").GetString())
            .Should().HaveCount(2).And.AllSatisfy(e => e.Should().Contain("outside require_prefix 'tmp/a/'"));
        Directory.EnumerateFiles(other, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(other, f).Replace('\\', '/'))
            .Should().BeEquivalentTo(["tmp/a.bin", "tmp/b.bin", "orgs/o1/x.bin"], "nothing outside B's rule is removed");
        (await Backend.KeysAsync()).Should().BeEquivalentTo(["tmp/a.bin", "orgs/o1/x.bin"], "store A is not touched by B's requests");
    }

    [Fact]
    public async Task OwnQueue_RequestInsideItsStoresRequirePrefix_IsExecutedThere_WhateverTheQueuePolicySays()
    {
        var other = AddStoreB("own_queue:\n  require_prefix:\n    other: \"tmp/\"\n");
        Directory.CreateDirectory(Path.Combine(other, "tmp", "job1"));
        await File.WriteAllTextAsync(Path.Combine(other, "tmp", "job1", "a.bin"), "a");
        await File.WriteAllTextAsync(Path.Combine(other, "tmp", "keep.bin"), "k");
        await PutAllAsync(["tmp/job1/a.bin"]);

        var enqueue = await Backend.CliAsync(Clock, "enqueue", "--store", "other", "--prefix", "tmp/job1/", "--action", "delete");
        var worker = await Backend.CliAsync(Clock, "worker", "--once", "--policy", "reclaim");

        enqueue.ExitCode.Should().Be(0, enqueue.ToString());
        worker.ExitCode.Should().Be(0, worker.ToString());
        worker.Json.GetProperty("processed").GetInt32().Should().Be(1, "the cleanup policy's require_prefix orgs/ is store media's queue table's rule, not the own queue's");
        File.Exists(Path.Combine(other, "tmp", "job1", "a.bin")).Should().BeFalse();
        File.Exists(Path.Combine(other, "tmp", "keep.bin")).Should().BeTrue();
        (await Backend.KeysAsync()).Should().BeEquivalentTo(["tmp/job1/a.bin"], "the same key in store media is not touched");
    }
}

/// <summary>The scenarios on S3 (s3rver) and a PostgreSQL catalog and state, plus the 4-worker drain of 2,000 requests.</summary>
public sealed class S3PostgresQueueScenarios : QueueScenarios<S3PostgresBackend>
{
    [Fact]
    public async Task FourWorkers_Drain2000Requests_EachProcessedOnceAndNothingElseTouched()
    {
        const int count = 2000;
        var keep = Enumerable.Range(0, 200).SelectMany(i => new[] { $"orgs/o{i % 7}/uploads/a{i}0000/keep.mp4", $"orgs/o{i % 7}/uploads/a{i}.mp4" }).ToList();
        var targets = Enumerable.Range(0, count).SelectMany(FolderObjects).ToList();
        await PutAllAsync(targets.Concat(keep));
        var ids = await InsertAsync(Enumerable.Range(0, count).Select(i => ($"{Folder(i)}raw/match.mp4", (string?)null)));

        var workers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => WorkerAsync()));

        workers.Should().AllSatisfy(w => w.ExitCode.Should().Be(0, w.ToString()));
        workers.Sum(w => w.Json.GetProperty("processed").GetInt32()).Should().Be(count, "each request is processed by exactly one worker");
        workers.Should().AllSatisfy(w => w.Json.GetProperty("processed").GetInt32().Should().BeGreaterThan(0, "every worker takes a share"));
        var rows = await RowsAsync();
        ids.Should().AllSatisfy(id => rows[id].Should().Be((true, (string?)null)));
        (await Backend.KeysAsync()).Should().BeEquivalentTo(keep);

        // State: every object of every request acted on once, by one run, and done.
        var perRequest = await Backend.QueryAsync("SELECT group_key, COUNT(DISTINCT run_id), COUNT(*), COUNT(DISTINCT key), SUM(CASE WHEN outcome = 'done' THEN 1 ELSE 0 END) FROM reclaim_actions GROUP BY group_key");
        perRequest.Should().HaveCount(count);
        perRequest.Should().AllSatisfy(r =>
        {
            r[1].Should().Be("1");
            r[2].Should().Be(r[3]);
            r[4].Should().Be(r[2]);
        });
        perRequest.Sum(r => int.Parse(r[2]!, CultureInfo.InvariantCulture)).Should().Be(targets.Count);
    }

    [Fact]
    public async Task Worker_ReferenceDeletedJustAfterTheRequest_IsExecutedOnARetry()
    {
        // The references query sees the asset's row the first time it runs, and never again (as when the application
        // inserts the job and deletes the media_assets row a moment later).
        await Backend.ExecuteSqlAsync("CREATE SEQUENCE reference_reads");
        await ConfigureLayoutAsync("SELECT org_id AS org, id AS asset FROM media_assets WHERE nextval('reference_reads') = 1");
        await Backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('a1', 'o1')");
        await PutAllAsync(FolderObjects(1));
        var ids = await InsertAsync([($"{Folder(1)}raw/match.mp4", null)]);

        var result = await WorkerAsync();

        result.ExitCode.Should().Be(0, result.ToString());
        (await RowsAsync())[ids[0]].Should().Be((true, (string?)null));
        (await Backend.KeysAsync()).Should().BeEmpty();
        (await Backend.QueryAsync("SELECT last_value FROM reference_reads"))[0][0].Should().NotBe("1", "the first look found the row; a retry looked again");
    }

    private const string ListenerBackends = "SELECT pid FROM pg_stat_activity WHERE application_name = 'reclaim queue listener' AND datname = current_database()";

    private Task<List<string?[]>> TriggersAsync() =>
        Backend.QueryAsync("SELECT tgname FROM pg_trigger WHERE tgrelid = 'media_cleanup_jobs'::regclass AND NOT tgisinternal");

    [Fact]
    public async Task InstallTrigger_Print_ShowsTheSqlAndInstallsNothing()
    {
        var printed = await Backend.CliAsync(Clock, "queue", "install-trigger", "--print");

        printed.ExitCode.Should().Be(0, printed.ToString());
        // --print writes the SQL itself, whatever the format, for psql or a migration file.
        var sql = printed.Stdout;
        sql.Should().Contain("CREATE OR REPLACE FUNCTION reclaim_queue_notify()").And.Contain("pg_notify('reclaim_queue', TG_ARGV[0])")
            .And.Contain("DROP TRIGGER IF EXISTS reclaim_queue_notify ON media_cleanup_jobs")
            .And.Contain("AFTER INSERT ON media_cleanup_jobs FOR EACH STATEMENT EXECUTE FUNCTION reclaim_queue_notify('media_cleanup_jobs')");
        (await TriggersAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task InstallTrigger_Twice_IsHarmless_AndAWorkerPollingEveryTenMinutesTakesANewRowWithinSeconds()
    {
        Configure("    poll_interval: 10m");
        var first = await Backend.CliAsync(Clock, "queue", "install-trigger");
        var second = await Backend.CliAsync(Clock, "queue", "install-trigger", "--policy", "cleanup");
        first.ExitCode.Should().Be(0, first.ToString());
        second.ExitCode.Should().Be(0, second.ToString());
        (await TriggersAsync()).Select(r => r[0]).Should().Equal("reclaim_queue_notify");
        await PutAllAsync([.. FolderObjects(1), .. FolderObjects(2)]);
        var clock = new HeldTimersClock(TimeSpan.FromMinutes(1));
        await using var worker = RunningWorker.Start(Backend.ConfigPath, clock);
        await WaitUntilPollingAsync(clock);

        var ids = await InsertAsync([($"{Folder(1)}raw/match.mp4", null)]);

        (await ProcessedWithinAsync(ids[0], TimeSpan.FromSeconds(60))).Should().BeTrue("the trigger's notification wakes the worker long before its 10-minute poll");
        (await Backend.KeysAsync()).Should().BeEquivalentTo(FolderObjects(2));
        (await RowsAsync())[ids[0]].Error.Should().BeNull();
    }

    [Fact]
    public async Task WithoutTheTrigger_AWorkerTakesANewRowOnlyAtItsPoll()
    {
        Configure("    poll_interval: 10m");
        await PutAllAsync(FolderObjects(1));
        var clock = new HeldTimersClock(TimeSpan.FromMinutes(1));
        await using var worker = RunningWorker.Start(Backend.ConfigPath, clock);
        await WaitUntilPollingAsync(clock);

        var ids = await InsertAsync([($"{Folder(1)}raw/match.mp4", null)]);

        (await ProcessedWithinAsync(ids[0], TimeSpan.FromSeconds(3))).Should().BeFalse("nothing tells the worker before its poll");
        clock.ReleaseHeld();
        (await ProcessedWithinAsync(ids[0], TimeSpan.FromSeconds(60))).Should().BeTrue("the poll finds it");
        (await Backend.KeysAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task ListeningConnectionLost_TheWorkerReconnects_AndIsWokenAgain()
    {
        Configure("    poll_interval: 10m");
        (await Backend.CliAsync(Clock, "queue", "install-trigger")).ExitCode.Should().Be(0);
        await PutAllAsync(FolderObjects(1));
        var clock = new HeldTimersClock(TimeSpan.FromMinutes(1));
        await using var worker = RunningWorker.Start(Backend.ConfigPath, clock);
        await WaitUntilPollingAsync(clock);
        var before = (await Backend.QueryAsync(ListenerBackends)).Single()[0];

        await Backend.ExecuteSqlAsync($"SELECT pg_terminate_backend({before})");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        List<string?[]> after;
        do
        {
            await Task.Delay(100);
            after = await Backend.QueryAsync(ListenerBackends);
        }
        while (!(after.Count == 1 && after[0][0] != before) && DateTime.UtcNow < deadline);
        after.Should().ContainSingle().Which[0].Should().NotBe(before, "the worker opened a new listening connection");
        await WaitUntilPollingAsync(clock);
        var ids = await InsertAsync([($"{Folder(1)}raw/match.mp4", null)]);

        (await ProcessedWithinAsync(ids[0], TimeSpan.FromSeconds(60))).Should().BeTrue("the new connection hears the trigger");
        (await Backend.KeysAsync()).Should().BeEmpty();
    }

    /// <summary>Waits until the worker has looked at the queue and waits for its (held) poll.</summary>
    private static async Task WaitUntilPollingAsync(HeldTimersClock clock)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (clock.Held == 0)
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the worker should wait for its poll");
            await Task.Delay(20);
        }
    }

    /// <summary>A worker (not <c>--once</c>) on the cleanup queue, running until disposed.</summary>
    private sealed class RunningWorker : IAsyncDisposable
    {
        private readonly Workspace _workspace;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<WorkerTotals> _run;

        private RunningWorker(string configPath, TimeProvider clock)
        {
            _workspace = new Workspace(ConfigLoader.Load(configPath), NullLoggerFactory.Instance);
            var service = new QueueService(_workspace, clock, NullLoggerFactory.Instance);
            _run = Task.Run(() => service.RunWorkerAsync(["cleanup"], once: false, _stop.Token));
        }

        public static RunningWorker Start(string configPath, TimeProvider clock) => new(configPath, clock);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _run;
            }
            finally
            {
                await _workspace.DisposeAsync();
                _stop.Dispose();
            }
        }
    }

    [Fact]
    public async Task Worker_BucketColumnNamingAnotherStore_RoutesTheRequestThere()
    {
        var other = "archive-" + Guid.NewGuid().ToString("N")[..10];
        await TestS3Service.CreateBucketAsync(other);
        var yaml = File.ReadAllText(Backend.ConfigPath);
        File.WriteAllText(Backend.ConfigPath, yaml.Replace("stores:\n", $"stores:\n  archive:\n    type: s3\n    bucket: {other}\n    endpoint: {Backend.Endpoint}\n    force_path_style: true\n    access_key: {TestEnvironment.S3rverAccessKey}\n    secret_key: {TestEnvironment.S3rverSecretKey}\n    use_chunk_encoding: false\n", StringComparison.Ordinal));
        await using var archive = Reclaim.Engine.Runtime.StoreFactory.Create(ConfigLoader.Load(Backend.ConfigPath).Stores["archive"], NullLoggerFactory.Instance);
        await PutAllAsync(FolderObjects(3));
        foreach (var key in FolderObjects(3))
        {
            await ((Core.Storage.IObjectContent)archive).WriteAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(key)), CancellationToken.None);
        }

        var ids = await InsertAsync([($"{Folder(3)}raw/match.mp4", other)]);

        var result = await WorkerAsync();

        result.ExitCode.Should().Be(0, result.ToString());
        (await RowsAsync())[ids[0]].Should().Be((true, (string?)null));
        (await Backend.KeysAsync()).Should().BeEquivalentTo(FolderObjects(3), "the policy's own bucket is not the request's");
        var left = new List<string>();
        await foreach (var item in archive.ListAsync(string.Empty, CancellationToken.None))
        {
            left.Add(item.Key);
        }

        left.Should().BeEmpty();
    }

    [Fact]
    public async Task WorkerProcessKilledMidRequest_AnotherWorkerCompletesItAfterTheLease()
    {
        await using var proxy = new FaultProxy(new Uri(Backend.Endpoint), 0) { Delay = TimeSpan.FromMilliseconds(400) };
        var yaml = File.ReadAllText(Backend.ConfigPath);
        File.WriteAllText(Backend.ConfigPath, yaml
            .Replace($"endpoint: {Backend.Endpoint}", $"endpoint: {proxy.Endpoint.ToString().TrimEnd('/')}", StringComparison.Ordinal)
            .Replace("lease: 5m", "lease: 1m\n    concurrency: 1\n    batch_size: 1", StringComparison.Ordinal));
        var keep = Enumerable.Range(0, 6).Select(i => $"orgs/o{i % 7}/uploads/a{i}0/keep.mp4").ToList();
        await PutAllAsync(Enumerable.Range(0, 6).SelectMany(FolderObjects).Concat(keep));
        var ids = await InsertAsync(Enumerable.Range(0, 6).Select(i => ($"{Folder(i)}raw/match.mp4", (string?)null)));

        // A real worker process, through the slow proxy; killed once it holds a lease and has recorded an intent.
        var cli = Path.Combine(AppContext.BaseDirectory, "reclaim.dll");
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", [cli, "worker", "-c", Backend.ConfigPath, "--format", "json"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        _ = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        // Frozen (SIGSTOP) in that state, so that the kill lands in it however the machine schedules the worker.
        await Polling.FreezeWhenAsync([process.Id], async () =>
        {
            try
            {
                return (await Backend.QueryAsync("SELECT COUNT(*) FROM reclaim_actions WHERE outcome = 'pending'"))[0][0] != "0"
                    && (await Backend.QueryAsync("SELECT COUNT(*) FROM reclaim_queue_leases WHERE lease_until > 0"))[0][0] == "1";
            }
            catch (Npgsql.PostgresException)
            {
                return false; // the worker has not created its state tables yet
            }
        }, 60, () => "the worker to hold a request with an intent recorded", pollMilliseconds: 20);
        process.Kill();
        await process.WaitForExitAsync();
        var leased = await Backend.QueryAsync("SELECT request_id FROM reclaim_queue_leases WHERE lease_until > 0");
        leased.Should().ContainSingle("the killed worker held one request");
        (await RowsAsync())[leased[0][0]!].Processed.Should().BeFalse();

        proxy.Delay = TimeSpan.Zero;
        var early = await Backend.CliAsync(new ManualClock(DateTimeOffset.UtcNow), "worker", "--once", "--policy", "cleanup");
        (await RowsAsync())[leased[0][0]!].Processed.Should().BeFalse("its lease has not expired");
        var late = await Backend.CliAsync(new ManualClock(DateTimeOffset.UtcNow.AddMinutes(2)), "worker", "--once", "--policy", "cleanup");

        early.ExitCode.Should().Be(0, early.ToString());
        late.ExitCode.Should().Be(0, late.ToString());
        late.Json.GetProperty("processed").GetInt32().Should().Be(1);
        var rows = await RowsAsync();
        ids.Should().AllSatisfy(id => rows[id].Should().Be((true, (string?)null)));
        (await Backend.KeysAsync()).Should().BeEquivalentTo(keep);
    }

    [Fact]
    public async Task Worker_BehindAFaultyProxy_CompletesThroughRetries_AndRequestsThatKeepFailingEndWithAnError()
    {
        // 503 SlowDown, 500, resets and requests held unanswered for longer than the store's timeout, in turn.
        await using var proxy = new FaultProxy(new Uri(Backend.Endpoint), 0.25) { Kinds = [Fault.SlowDown, Fault.InternalError, Fault.Reset, Fault.Timeout] };
        var yaml = File.ReadAllText(Backend.ConfigPath);
        // The same bucket through the proxy, with a single store-level retry, so faults reach the queue's retries.
        File.WriteAllText(Backend.ConfigPath, yaml
            .Replace("stores:\n", $"stores:\n  faulty:\n    type: s3\n    bucket: {Bucket}\n    endpoint: {proxy.Endpoint.ToString().TrimEnd('/')}\n    force_path_style: true\n    access_key: {TestEnvironment.S3rverAccessKey}\n    secret_key: {TestEnvironment.S3rverSecretKey}\n    use_chunk_encoding: false\n    max_attempts: 2\n    timeout: 1s\n", StringComparison.Ordinal)
            .Replace("store: media", "store: faulty", StringComparison.Ordinal)
            .Replace("max_attempts: 3", "max_attempts: 8", StringComparison.Ordinal));
        var keep = Enumerable.Range(0, 40).Select(i => $"orgs/o{i % 7}/uploads/a{i}0/keep.mp4").ToList();
        await PutAllAsync(Enumerable.Range(0, 40).SelectMany(FolderObjects).Concat(keep));
        var ids = await InsertAsync(Enumerable.Range(0, 40).Select(i => ($"{Folder(i)}raw/match.mp4", (string?)null)));

        var flaky = await WorkerAsync();

        flaky.ExitCode.Should().Be(0, flaky.ToString());
        proxy.Faults.Should().BeGreaterThan(10);
        proxy.CountOf(Fault.Timeout).Should().BeGreaterThan(0, "some requests were held past the store's timeout");
        var rows = await RowsAsync();
        ids.Should().AllSatisfy(id => rows[id].Should().Be((true, (string?)null)));
        (await Backend.KeysAsync()).Should().BeEquivalentTo(keep);

        proxy.FailureRate = 1;
        await PutAllAsync(FolderObjects(100));
        var doomed = await InsertAsync([($"{Folder(100)}raw/match.mp4", null)]);

        var down = await WorkerAsync();

        down.ExitCode.Should().Be(4, down.ToString());
        (await RowsAsync())[doomed[0]].Error.Should().StartWith("failed after 8 attempts: ");
        (await Backend.KeysAsync()).Should().BeEquivalentTo(keep.Concat(FolderObjects(100)));
    }
}
