using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Reclaim.Core.State;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;
using Xunit.Abstractions;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// A writer commits reference rows for orphan groups while a large sweep of them runs: every group whose row was
/// committed before its re-check is kept. The re-check of a sub-batch comes after its intent is recorded (and, on
/// S3, after its objects are copied to the trash), so a row committed before the group's intent — or, behind the
/// proxy, before the last copy of the group's objects was answered — was committed before the re-check: the test
/// knows those groups for certain and requires each to be whole at its original keys.
/// </summary>
public abstract class LateReferenceScenarios<TBackend>(ITestOutputHelper output) : IAsyncLifetime
    where TBackend : Backend, new()
{
    private const int OrphanGroups = 900;

    private readonly TBackend _backend = new();
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow.AddDays(2));

    /// <summary>The proxy in front of the S3 server (latency per request), or <see langword="null"/> on a folder.</summary>
    private FaultProxy? _proxy;

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        if (!_backend.IsPostgres)
        {
            await _backend.ExecuteSqlAsync("PRAGMA journal_mode = WAL"); // the writer commits while the sweep reads
        }

        await _backend.ExecuteSqlAsync($"CREATE TABLE media_assets (id {_backend.KeyText} NOT NULL, org_id {_backend.KeyText} NOT NULL, PRIMARY KEY (org_id, id))");
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('live', 'o1')");
        Configure();
    }

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }

    private void Configure() => _backend.WriteConfig("""
          - name: orphan-uploads
            type: orphans
            store: media
            layout: "orgs/{org}/uploads/{asset}/"
            references:
              catalog: app
              query: "SELECT org_id AS org, id AS asset FROM media_assets"
            min_age: 24h
            action: quarantine
        """, $"""
        guards:
          max_delete_fraction: 1.0
        {_backend.StateYaml}
        """);

    private static string Group(int i) => $"orgs/o1/uploads/a{i:D4}/";

    [Fact]
    public async Task RowsCommittedDuringALargeSweep_KeepEveryGroupWhoseRowCameBeforeItsReCheck()
    {
        // Arrange: 900 orphan groups of three objects (three sub-batches), then on S3 a proxy adding 20 ms a request.
        await SeedAsync();
        if (_backend is S3PostgresBackend s3)
        {
            _proxy = new FaultProxy(new Uri(s3.Endpoint + "/"), 0) { Delay = TimeSpan.FromMilliseconds(20), RecordRequests = true };
            s3.ProxyEndpoint = _proxy.Endpoint.ToString().TrimEnd('/');
            Configure();
        }

        var order = Enumerable.Range(0, OrphanGroups).ToArray();
        new Random(7).Shuffle(order);
        // The writer takes its 300 groups from the end of the key order first: the gate reaches them last, so rows
        // land before their group's re-check however quickly the first sub-batches go (a folder on a quiet machine).
        var writer = new LateWriter(_backend, [.. order.Take(300).OrderDescending()]);

        // Act: the sweep, and the writer committing rows from the moment its run is recorded (planning is over).
        var sweep = _backend.CliAsync(_clock, "sweep", "--yes");
        await writer.RunUntilAsync(sweep);
        var result = await sweep;

        // Assert
        result.ExitCode.Should().Be(0, result.ToString());
        var runId = result.Json.GetProperty("run").GetProperty("id").GetString()!;
        var beforeReCheck = writer.CommittedBeforeIntent.ToHashSet();
        if (_proxy is not null)
        {
            beforeReCheck.UnionWith(CommittedBeforeTheirLastCopy(runId, writer.Committed));
        }

        var stored = await _backend.KeysAsync();
        if (_proxy is not null)
        {
            // Behind the proxy the sweep is slow enough that rows always land before some re-checks. A folder sweep on a
            // quiet machine can finish before the writer's first commit; then it checks only the rows that did land.
            beforeReCheck.Should().NotBeEmpty("some rows must land before their group's re-check for the test to mean anything");
        }

        foreach (var group in beforeReCheck)
        {
            stored.Where(k => k.StartsWith(Group(group), StringComparison.Ordinal)).Should().HaveCount(3,
                $"the row of '{Group(group)}' was committed before its re-check, so the group must be kept whole");
        }

        var removedLate = writer.Committed.Keys.Count(g => !stored.Contains(Group(g) + "raw.mp4"));
        var window = result.Json.GetProperty("run").GetProperty("summary").GetProperty("recheck_window_ms");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rows committed during the sweep: {writer.Committed.Count}; certainly before their re-check (kept): {beforeReCheck.Count}; committed after it (removed): {removedLate}; " +
            $"re-check window over {window.GetProperty("sub_batches").GetInt32()} sub-batches: median {window.GetProperty("median").GetDouble()} ms, max {window.GetProperty("max").GetDouble()} ms"));
        stored.Count(k => k.StartsWith(".reclaim-trash/", StringComparison.Ordinal)).Should().BeGreaterThan(0, "the sweep quarantined the groups no row saved");
    }

    [Fact]
    public async Task RowsCommittedWhileTheGateHoldsTheLaterSubBatches_KeepTheirGroupsByteIdentical_AndTheFirstSubBatchGoes()
    {
        // Arrange: the 900 orphan groups planned (three sub-batches), and the gate held as each sub-batch after the
        // first starts, until rows for every other group of that sub-batch are committed. Nothing here depends on how
        // quickly the store goes: the held sub-batch's re-read and re-check come after the hook returns.
        var keys = await SeedAsync();
        await using var workspace = new Runtime.Workspace(Engine.Configuration.ConfigLoader.Load(_backend.ConfigPath), NullLoggerFactory.Instance);
        var plan = (await new ReclaimEngine(workspace, _clock, NullLoggerFactory.Instance).PlanAsync(["orphan-uploads"], force: false, progress: null, CancellationToken.None)).Policies.Single();
        plan.Groups.Count().Should().Be(OrphanGroups);
        var state = await workspace.StateAsync(CancellationToken.None);
        var runId = RunIds.New(_clock.GetUtcNow());
        await state.StartRunAsync(new RunRecord(runId, "sweep", _clock.GetUtcNow(), null, RunStatus.Running, "test", "orphan-uploads", false, null), CancellationToken.None);
        var subBatches = new ConcurrentDictionary<int, string[]>();
        var saved = new ConcurrentBag<string>();
        var run = new GateRun(runId, "test", false)
        {
            BeforeSubBatch = async (index, groups, _) =>
            {
                subBatches[index] = [.. groups.Select(g => g.GroupKey)];
                if (index == 0)
                {
                    return;
                }

                foreach (var group in groups.Where((_, i) => i % 2 == 0))
                {
                    await _backend.ExecuteSqlAsync($"INSERT INTO media_assets (id, org_id) VALUES ('{group.Values[1]}', '{group.Values[0]}')");
                    saved.Add(group.GroupKey);
                }
            },
        };
        var removal = new GroupRemoval(plan, workspace.Store("media"), workspace.Catalog("app"), "SELECT org_id AS org, id AS asset FROM media_assets",
            Core.Layouts.Layout.Parse("orgs/{org}/uploads/{asset}/"), plan.MinAge, ".reclaim-trash/");

        // Act
        var totals = await new DestructiveGate(state, _clock, NullLogger.Instance).RemoveGroupsAsync(run, removal, CancellationToken.None);

        // Assert: the held sub-batches' referenced groups are whole at their keys, byte-identical, with no trash copy;
        // every other group (all of the first sub-batch's) is in the trash.
        subBatches.Keys.Order().Should().Equal(0, 1, 2);
        saved.Should().HaveCount(subBatches[1].Length / 2 + subBatches[1].Length % 2 + subBatches[2].Length / 2 + subBatches[2].Length % 2);
        totals.GroupsSkipped.Should().Be(saved.Count);
        totals.ObjectsDone.Should().Be((OrphanGroups - saved.Count) * 3);
        var stored = await _backend.KeysAsync();
        var trash = $".reclaim-trash/{runId}/";
        foreach (var group in saved)
        {
            var own = keys.Where(k => k.StartsWith(group, StringComparison.Ordinal)).ToList();
            own.Should().HaveCount(3);
            foreach (var key in own)
            {
                stored.Should().Contain(key).And.NotContain(trash + key, $"the row of '{group}' was committed before its re-check");
                (await ((Core.Storage.IObjectContent)_backend.Store).ReadAllAsync(key, CancellationToken.None)).Should().Equal(Encoding.UTF8.GetBytes(key));
            }
        }

        foreach (var key in keys.Where(k => k.StartsWith("orgs/o1/uploads/a", StringComparison.Ordinal) && !saved.Any(g => k.StartsWith(g, StringComparison.Ordinal))))
        {
            stored.Should().Contain(trash + key).And.NotContain(key);
        }

        subBatches[0].Should().NotIntersectWith(saved);
        var skipped = (await _backend.StateQueryAsync($"SELECT group_key, error FROM reclaim_actions WHERE run_id = '{runId}' AND outcome = 'skipped'")).ToList();
        skipped.Select(a => a[0]).Distinct().Should().BeEquivalentTo(saved);
    }

    /// <summary>Writes the 900 orphan groups of three objects (each its key as content) and the live group.</summary>
    private async Task<List<string>> SeedAsync()
    {
        var keys = Enumerable.Range(0, OrphanGroups).SelectMany(i => new[] { "raw.mp4", "streaming/seg_000.ts", "thumb.jpg" }.Select(f => Group(i) + f))
            .Append("orgs/o1/uploads/live/raw.mp4").ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, _) => await _backend.PutAsync(key, Encoding.UTF8.GetBytes(key)));
        return keys;
    }

    /// <summary>Groups whose row committed before the proxy answered the last CopyObject of their objects (the re-check of a sub-batch follows all its copies).</summary>
    private IEnumerable<int> CommittedBeforeTheirLastCopy(string runId, IReadOnlyDictionary<int, long> committed)
    {
        var lastCopy = new Dictionary<int, long>();
        foreach (var request in _proxy!.Requests.Where(r => r.Method == "PUT" && r.CopySource is not null))
        {
            var marker = $"/.reclaim-trash/{runId}/orgs/o1/uploads/a";
            var at = request.Url.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0 && int.TryParse(request.Url.AsSpan(at + marker.Length, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var group))
            {
                lastCopy[group] = Math.Max(lastCopy.GetValueOrDefault(group), request.Answered);
            }
        }

        return committed.Where(c => lastCopy.TryGetValue(c.Key, out var copied) && c.Value < copied).Select(c => c.Key);
    }

    /// <summary>Commits a reference row for each of its groups in turn, and notes which were committed before their group's intent was recorded.</summary>
    private sealed class LateWriter(Backend backend, IReadOnlyList<int> groups)
    {
        /// <summary>Each group's row, with when its commit returned (<see cref="Stopwatch.GetTimestamp"/>).</summary>
        public ConcurrentDictionary<int, long> Committed { get; } = new();

        /// <summary>Groups that had no action recorded yet right after their row was committed.</summary>
        public ConcurrentBag<int> CommittedBeforeIntent { get; } = [];

        public async Task RunUntilAsync(Task sweep)
        {
            while (!sweep.IsCompleted && await CountAsync("SELECT COUNT(*) FROM reclaim_runs WHERE status = 'running'") == 0)
            {
                await Task.Delay(2);
            }

            foreach (var group in groups)
            {
                if (sweep.IsCompleted)
                {
                    return;
                }

                await backend.ExecuteSqlAsync($"INSERT INTO media_assets (id, org_id) VALUES ('a{group:D4}', 'o1')");
                Committed[group] = Stopwatch.GetTimestamp();
                if (await CountAsync($"SELECT COUNT(*) FROM reclaim_actions WHERE group_key = '{Group(group)}'") == 0)
                {
                    CommittedBeforeIntent.Add(group);
                }
            }
        }

        /// <summary>A count from the state database; 0 while it has no tables.</summary>
        private async Task<long> CountAsync(string sql) =>
            (await backend.StateQueryAsync(sql)).SingleOrDefault()?[0] is { } count ? long.Parse(count, CultureInfo.InvariantCulture) : 0;
    }
}

/// <summary>On a folder and SQLite.</summary>
public sealed class FolderSqliteLateReferenceScenarios(ITestOutputHelper output) : LateReferenceScenarios<FolderSqliteBackend>(output);

/// <summary>On S3 (s3rver behind a 20 ms latency proxy) and PostgreSQL.</summary>
public sealed class S3PostgresLateReferenceScenarios(ITestOutputHelper output) : LateReferenceScenarios<S3PostgresBackend>(output);
