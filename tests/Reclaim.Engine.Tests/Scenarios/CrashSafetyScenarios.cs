using System.Globalization;
using System.Text;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// A quarantine killed (SIGKILL) or interrupted (SIGINT) in the middle, in a real <c>reclaim</c> child process, and
/// then purged and restored: the purge deletes nothing of it, every object comes back byte-identical, nothing stays in the trash, and the run says it was
/// interrupted. The same scenarios run on a folder + SQLite and on S3 (s3rver) + PostgreSQL.
/// </summary>
public abstract class CrashSafetyScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private const string Trash = ".reclaim-trash/";

    private readonly TBackend _backend = new();

    /// <summary>On S3, the proxy the child processes reach the server through (latency, and a count of the copies it answered).</summary>
    private FaultProxy? _proxy;

    /// <summary>Orphan groups per trial: enough sub-batches of 1000 objects that a stop leaves some not started.</summary>
    protected abstract int OrphanGroups { get; }

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        await _backend.ExecuteSqlAsync($"CREATE TABLE media_assets (id {_backend.KeyText} NOT NULL, org_id {_backend.KeyText} NOT NULL, PRIMARY KEY (org_id, id))");
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('live-1', 'o1'), ('live-2', 'o2')");
        WriteConfig();
        if (_backend is S3PostgresBackend s3)
        {
            // The test's own store (opened by the first config) talks to the server; the child processes, through the proxy.
            _proxy = new FaultProxy(new Uri(s3.Endpoint + "/"), 0) { RecordRequests = true };
            s3.ProxyEndpoint = _proxy.Endpoint.ToString().TrimEnd('/');
            WriteConfig();
        }
    }

    private void WriteConfig() => _backend.WriteConfig("""
              - name: orphan-uploads
                type: orphans
                store: media
                layout: "orgs/{org}/uploads/{asset}/"
                references:
                  catalog: app
                  query: "SELECT org_id AS org, id AS asset FROM media_assets"
                min_age: 1s
                action: quarantine
            """, $"""
            guards:
              max_delete_fraction: 1.0
              min_age_floor: 1s
            {_backend.StateYaml}
            """);

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }

    /// <summary>Objects moved into the trash so far by the child processes: files in the folder's trash, or CopyObject requests the proxy answered.</summary>
    private int MovedSoFar()
    {
        if (_proxy is not null)
        {
            return _proxy.Requests.Count(r => r.Method == "PUT" && r.CopySource is not null);
        }

        var trash = Path.Combine(_backend.Dir, "media", Trash);
        return Directory.Exists(trash) ? Directory.EnumerateFiles(trash, "*", SearchOption.AllDirectories).Count() : 0;
    }

    private void SetLatency(TimeSpan delay)
    {
        if (_proxy is not null)
        {
            _proxy.Delay = delay;
        }
    }

    private async Task<long> CountAsync(string sql) =>
        (await _backend.StateQueryAsync(sql)).SingleOrDefault()?[0] is { } count ? long.Parse(count, CultureInfo.InvariantCulture) : 0;

    private static byte[] Content(string key) => Encoding.UTF8.GetBytes($"{key} {new string('x', key.Length % 23)}");

    [Fact]
    public async Task KilledAtRandomPointsOfAQuarantine_ThenPurgedAndRestored_EveryObjectIsBackByteIdentical_AndTheRunSaysInterrupted()
    {
        var random = new Random(20261202);
        var killedMidRun = 0;
        var orphanObjects = OrphanGroups * 3;
        int[] killPoints = [0, random.Next(1, 1000), random.Next(1000, orphanObjects * 9 / 10)]; // objects moved when killed: before any, in the first sub-batch, later
        for (var trial = 0; trial < killPoints.Length; trial++)
        {
            // Arrange: a fresh set of objects (the earlier trial's are back in place, and more are added).
            var keys = await SeedAsync($"t{trial}");
            var movedBefore = MovedSoFar();

            // Act: a sweep in a child process, SIGKILLed once its quarantine has moved killPoints[trial] objects
            // (on S3 each request is slowed by the proxy, so the kill lands while copies are in flight), then a
            // trash purge and a restore.
            SetLatency(TimeSpan.FromMilliseconds(10));
            await using var sweep = ReclaimProcess.Start("sweep", "--yes", "--format", "json", "-c", _backend.ConfigPath);
            var runId = await WaitForRunningRunAsync(sweep);
            // Frozen (SIGSTOP) once there, so that the kill lands in the state seen.
            await Polling.FreezeWhenAsync([sweep.Id], async () => sweep.HasExited || (await CountAsync($"SELECT COUNT(*) FROM reclaim_actions WHERE run_id = '{runId}'") > 0 && MovedSoFar() - movedBefore >= killPoints[trial]),
                120, () => $"{killPoints[trial]} objects to be moved", pollMilliseconds: 5);
            var wasRunning = !sweep.HasExited;
            sweep.Kill();
            SetLatency(TimeSpan.Zero);
            killedMidRun += wasRunning && await PendingOrUnfinishedAsync(runId) ? 1 : 0;
            var beforePurge = await _backend.KeysAsync();
            var purge = await _backend.CliAsync(TimeProvider.System, "trash", "purge");
            var restore = await _backend.CliAsync(TimeProvider.System, "restore", runId);

            // Assert
            purge.ExitCode.Should().Be(0, purge.ToString());
            (await CountAsync($"SELECT COUNT(*) FROM reclaim_actions WHERE run_id = '{runId}' AND outcome = 'pending'")).Should().Be(0, "the purge settled the killed run first");
            restore.ExitCode.Should().BeOneOf([0, 2], restore.ToString()); // 2: the kill came before anything was moved
            var all = await _backend.ListAllAsync();
            all.Where(o => o.Key.StartsWith(Trash, StringComparison.Ordinal)).Should().BeEmpty($"nothing of run {runId} may stay in the trash (trial {trial})");
            all.Select(o => o.Key).Should().BeEquivalentTo(keys, $"every object is back (trial {trial}; the purge found {beforePurge.Count(k => k.StartsWith(Trash, StringComparison.Ordinal))} in the trash and deleted none)");
            foreach (var key in keys)
            {
                (await ((Core.Storage.IObjectContent)_backend.Store).ReadAllAsync(key, CancellationToken.None)).Should().Equal(Content(key), $"'{key}' is byte-identical");
            }

            var show = await _backend.CliAsync(TimeProvider.System, "runs", "show", runId);
            show.ExitCode.Should().Be(0, show.ToString());
            var run = show.Json.GetProperty("run");
            if (wasRunning)
            {
                run.GetProperty("status").GetString().Should().BeOneOf(["interrupted", "succeeded"]);
            }

            show.Json.GetProperty("actions").EnumerateArray().Should().NotContain(a => a.GetProperty("outcome").GetString() == "pending");
            if (run.GetProperty("status").GetString() == "interrupted")
            {
                run.GetProperty("error").GetString().Should().Contain("ended before the run finished");
            }

            // The next trial starts from the live groups alone.
            foreach (var batch in keys.Where(k => k.Contains($"/t{trial}-", StringComparison.Ordinal)).Chunk(_backend.Store.MaxDeleteBatch))
            {
                (await _backend.Store.DeleteAsync(batch, CancellationToken.None)).Should().BeEmpty();
            }
        }

        killedMidRun.Should().BeGreaterThan(0, "at least one kill landed while the quarantine was under way");
    }

    [Fact]
    public async Task InterruptedMidBatch_RecordsTheSubBatchesInFlight_LeavesNothingPending_AndRestoresFully()
    {
        var keys = await SeedAsync("sigint");
        await using var sweep = ReclaimProcess.Start("sweep", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        var runId = await WaitForRunningRunAsync(sweep);
        await WaitForAsync(async () => (await _backend.StateQueryAsync($"SELECT COUNT(*) FROM reclaim_actions WHERE run_id = '{runId}'")).Single()[0] != "0", "the first intent");

        await sweep.SignalAsync("INT");
        var code = await sweep.WaitForExitAsync();

        code.Should().Be(130, sweep.ToString());
        sweep.Stderr.Should().Contain("stopping after the batches in flight");
        var status = (await _backend.StateQueryAsync($"SELECT status, error FROM reclaim_runs WHERE id = '{runId}'")).Single();
        status[0].Should().Be("interrupted");
        status[1].Should().Contain("stopped on request");
        var outcomes = await _backend.StateQueryAsync($"SELECT outcome, key, trash_key FROM reclaim_actions WHERE run_id = '{runId}'");
        outcomes.Should().NotContain(a => a[0] == "pending", "every sub-batch started was finished and recorded");
        outcomes.Count.Should().BeLessThan(keys.Count, "the sub-batches not started were not recorded either");
        var stored = (await _backend.KeysAsync());
        foreach (var done in outcomes.Where(a => a[0] == "done"))
        {
            stored.Should().Contain(done[2]!).And.NotContain(done[1]!);
        }

        var restore = await _backend.CliAsync(TimeProvider.System, "restore", runId);
        restore.ExitCode.Should().Be(0, restore.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(keys);
        foreach (var key in keys)
        {
            (await ((Core.Storage.IObjectContent)_backend.Store).ReadAllAsync(key, CancellationToken.None)).Should().Equal(Content(key));
        }
    }

    [Fact]
    public async Task KilledQuarantine_PurgedPastRetention_KeepsItsTrashObjects_WhichARestoreBringsBackWhole()
    {
        // Arrange: a quarantine SIGKILLed once it has moved objects, its actions unsettled.
        var keys = await SeedAsync("purge");
        var movedBefore = MovedSoFar();
        SetLatency(TimeSpan.FromMilliseconds(10));
        await using var sweep = ReclaimProcess.Start("sweep", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        var runId = await WaitForRunningRunAsync(sweep);
        // On S3 the originals go with the sub-batch's DeleteObjects, after its copies: wait for the first one to be answered.
        // Frozen (SIGSTOP) once there, so that the kill lands before the run can end.
        await Polling.FreezeWhenAsync([sweep.Id], () => Task.FromResult(sweep.HasExited || (MovedSoFar() - movedBefore >= 50
            && (_proxy is null || _proxy.Requests.Any(r => r.Method == "POST" && r.Url.Contains("delete", StringComparison.Ordinal))))), 120, () => "objects to be moved", pollMilliseconds: 5);
        sweep.HasExited.Should().BeFalse(sweep.ToString());
        sweep.Kill();
        SetLatency(TimeSpan.Zero);
        (await PendingOrUnfinishedAsync(runId)).Should().BeTrue("the kill must leave the run unsettled");
        var before = await _backend.KeysAsync();
        var onlyInTrash = keys.Where(k => !before.Contains(k) && before.Contains($"{Trash}{runId}/{k}")).ToList();
        onlyInTrash.Should().NotBeEmpty("some objects must be in the trash alone when the purge comes");

        // Act: a purge a month later, every trash object past retention; then a restore.
        var purge = await _backend.CliAsync(new ManualClock(DateTimeOffset.UtcNow.AddDays(30)), "trash", "purge");
        var afterPurge = await _backend.KeysAsync();
        var restore = await _backend.CliAsync(TimeProvider.System, "restore", runId);

        // Assert
        purge.ExitCode.Should().Be(0, purge.ToString());
        afterPurge.Should().Contain(onlyInTrash.Select(k => $"{Trash}{runId}/{k}"), "the purge leaves the objects of a run it found unsettled");
        keys.Where(k => !afterPurge.Contains(k) && !afterPurge.Contains($"{Trash}{runId}/{k}")).Should().BeEmpty("nothing of the run is lost (a trash copy whose original is still in place may go)");
        restore.ExitCode.Should().Be(0, restore.ToString());
        var all = await _backend.ListAllAsync();
        all.Where(o => o.Key.StartsWith(Trash, StringComparison.Ordinal)).Should().BeEmpty();
        all.Select(o => o.Key).Should().BeEquivalentTo(keys);
        foreach (var key in keys)
        {
            (await ((Core.Storage.IObjectContent)_backend.Store).ReadAllAsync(key, CancellationToken.None)).Should().Equal(Content(key), $"'{key}' is byte-identical");
        }
    }

    [Fact]
    public async Task Worker_TerminatedWhileItsFirstCycleWaitsOnTheState_ExitsZero_AndTheRequestWaitsForTheNextWorker()
    {
        // Arrange: one request of the own queue, and the state held by another connection, so that the worker's
        // start (its migration on SQLite, its first look at the queue on PostgreSQL) waits on it when it is stopped.
        string[] keys = ["orgs/o9/uploads/requested/raw.mp4", "orgs/o9/uploads/requested/thumb.jpg"];
        foreach (var key in keys)
        {
            await _backend.PutAsync(key, Content(key));
        }

        var enqueue = await _backend.CliAsync(TimeProvider.System, "enqueue", "--store", "media", "--prefix", "orgs/o9/uploads/requested/");
        enqueue.ExitCode.Should().Be(0, enqueue.ToString());
        var id = enqueue.Json.GetProperty("ids")[0].GetInt64().ToString(CultureInfo.InvariantCulture);
        await using var hold = await HoldStateAsync();

        // Act: SIGTERM once the worker handles signals and waits on the state; the state is let go once the worker has
        // taken the signal in.
        // -v: its first line (runtime_settings, at debug) comes once its signal handlers are in place.
        await using var worker = ReclaimProcess.Start("worker", "-v", "-c", _backend.ConfigPath);
        await WaitForAsync(() => Task.FromResult(worker.HasExited || worker.Stderr.Contains("runtime_settings", StringComparison.Ordinal)), "the worker to start");
        if (_backend is S3PostgresBackend)
        {
            await WaitForAsync(async () => worker.HasExited || await CountAsync("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%reclaim_queue%'") > 0,
                "the worker's first look at the queue to wait on the lock");
        }

        await worker.SignalAsync("TERM");
        var noticed = DateTime.UtcNow.AddSeconds(60);
        while (!worker.Stderr.Contains("SIGTERM:", StringComparison.Ordinal) && !worker.HasExited && DateTime.UtcNow < noticed)
        {
            await Task.Delay(10);
        }

        await hold.DisposeAsync();
        var code = await worker.WaitForExitAsync();

        // Assert: a clean stop, and the request neither executed nor failed nor leased: the next worker takes it.
        code.Should().Be(0, worker.ToString());
        worker.Stderr.Should().NotContain("cancelled.");
        (await _backend.StateQueryAsync($"SELECT processed_at, error FROM reclaim_queue WHERE id = {id}")).Single().Should().Equal([null, null]);
        (await CountAsync($"SELECT COUNT(*) FROM reclaim_queue_leases WHERE request_id = '{id}'")).Should().Be(0);
        var next = await _backend.CliAsync(TimeProvider.System, "worker", "--once");
        next.ExitCode.Should().Be(0, next.ToString());
        next.Json.GetProperty("processed").GetInt32().Should().Be(1, next.ToString());
        var stored = await _backend.KeysAsync();
        stored.Should().NotContain(keys);
        stored.Count(k => k.StartsWith(Trash, StringComparison.Ordinal) && k.Contains("/orgs/o9/uploads/requested/", StringComparison.Ordinal)).Should().Be(keys.Length);
    }

    /// <summary>
    /// Holds Reclaim's state so that a worker starting now waits on it: SQLite's write lock (the migration's
    /// transaction waits for it) or, on PostgreSQL, an exclusive lock on the queue table (the first look at the queue
    /// waits for it). Disposing lets it go.
    /// </summary>
    private async Task<IAsyncDisposable> HoldStateAsync()
    {
        System.Data.Common.DbConnection connection = _backend is S3PostgresBackend pg
            ? new Npgsql.NpgsqlConnection(pg.ConnectionString)
            : new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_backend.Dir, ".reclaim", "state.db")};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = _backend is S3PostgresBackend ? "BEGIN; LOCK TABLE reclaim_queue IN ACCESS EXCLUSIVE MODE" : "BEGIN IMMEDIATE";
        await command.ExecuteNonQueryAsync();
        return connection; // closing it rolls the transaction back
    }

    /// <summary>Writes the orphan groups (three objects each) plus the live groups, and waits until they are past <c>min_age</c>.</summary>
    private async Task<HashSet<string>> SeedAsync(string label)
    {
        var keys = Enumerable.Range(0, OrphanGroups)
            .SelectMany(i => new[] { "raw.mp4", "streaming/seg_000.ts", "thumb.jpg" }.Select(f => $"orgs/o{i % 7}/uploads/{label}-{i:D5}/{f}"))
            .Concat(["orgs/o1/uploads/live-1/raw.mp4", "orgs/o2/uploads/live-2/raw.mp4"])
            .ToList();
        var existing = await _backend.KeysAsync();
        await Parallel.ForEachAsync(keys.Where(k => !existing.Contains(k)), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (key, _) => await _backend.PutAsync(key, Content(key)));
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // older than min_age, in S3's whole seconds too
        return [.. await _backend.KeysAsync()];
    }

    private async Task<string> WaitForRunningRunAsync(ReclaimProcess sweep)
    {
        string? runId = null;
        await WaitForAsync(async () =>
        {
            if (sweep.HasExited)
            {
                throw new InvalidOperationException($"the sweep exited before its run was recorded\n{sweep}");
            }

            runId = (await _backend.StateQueryAsync("SELECT id FROM reclaim_runs WHERE kind = 'sweep' AND status = 'running'")).SingleOrDefault()?[0];
            return runId is not null;
        }, "the sweep's run to be recorded");
        return runId!;
    }

    private async Task<bool> PendingOrUnfinishedAsync(string runId)
    {
        var pending = (await _backend.StateQueryAsync($"SELECT COUNT(*) FROM reclaim_actions WHERE run_id = '{runId}' AND outcome = 'pending'")).Single()[0];
        var status = (await _backend.StateQueryAsync($"SELECT status FROM reclaim_runs WHERE id = '{runId}'")).Single()[0];
        return int.Parse(pending!, CultureInfo.InvariantCulture) > 0 || status == "running";
    }

    private static Task WaitForAsync(Func<Task<bool>> condition, string what) => Polling.WaitForAsync(condition, 120, () => what, pollMilliseconds: 5);
}

/// <summary>On a folder and SQLite.</summary>
public sealed class FolderSqliteCrashSafetyScenarios : CrashSafetyScenarios<FolderSqliteBackend>
{
    protected override int OrphanGroups => 2500;
}

/// <summary>On S3 (s3rver) and PostgreSQL.</summary>
public sealed class S3PostgresCrashSafetyScenarios : CrashSafetyScenarios<S3PostgresBackend>
{
    protected override int OrphanGroups => 1700;
}
