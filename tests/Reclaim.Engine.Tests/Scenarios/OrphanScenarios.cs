using System.Text;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// The orphans policy end to end, through the real command line, on a real store and catalog. The same
/// scenarios run on a folder + SQLite, on S3 (s3rver) + PostgreSQL and on a folder + MariaDB.
/// </summary>
public abstract class OrphanScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private static readonly TimeSpan MinAge = TimeSpan.FromHours(24);

    private readonly TBackend _backend = new();
    private ManualClock _clock = new();

    /// <summary>Groups some catalog row references: (org, asset).</summary>
    private static readonly (string Org, string Asset)[] Referenced =
    [
        ("o1", "a1"),
        ("o1", "abc"),
        ("o2", "caf\u00e9"),
        ("o2", "sp ace+%#?'q\""),
        ("o3", "\U0001F3AC"),
    ];

    /// <summary>Old groups no row references.</summary>
    private static readonly (string Org, string Asset)[] Orphans =
    [
        ("o1", "abcd"),
        ("o2", "cafe\u0301"),
        ("o1", "gone-1"),
    ];

    private static readonly string[] Unmatched = ["orgs/o1/exports/r.csv", "tmp/x.part", "orgs/o1/uploads/loose.mp4"];

    private static string Group(string org, string asset) => $"orgs/{org}/uploads/{asset}/";

    private static string[] Files(string org, string asset) =>
        [$"{Group(org, asset)}raw/v.mp4", $"{Group(org, asset)}streaming/seg_000.ts", $"{Group(org, asset)}thumbnail.jpg"];

    private static byte[] Content(string key) => Encoding.UTF8.GetBytes($"content of {key} " + new string('x', key.Length % 17));

    private HashSet<string> OrphanKeys => Orphans.SelectMany(o => Files(o.Org, o.Asset)).ToHashSet(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        await _backend.ExecuteSqlAsync($"CREATE TABLE media_assets (id {_backend.KeyText} NOT NULL, org_id {_backend.KeyText} NOT NULL, PRIMARY KEY (org_id, id))");
        foreach (var (org, asset) in Referenced)
        {
            await _backend.ExecuteSqlAsync($"INSERT INTO media_assets (id, org_id) VALUES ('{asset.Replace("'", "''", StringComparison.Ordinal)}', '{org}')");
        }

        Configure("quarantine");
    }

    public Task DisposeAsync() => _backend.DisposeAsync();

    private void Configure(string action, string query = "SELECT org_id AS org, id AS asset FROM media_assets", string guards = "max_delete_fraction: 0.5")
    {
        _backend.WriteConfig($"""
              - name: orphan-uploads
                type: orphans
                store: media
                layout: "orgs/{"{org}"}/uploads/{"{asset}"}/"
                references:
                  catalog: app
                  query: "{query}"
                min_age: 24h
                action: {action}
            """, $"""
            guards:
              {guards}
            """);
    }

    /// <summary>
    /// Uploads the old objects, waits past a second boundary (S3 times are whole seconds), uploads the young
    /// ones (a new group and a young object in an otherwise old group), and sets the clock so that exactly the
    /// old ones are past the grace period.
    /// </summary>
    private async Task SeedAsync()
    {
        foreach (var (org, asset) in Referenced.Concat(Orphans))
        {
            foreach (var key in Files(org, asset))
            {
                await _backend.PutAsync(key, Content(key));
            }
        }

        foreach (var key in Unmatched.Append("orgs/o1/uploads/mixed/raw/old.mp4"))
        {
            await _backend.PutAsync(key, Content(key));
        }

        var oldNewest = (await _backend.ListAllAsync()).Max(o => o.LastModified);
        await Task.Delay(1200);
        foreach (var key in Files("o1", "fresh").Append("orgs/o1/uploads/mixed/raw/new.mp4"))
        {
            await _backend.PutAsync(key, Content(key));
        }

        _clock = new ManualClock(oldNewest + MinAge);
    }

    [Fact]
    public async Task Sweep_WithDelete_RemovesExactlyTheOrphans()
    {
        Configure("delete");
        await SeedAsync();
        var before = await _backend.KeysAsync();

        var result = await _backend.CliAsync(_clock, "sweep", "--yes");

        result.ExitCode.Should().Be(0, result.ToString());
        var after = await _backend.KeysAsync();
        after.Should().BeEquivalentTo(before.Except(OrphanKeys));
        result.Json.GetProperty("objects_done").GetInt64().Should().Be(OrphanKeys.Count);
    }

    [Fact]
    public async Task Plan_ReportsEveryCount_AndChangesNothing()
    {
        await SeedAsync();
        var before = await _backend.ListAllAsync();

        var plan = await _backend.CliAsync(_clock, "plan", "-o", Path.Combine(_backend.Dir, "plan.json"));
        var dry = await _backend.CliAsync(_clock, "sweep", "--dry-run");

        plan.ExitCode.Should().Be(0, plan.ToString());
        dry.ExitCode.Should().Be(0, dry.ToString());
        var totals = plan.Json.GetProperty("policies")[0].GetProperty("totals");
        totals.GetProperty("groups_scanned").GetInt64().Should().Be(Referenced.Length + Orphans.Length + 2);
        totals.GetProperty("groups_referenced").GetInt64().Should().Be(Referenced.Length);
        totals.GetProperty("groups_orphaned").GetInt64().Should().Be(Orphans.Length);
        totals.GetProperty("groups_too_young").GetInt64().Should().Be(2);
        // Only the layout's fixed prefix ("orgs/") is listed: keys outside it are never even seen.
        totals.GetProperty("objects_unmatched").GetInt64().Should().Be(Unmatched.Count(k => k.StartsWith("orgs/", StringComparison.Ordinal)));
        totals.GetProperty("bytes_reclaimable").GetInt64().Should().Be(OrphanKeys.Sum(k => (long)Content(k).Length));
        (await _backend.ListAllAsync()).Should().Equal(before);
        File.Exists(Path.Combine(_backend.Dir, "plan.json")).Should().BeTrue();
    }

    [Fact]
    public async Task Quarantine_ThenRestore_IsByteIdentical()
    {
        await SeedAsync();
        var before = await _backend.KeysAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");
        sweep.ExitCode.Should().Be(0, sweep.ToString());
        var runId = sweep.Json.GetProperty("run").GetProperty("id").GetString()!;
        var quarantined = await _backend.KeysAsync();
        quarantined.Should().NotIntersectWith(OrphanKeys);
        quarantined.Should().Contain(OrphanKeys.Select(k => $".reclaim-trash/{runId}/{k}"));

        var restore = await _backend.CliAsync(_clock, "restore", runId);

        restore.ExitCode.Should().Be(0, restore.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(before);
        foreach (var key in OrphanKeys)
        {
            var bytes = await ((Core.Storage.IObjectContent)_backend.Store).ReadAllAsync(key, CancellationToken.None);
            bytes.Should().Equal(Content(key), key);
        }
    }

    [Fact]
    public async Task Restore_NeverOverwritesAnObjectThatReappeared()
    {
        await SeedAsync();
        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");
        var runId = sweep.Json.GetProperty("run").GetProperty("id").GetString()!;
        var reappeared = Files("o1", "abcd")[0];
        await _backend.PutAsync(reappeared, Encoding.UTF8.GetBytes("a new upload"));

        var restore = await _backend.CliAsync(_clock, "restore", runId);

        restore.ExitCode.Should().Be(4, restore.ToString());
        var now = await ((Core.Storage.IObjectContent)_backend.Store).ReadAllAsync(reappeared, CancellationToken.None);
        Encoding.UTF8.GetString(now).Should().Be("a new upload");
        (await _backend.KeysAsync()).Should().Contain($".reclaim-trash/{runId}/{reappeared}");
    }

    [Fact]
    public async Task ReferenceInsertedAfterThePlan_SavesItsGroup()
    {
        Configure("delete");
        await SeedAsync();
        var planPath = Path.Combine(_backend.Dir, "plan.json");
        (await _backend.CliAsync(_clock, "plan", "-o", planPath)).ExitCode.Should().Be(0);
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('abcd', 'o1')");

        var apply = await _backend.CliAsync(_clock, "apply", planPath, "--yes");

        apply.ExitCode.Should().Be(0, apply.ToString());
        var keys = await _backend.KeysAsync();
        keys.Should().Contain(Files("o1", "abcd"));
        keys.Should().NotContain(Files("o1", "gone-1"));
        var runId = apply.Json.GetProperty("run").GetProperty("id").GetString()!;
        var show = await _backend.CliAsync(_clock, "runs", "show", runId);
        var actions = show.Json.GetProperty("actions").EnumerateArray().ToList();
        actions.Where(a => a.GetProperty("group_key").GetString() == Group("o1", "abcd"))
            .Should().OnlyContain(a => a.GetProperty("outcome").GetString() == "skipped" && a.GetProperty("error").GetString()!.Contains("referenced now"));
    }

    [Fact]
    public async Task ObjectRewrittenAfterThePlan_IsSkipped()
    {
        Configure("delete");
        await SeedAsync();
        var planPath = Path.Combine(_backend.Dir, "plan.json");
        (await _backend.CliAsync(_clock, "plan", "-o", planPath)).ExitCode.Should().Be(0);
        var rewritten = Files("o1", "gone-1")[0];
        await _backend.PutAsync(rewritten, Encoding.UTF8.GetBytes("rewritten with other content and size"));
        _clock.Advance(TimeSpan.FromDays(2));

        var apply = await _backend.CliAsync(_clock, "apply", planPath, "--yes");

        apply.ExitCode.Should().Be(0, apply.ToString());
        var keys = await _backend.KeysAsync();
        keys.Should().Contain(rewritten);
        keys.Should().NotContain(Files("o1", "gone-1").Skip(1));
    }

    [Fact]
    public async Task EmptyReferences_RefusesWithExit3_AndTouchesNothing()
    {
        Configure("delete", query: "SELECT org_id AS org, id AS asset FROM media_assets WHERE 1 = 0");
        await SeedAsync();
        var before = await _backend.ListAllAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(3, sweep.ToString());
        sweep.Stdout.Should().Contain("refuse_empty_references");
        (await _backend.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task TooLargeAShare_RefusesWithExit3_AndTouchesNothing()
    {
        Configure("delete", guards: "max_delete_fraction: 0.2\n  min_groups_for_fraction: 5");
        await SeedAsync();
        var before = await _backend.ListAllAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(3, sweep.ToString());
        sweep.Stdout.Should().Contain("max_delete_fraction").And.Contain("3 of 10");
        (await _backend.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task BrokenReferenceQuery_FailsWithExit1_AndTouchesNothing()
    {
        Configure("delete", query: "SELECT org_id AS org, idd AS asset FROM media_assets");
        await SeedAsync();
        var before = await _backend.ListAllAsync();

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(1, sweep.ToString());
        sweep.Stderr.Should().Contain("catalog 'app'");
        (await _backend.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task TrashPurge_DeletesQuarantinedObjectsPastRetention_AndOnlyThose()
    {
        await SeedAsync();
        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");
        var runId = sweep.Json.GetProperty("run").GetProperty("id").GetString()!;
        var afterSweep = await _backend.KeysAsync();

        var early = await _backend.CliAsync(_clock, "trash", "purge");
        early.ExitCode.Should().Be(0, early.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(afterSweep);

        _clock.Advance(TimeSpan.FromDays(8));
        var purge = await _backend.CliAsync(_clock, "trash", "purge");

        purge.ExitCode.Should().Be(0, purge.ToString());
        var keys = await _backend.KeysAsync();
        keys.Should().NotContain(k => k.StartsWith(".reclaim-trash/", StringComparison.Ordinal));
        keys.Should().BeEquivalentTo(afterSweep.Where(k => !k.StartsWith(".reclaim-trash/", StringComparison.Ordinal)));
        var restore = await _backend.CliAsync(_clock, "restore", runId);
        restore.ExitCode.Should().Be(4, restore.ToString());
        restore.Json.GetProperty("objects_failed").GetInt64().Should().Be(OrphanKeys.Count);
    }

    [Fact]
    public async Task Runs_RecordEveryActionWithItsReason()
    {
        await SeedAsync();
        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");
        var runId = sweep.Json.GetProperty("run").GetProperty("id").GetString()!;

        var runs = await _backend.CliAsync(_clock, "runs");
        var show = await _backend.CliAsync(_clock, "runs", "show", runId);

        runs.Json.EnumerateArray().Select(r => r.GetProperty("id").GetString()).Should().Contain(runId);
        var actions = show.Json.GetProperty("actions").EnumerateArray().ToList();
        actions.Select(a => a.GetProperty("key").GetString()).Should().BeEquivalentTo(OrphanKeys);
        actions.Should().OnlyContain(a => a.GetProperty("outcome").GetString() == "done" &&
                                          a.GetProperty("kind").GetString() == "quarantine" &&
                                          a.GetProperty("reason").GetString()!.Contains("no reference renders to the group") &&
                                          a.GetProperty("policy").GetString() == "orphan-uploads");
    }

    [Fact]
    public async Task GroupLargerThanOneDeleteBatch_IsRemovedWhole()
    {
        Configure("delete");
        foreach (var (org, asset) in Referenced)
        {
            await _backend.PutAsync(Files(org, asset)[0], Content("x"));
        }

        var big = Enumerable.Range(0, 1100).Select(i => $"orgs/o9/uploads/big/streaming/seg_{i:0000}.ts").ToList();
        await Parallel.ForEachAsync(big, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, _) => await _backend.PutAsync(key, Content(key)));
        var newest = (await _backend.ListAllAsync()).Max(o => o.LastModified);
        _clock = new ManualClock(newest + MinAge);

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        var keys = await _backend.KeysAsync();
        keys.Should().NotContain(big);
        keys.Should().HaveCount(Referenced.Length);
    }
}

public sealed class FolderSqliteOrphanScenarios : OrphanScenarios<FolderSqliteBackend>;

public sealed class S3PostgresOrphanScenarios : OrphanScenarios<S3PostgresBackend>;

public sealed class FolderMariaDbOrphanScenarios : OrphanScenarios<FolderMariaDbBackend>;
