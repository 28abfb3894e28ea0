using System.Globalization;
using System.Text;
using Reclaim.Core.Storage;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// <c>quarantine_mode: tag</c> on S3 (s3rver 3.7.1, whose PutObjectTagging and GetObjectTagging work; it has no
/// DeleteObjectTagging, which Reclaim does not use) and PostgreSQL: quarantine tags objects in place, restore removes
/// the tag, purge deletes only tagged objects past retention after reading their tags again, and a run killed while
/// tagging is settled from the tags.
/// </summary>
public sealed class TagQuarantineScenarios : IAsyncLifetime
{
    private readonly S3PostgresBackend _backend = new();
    private FaultProxy? _proxy;

    private IObjectTagging Tags => (IObjectTagging)_backend.Store;

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        await _backend.ExecuteSqlAsync("CREATE TABLE media_assets (id TEXT NOT NULL, org_id TEXT NOT NULL)");
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('live-1', 'o1')");
        WriteConfig();
    }

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }

    /// <summary>An orphans policy that quarantines, on the store with <c>provider: wasabi</c> and <c>quarantine_mode: tag</c>.</summary>
    private void WriteConfig()
    {
        _backend.WriteConfig("""
              - name: orphan-uploads
                type: orphans
                store: media
                layout: "orgs/{org}/uploads/{asset}/"
                references: {catalog: app, query: "SELECT org_id AS org, id AS asset FROM media_assets"}
                min_age: 1s
                action: quarantine
            """, $"""
            guards:
              max_delete_fraction: 1.0
              min_age_floor: 1s
            trash:
              retention: 7d
            {_backend.StateYaml}
            """);
        File.WriteAllText(_backend.ConfigPath, File.ReadAllText(_backend.ConfigPath)
            .Replace("    type: s3\n", "    type: s3\n    provider: wasabi\n    quarantine_mode: tag\n", StringComparison.Ordinal));
    }

    private static byte[] Content(string key) => Encoding.UTF8.GetBytes($"{key} {new string('x', key.Length % 23)}");

    private async Task PutAllAsync(IEnumerable<string> keys) =>
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, _) => await _backend.PutAsync(key, Content(key)));

    private async Task<string?> QuarantinedByAsync(string key) => (await Tags.GetTagsAsync(key, CancellationToken.None))?.GetValueOrDefault(DestructiveGate.RunTag);

    private static string RunIdOf(CliResult result) => result.Json.GetProperty("run").GetProperty("id").GetString()!;

    [Fact]
    public async Task TagSweep_ReferencedObjectSurvives_OrphansAreTaggedInPlace_NotCopied_NotProposedAgain_AndRestoreUntagsThem()
    {
        const string live = "orgs/o1/uploads/live-1/raw.mp4";
        string[] orphans = ["orgs/o1/uploads/gone-1/raw.mp4", "orgs/o1/uploads/gone-1/thumb.jpg", "orgs/o2/uploads/gone-2/raw.mp4"];
        await PutAllAsync([live, .. orphans]);
        await Tags.PutTagsAsync(orphans[0], new Dictionary<string, string> { ["app"] = "kept" }, CancellationToken.None);
        var clock = new ManualClock(DateTimeOffset.UtcNow + TimeSpan.FromDays(1));

        var plan = await _backend.CliAsync(clock, "plan", "--format", "json");
        var sweep = await _backend.CliAsync(clock, "sweep", "--yes", "--format", "json");

        plan.ExitCode.Should().Be(0, plan.ToString());
        var policy = plan.Json.GetProperty("policies")[0];
        policy.GetProperty("cost").GetProperty("trash_minimum_bytes").GetInt64().Should().Be(0, "nothing is copied into the trash");
        policy.GetProperty("cost").GetProperty("tag_requests").GetInt64().Should().Be(3);
        policy.GetProperty("cost").GetProperty("copy_requests").GetInt64().Should().Be(0);
        policy.GetProperty("warnings").EnumerateArray().Should().NotContain(w => w.GetString()!.Contains("each copy starts a new", StringComparison.Ordinal));
        sweep.ExitCode.Should().Be(0, sweep.ToString());
        var runId = RunIdOf(sweep);
        (await _backend.KeysAsync()).Should().BeEquivalentTo([live, .. orphans], "tag mode keeps every object at its key and copies none into the trash");
        (await Tags.GetTagsAsync(live, CancellationToken.None)).Should().BeEmpty("the referenced object is untouched");
        foreach (var orphan in orphans)
        {
            (await QuarantinedByAsync(orphan)).Should().Be(runId);
            (await Tags.GetTagsAsync(orphan, CancellationToken.None))!.Should().ContainKey(DestructiveGate.AtTag);
        }

        (await Tags.GetTagsAsync(orphans[0], CancellationToken.None))!["app"].Should().Be("kept", "the application's own tags stay");
        var again = await _backend.CliAsync(clock, "plan", "--format", "json");
        again.Json.GetProperty("policies")[0].GetProperty("totals").GetProperty("objects_orphaned").GetInt64()
            .Should().Be(0, "objects quarantined in place are known from the state and never proposed again");
        again.Json.GetProperty("policies")[0].GetProperty("totals").GetProperty("objects_in_trash").GetInt64().Should().Be(3);

        var restore = await _backend.CliAsync(clock, "restore", runId);

        restore.ExitCode.Should().Be(0, restore.ToString());
        foreach (var orphan in orphans)
        {
            (await QuarantinedByAsync(orphan)).Should().BeNull($"'{orphan}' is restored");
            (await ((IObjectContent)_backend.Store).ReadAllAsync(orphan, CancellationToken.None)).Should().Equal(Content(orphan));
        }

        (await Tags.GetTagsAsync(orphans[0], CancellationToken.None))!.Should().Equal(new Dictionary<string, string> { ["app"] = "kept" });
        (await _backend.CliAsync(clock, "plan", "--format", "json")).Json.GetProperty("policies")[0].GetProperty("totals").GetProperty("objects_orphaned").GetInt64()
            .Should().Be(3, "restored objects are orphans again");
    }

    [Fact]
    public async Task TagApply_AGroupReferencedAfterThePlan_IsReCheckedAndNotTagged()
    {
        string[] orphans = ["orgs/o1/uploads/gone-1/raw.mp4", "orgs/o2/uploads/late/raw.mp4"];
        await PutAllAsync(["orgs/o1/uploads/live-1/raw.mp4", .. orphans]);
        var clock = new ManualClock(DateTimeOffset.UtcNow + TimeSpan.FromDays(1));
        var planPath = Path.Combine(_backend.Dir, "plan.json");
        (await _backend.CliAsync(clock, "plan", "-o", planPath, "--format", "json")).ExitCode.Should().Be(0);
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('late', 'o2')");

        var apply = await _backend.CliAsync(clock, "apply", planPath, "--yes", "--format", "json");

        apply.ExitCode.Should().Be(0, apply.ToString());
        (await QuarantinedByAsync(orphans[0])).Should().Be(RunIdOf(apply));
        (await QuarantinedByAsync(orphans[1])).Should().BeNull("the gate re-checks the references just before tagging: the group referenced since the plan is kept as it was");
        (await Tags.GetTagsAsync(orphans[1], CancellationToken.None)).Should().BeEmpty();
    }

    [Fact]
    public async Task Purge_DeletesOnlyTaggedObjectsPastRetention_AfterReadingTheirTagsAgain()
    {
        const string live = "orgs/o1/uploads/live-1/raw.mp4";
        const string due = "orgs/o1/uploads/a-due/raw.mp4";
        const string restored = "orgs/o1/uploads/a-restored/raw.mp4";
        const string untaggedSince = "orgs/o1/uploads/a-untagged/raw.mp4";
        const string young = "orgs/o1/uploads/b-young/raw.mp4";
        const string neverQuarantined = "orgs/o1/uploads/c-other/raw.mp4";
        await PutAllAsync([live, due, restored, untaggedSince]);
        var start = DateTimeOffset.UtcNow;

        // Run A quarantines three groups on day 10; run B, on day 17, only the group written since (A's are not proposed again).
        var a = await _backend.CliAsync(new ManualClock(start + TimeSpan.FromDays(10)), "sweep", "--yes", "--format", "json");
        a.ExitCode.Should().Be(0, a.ToString());
        await _backend.PutAsync(young, Content(young));
        var b = await _backend.CliAsync(new ManualClock(start + TimeSpan.FromDays(17)), "sweep", "--yes", "--format", "json");
        b.ExitCode.Should().Be(0, b.ToString());
        b.Json.GetProperty("objects_done").GetInt64().Should().Be(1, b.ToString());
        (await QuarantinedByAsync(young)).Should().Be(RunIdOf(b));
        var restore = await _backend.CliAsync(new ManualClock(start + TimeSpan.FromDays(17)), "restore", RunIdOf(a), "--key", restored);
        restore.ExitCode.Should().Be(0, restore.ToString());
        await Tags.PutTagsAsync(untaggedSince, new Dictionary<string, string>(), CancellationToken.None); // its tag removed by someone else
        await _backend.PutAsync(neverQuarantined, Content(neverQuarantined));
        var purgeAt = new ManualClock(start + TimeSpan.FromDays(18)); // A is 8 days old, B 1 day

        var dry = await _backend.CliAsync(purgeAt, "trash", "purge", "--dry-run", "--format", "json");
        var purge = await _backend.CliAsync(purgeAt, "trash", "purge", "--format", "json");

        dry.ExitCode.Should().Be(0, dry.ToString());
        purge.ExitCode.Should().Be(0, purge.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo([live, restored, untaggedSince, young, neverQuarantined], purge.ToString());
        (await QuarantinedByAsync(young)).Should().Be(RunIdOf(b), "a quarantine younger than the retention stays tagged");
        var actions = (await _backend.CliAsync(purgeAt, "runs", "show", RunIdOf(purge))).Json.GetProperty("actions").EnumerateArray()
            .ToDictionary(x => x.GetProperty("key").GetString()!, x => x.GetProperty("outcome").GetString());
        actions.Should().Equal(new Dictionary<string, string?> { [due] = "done", [untaggedSince] = "skipped" }, "the purge re-read the tag of each candidate");
    }

    [Fact]
    public async Task TagSweepKilledMidBatch_IsSettledFromTheTags_PurgeDeletesNothing_AndRestoreUntagsEverything()
    {
        var orphans = Enumerable.Range(0, 1500).Select(i => $"orgs/o{i % 5}/uploads/k-{i:D5}/raw.mp4").ToList();
        await PutAllAsync(["orgs/o1/uploads/live-1/raw.mp4", .. orphans]);
        _proxy = new FaultProxy(new Uri(_backend.Endpoint + "/"), 0) { RecordRequests = true, Delay = TimeSpan.FromMilliseconds(10) };
        _backend.ProxyEndpoint = _proxy.Endpoint.ToString().TrimEnd('/');
        WriteConfig();
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // older than min_age, in S3's whole seconds
        int Tagged() => _proxy.Requests.Count(r => r.Method == "PUT" && r.Url.Contains("?tagging", StringComparison.Ordinal));

        await using var sweep = ReclaimProcess.Start("sweep", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        await Polling.FreezeWhenAsync([sweep.Id], () => Task.FromResult(sweep.HasExited || Tagged() >= 200), 120, () => "200 objects to be tagged", pollMilliseconds: 5); // the kill lands in the state seen
        var wasRunning = !sweep.HasExited;
        sweep.Kill();
        _proxy.Delay = TimeSpan.Zero;
        var runId = (await _backend.StateQueryAsync("SELECT id FROM reclaim_runs WHERE kind = 'sweep'")).Single()[0]!;

        var purge = await _backend.CliAsync(TimeProvider.System, "trash", "purge", "--format", "json");
        var show = await _backend.CliAsync(TimeProvider.System, "runs", "show", runId);
        var done = show.Json.GetProperty("actions").EnumerateArray().Where(x => x.GetProperty("outcome").GetString() == "done").Select(x => x.GetProperty("key").GetString()!).ToList();
        var restore = await _backend.CliAsync(TimeProvider.System, "restore", runId);

        wasRunning.Should().BeTrue("the kill landed while the sweep was tagging");
        purge.ExitCode.Should().Be(0, purge.ToString());
        show.Json.GetProperty("actions").EnumerateArray().Should().NotContain(x => x.GetProperty("outcome").GetString() == "pending", "the killed run was settled from the tags");
        show.Json.GetProperty("run").GetProperty("status").GetString().Should().Be("interrupted");
        done.Should().HaveCountGreaterThanOrEqualTo(1);
        foreach (var key in done.Take(20))
        {
            orphans.Should().Contain(key);
        }

        restore.ExitCode.Should().Be(0, restore.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(["orgs/o1/uploads/live-1/raw.mp4", .. orphans], "nothing was deleted or moved");
        var stillTagged = new List<string>();
        await Parallel.ForEachAsync(orphans, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, _) =>
        {
            if (await QuarantinedByAsync(key) is not null)
            {
                lock (stillTagged)
                {
                    stillTagged.Add(key);
                }
            }
        });
        stillTagged.Should().BeEmpty("restore untags everything the killed run tagged");
        foreach (var key in orphans.Take(50))
        {
            (await ((IObjectContent)_backend.Store).ReadAllAsync(key, CancellationToken.None)).Should().Equal(Content(key));
        }
    }
}
