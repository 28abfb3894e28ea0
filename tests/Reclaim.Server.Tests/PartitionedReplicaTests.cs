using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>
/// <c>reclaim serve</c> and <c>reclaim worker</c> replicas as participants of partitioned runs: real child processes
/// on one real PostgreSQL database (state and catalog) and a folder store. A <c>partitioned</c> schedule entry fires
/// every 30 s on two serve replicas (clustered Quartz, a 1 s check-in, so a 4 s range lease); every firing is one
/// partitioned run, keyed by its policies and scheduled time, which both replicas take part in. The references query
/// sleeps 0.25 s in PostgreSQL (every range's plan and every re-check reads it), so that a run takes long enough for
/// both replicas to join it and for a kill to land while a range is being applied. In one class, so that the
/// processes of the tests do not compete for the machine.
/// </summary>
public sealed partial class PartitionedReplicaTests : IAsyncLifetime
{
    private readonly TemporaryFolder _folder = new("reclaim-replicas");
    private PostgresDatabase? _database;
    private PartitionedUploads? _uploads;

    private PostgresDatabase Database => _database!;

    private IReadOnlySet<string> Referenced => _uploads!.Referenced;

    private IReadOnlySet<string> Orphaned => _uploads!.Orphaned;

    private string ConfigPath => _folder.Combine("reclaim.yaml");

    public async Task InitializeAsync()
    {
        _database = await PostgresDatabase.CreateAsync();
        _uploads = await PartitionedUploads.SeedAsync(_folder.Combine("media"), Database.ExecuteAsync);
    }

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _folder.Dispose();
    }

    [Fact]
    public async Task TwoServeReplicas_MakeOnePartitionedRunPerFiring_EachRangeAppliedOnce_UnionIsTheSingleProcessPlan()
    {
        // Arrange: what one process plans for the whole store, before anything is applied.
        await WriteConfigAsync(maxDeleteCount: 100000);
        var single = await CliAsync("plan", "--format", "json", "-c", ConfigPath);
        single.Code.Should().Be(0, single.Output);
        var singleGroups = PartitionedUploads.GroupKeys(JsonDocument.Parse(single.Stdout).RootElement);
        singleGroups.Should().HaveCount(PartitionedUploads.Orgs * 3);

        // Act: two replicas on the same schedule; the one that fires plans a range, and is held (SIGSTOP) until the
        // other, which joins at its next check-in, has planned one too, so that both take part however the machine
        // schedules them; then wait for the first firing's run to end.
        var started = await Task.WhenAll(ServeProcess.StartAsync("a", ConfigPath), ServeProcess.StartAsync("b", ConfigPath));
        await using var a = started[0];
        await using var b = started[1];
        string Logs() => $"replica a:\n{a.Output}\nreplica b:\n{b.Output}";
        string? firstKey = null;
        await TwoParticipants.BothPlanARangeAsync(async () =>
        {
            firstKey ??= (await QueryAsync("SELECT run_key FROM reclaim_partitioned_runs ORDER BY run_key LIMIT 1")).FirstOrDefault()?[0];
            return firstKey is null ? [] : await RangesAsync(firstKey);
        }, a.ProcessId, b.ProcessId, 120, Logs);
        // The first firing's run is the one asserted on; a later firing's may end before it on a loaded machine.
        await Polling.WaitForAsync(async () => (await SummaryRunsAsync()).Any(s => s.RunKey == firstKey), 120, () => $"the summary of run {firstKey}\n{Logs()}");
        var summedBefore = (await SummaryRunsAsync()).Count(s => s.Status == "succeeded");
        var metrics = await Task.WhenAll(RunsCountedAsync(a), RunsCountedAsync(b));
        var summedAfter = (await SummaryRunsAsync()).Count(s => s.Status == "succeeded");
        (await a.StopAsync()).Should().Be(0, Logs());
        (await b.StopAsync()).Should().Be(0, Logs());

        // Assert: one run per firing; the first firing's 16 ranges each applied once, by both replicas between them.
        var runs = await QueryAsync("SELECT run_key, summary_run_id FROM reclaim_partitioned_runs ORDER BY run_key");
        var firings = Events(a, 304).Concat(Events(b, 304)).Select(e => e.GetProperty("RunKey").GetString()!).ToList();
        runs.Select(r => r[0]).Should().OnlyHaveUniqueItems().And.BeEquivalentTo(firings.Distinct(), "every firing is one partitioned run, whichever replicas take part\n{0}", Logs());
        var first = runs[0][0]!;
        first.Should().Be(firstKey, "the run both replicas were seen planning is the first firing's");
        first.Should().MatchRegex(@"^schedule:uploads@\d{4}-\d\d-\d\dT\d\d:\d\d:(00|30)Z$");
        var ranges = await RangesAsync(first);
        ranges.Should().HaveCount(16).And.OnlyContain(r => r.Phase == "applied" && r.ApplyRunId != null);
        ranges.Select(r => r.ApplyRunId).Should().OnlyHaveUniqueItems("each range is applied by its own run, once");
        ranges.Select(r => r.PlannedBy).Concat(ranges.Select(r => r.AppliedBy)).Select(RangeRow.Pid).Distinct().Should()
            .BeEquivalentTo([a.ProcessId, b.ProcessId], "both replicas took part in the run\n{0}", Logs());
        var planned = ranges.SelectMany(r => PartitionedUploads.GroupKeys(JsonDocument.Parse(r.Plan!).RootElement)).ToList();
        planned.Should().OnlyHaveUniqueItems().And.BeEquivalentTo(singleGroups, "the union of the ranges' plans is the single-process plan");

        // The history shows the run once, as one summary run listing its participants; the metrics count it once.
        var summary = await SummaryRunsAsync();
        summary.Where(s => s.RunKey == first).Should().ContainSingle().Which.Status.Should().Be("succeeded");
        var participants = summary.Single(s => s.RunKey == first).Participants;
        participants.Select(RangeRow.Pid).Distinct().Should().BeEquivalentTo([a.ProcessId, b.ProcessId]);
        (await QueryAsync("SELECT COUNT(*) FROM reclaim_runs WHERE kind = 'sweep' AND actor = 'schedule:0'")).Single()[0].Should()
            .Be((await QueryAsync("SELECT COUNT(*) FROM reclaim_partition_ranges WHERE apply_run_id IS NOT NULL")).Single()[0], "one range run per range, none twice");
        metrics.Sum().Should().BeInRange(summedBefore, summedAfter, "each partitioned run is counted once across the replicas\n{0}", Logs());
        AssertSweptOnce();
    }

    [Fact]
    public async Task ServeReplicaKilledWhileApplying_TheOtherFinishesItsRangeAfterTheLease_NoReferencedObjectLost()
    {
        await WriteConfigAsync(maxDeleteCount: 100000);
        var started = await Task.WhenAll(ServeProcess.StartAsync("a", ConfigPath), ServeProcess.StartAsync("b", ConfigPath));
        await using var a = started[0];
        await using var b = started[1];
        string Logs() => $"replica a:\n{a.Output}\nreplica b:\n{b.Output}";

        // Act: once a range is being applied (its run recorded, its lease held), SIGKILL the replica applying it.
        string? runKey = null;
        RangeRow? victimRange = null;
        await Polling.FreezeWhenAsync([a.ProcessId, b.ProcessId], async () =>
        {
            runKey ??= (await QueryAsync("SELECT run_key FROM reclaim_partitioned_runs ORDER BY run_key LIMIT 1")).FirstOrDefault()?[0];
            victimRange = runKey is null ? null : (await RangesAsync(runKey)).FirstOrDefault(r => r.Phase == "planned" && r.Owner != null && r.ApplyRunId != null);
            return victimRange is not null;
        }, 120, () => $"a range being applied\n{Logs()}");
        var (victim, survivor) = RangeRow.Pid(victimRange!.Owner) == a.ProcessId ? (a, b) : (b, a);
        RangeRow.Pid(victimRange.Owner).Should().Be(victim.ProcessId);
        victim.Kill();
        await Polling.ResumeAsync(survivor.ProcessId);
        var held = (await RangesAsync(runKey!)).Where(r => r.Phase == "planned" && r.Owner is { } owner && RangeRow.Pid(owner) == victim.ProcessId).Select(r => r.Index).ToList();
        held.Should().Contain(victimRange.Index);

        // The survivor takes the range over once the dead replica's 4 s lease runs out, and ends the run.
        await Polling.WaitForAsync(async () => (await SummaryRunsAsync()).Any(s => s.RunKey == runKey), 120, () => $"the run to end in the survivor\n{Logs()}");
        (await survivor.StopAsync()).Should().Be(0, Logs());

        var ranges = await RangesAsync(runKey!);
        ranges.Should().HaveCount(16).And.OnlyContain(r => r.Phase == "applied");
        ranges.Where(r => held.Contains(r.Index)).Should().OnlyContain(r => r.Takeovers >= 1 && RangeRow.Pid(r.AppliedBy) == survivor.ProcessId,
            "the survivor applied what the killed replica held\n{0}", Logs());
        (await SummaryRunsAsync()).Should().ContainSingle(s => s.RunKey == runKey, "the run is summed up once, by the replica that saw it end");
        AssertSweptOnce();
    }

    [Fact]
    public async Task GuardRefusingTheRunsTotals_NoServeReplicaDeletesAnything()
    {
        // 192 orphaned objects in the whole run, about a dozen per range: max_delete_count 150 refuses only the run.
        await WriteConfigAsync(maxDeleteCount: 150);
        var started = await Task.WhenAll(ServeProcess.StartAsync("a", ConfigPath), ServeProcess.StartAsync("b", ConfigPath));
        await using var a = started[0];
        await using var b = started[1];
        string Logs() => $"replica a:\n{a.Output}\nreplica b:\n{b.Output}";

        await Polling.WaitForAsync(async () => (await QueryAsync("SELECT COUNT(*) FROM reclaim_partitioned_runs WHERE verdict_passed = 0")).Single()[0] != "0", 120,
            () => $"the run's verdict\n{Logs()}");
        await Polling.WaitForAsync(() => Task.FromResult(Events(a, 305).Concat(Events(b, 305)).Any(e => e.GetProperty("Verdict").GetString() == "refused")), 60,
            () => $"the firing to end\n{Logs()}");
        (await a.StopAsync()).Should().Be(0, Logs());
        (await b.StopAsync()).Should().Be(0, Logs());

        (await QueryAsync("SELECT COUNT(*) FROM reclaim_partition_ranges WHERE phase = 'applied' OR apply_run_id IS NOT NULL")).Single()[0].Should().Be("0", "no range is applied");
        (await QueryAsync("SELECT COUNT(*) FROM reclaim_actions")).Single()[0].Should().Be("0", "nothing was touched");
        (await QueryAsync("SELECT COUNT(*) FROM reclaim_runs WHERE status = 'refused'")).Single()[0].Should()
            .Be((await QueryAsync("SELECT COUNT(*) FROM reclaim_partitioned_runs")).Single()[0], "each refused run is in the history once");
        foreach (var key in Referenced.Concat(Orphaned))
        {
            File.Exists(_folder.Combine("media/" + key)).Should().BeTrue($"{key} is untouched");
        }
    }

    [Fact]
    public async Task WorkerReplica_FinishesARunWhoseCliParticipantWasKilledWhileApplying()
    {
        // A config without a schedule: the run is started by a CLI participant alone.
        await WriteConfigAsync(maxDeleteCount: 100000, schedule: false);
        await using var doomed = ReclaimProcess.Start(["sweep", "--partition", "0/2", "--run-key", "job-w", "--lease", "3s", "--yes", "--format", "json", "-c", ConfigPath], null);
        await Polling.FreezeWhenAsync([doomed.Id], async () => doomed.HasExited || (await RangesAsync("job-w")) is var r && r.Count(x => x.Phase == "applied") >= 1 && r.Any(x => x.Phase == "planned" && x.Owner != null && x.ApplyRunId != null),
            120, () => $"the participant to apply a range and hold another\n{doomed.Output}");
        doomed.HasExited.Should().BeFalse(doomed.Output);
        doomed.Kill();
        var held = (await RangesAsync("job-w")).Where(r => r.Phase == "planned" && r.Owner != null).Select(r => r.Index).ToList();
        held.Should().NotBeEmpty();

        // Act: a worker replica (no queue request to do) joins the open run and finishes it.
        await using var worker = ReclaimProcess.Start(["worker", "-c", ConfigPath], null);
        await Polling.WaitForAsync(async () => (await SummaryRunsAsync()).Any(s => s.RunKey == "job-w"), 120, () => $"the worker to finish the run\n{worker.Output}");
        (await worker.StopAsync()).Should().Be(0, worker.Output);

        // Assert
        var ranges = await RangesAsync("job-w");
        ranges.Should().HaveCount(16).And.OnlyContain(r => r.Phase == "applied");
        ranges.Where(r => held.Contains(r.Index)).Should().OnlyContain(r => r.Takeovers >= 1 && RangeRow.Pid(r.AppliedBy) == worker.Id);
        var summary = (await SummaryRunsAsync()).Single(s => s.RunKey == "job-w");
        summary.Participants.Select(RangeRow.Pid).Distinct().Should().BeEquivalentTo([doomed.Id, worker.Id], "the summary lists both participants");
        AssertSweptOnce();
    }

    [Fact]
    public async Task WorkerReplica_LeavesAPlanOnlyRunUnapplied()
    {
        await WriteConfigAsync(maxDeleteCount: 100000, schedule: false);
        var plan = await CliAsync("plan", "--partition", "0/1", "--run-key", "report", "--format", "json", "-c", ConfigPath);
        plan.Code.Should().Be(0, plan.Output);

        // A worker runs a while beside a planned run no participant asked to apply (deliberately idle time, not a wait for a result).
        await using (var worker = ReclaimProcess.Start(["worker", "-c", ConfigPath], null))
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            (await worker.StopAsync()).Should().Be(0, worker.Output);
        }

        (await RangesAsync("report")).Should().HaveCount(16).And.OnlyContain(r => r.Phase == "planned" && r.ApplyRunId == null);
        foreach (var key in Orphaned)
        {
            File.Exists(_folder.Combine("media/" + key)).Should().BeTrue($"{key} is only in a report");
        }
    }

    [Fact]
    public async Task PartitionedEntryWithSqliteState_ServeExits2_NamingTheFileLineAndColumn()
    {
        await File.WriteAllTextAsync(ConfigPath, """
            version: 1
            stores:
              media: {type: filesystem, root: ./media}
            catalogs:
              app: {provider: sqlite, connection: ./app.db}
            policies:
              - name: uploads
                type: orphans
                store: media
                layout: "orgs/{org}/uploads/{asset}/"
                references: {catalog: app, query: "SELECT 1 AS org, 2 AS asset"}
                min_age: 1h
            schedule:
              - policies: [uploads]
                cron: "0 3 * * *"
                partitioned: true
            """);

        await using var serve = ReclaimProcess.Start(["serve", "-c", ConfigPath], null);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var code = await serve.WaitForExitAsync(timeout.Token);

        code.Should().Be(2, serve.Output);
        serve.Output.Should().Contain($"{ConfigPath}:16:18").And.Contain("state.provider: postgres");
    }

    /// <summary>The config: PostgreSQL state and catalog, the <c>uploads</c> policy quarantining orphans, and (unless <paramref name="schedule"/> is false) a partitioned entry every 30 s.</summary>
    private Task WriteConfigAsync(int maxDeleteCount, bool schedule = true) => File.WriteAllTextAsync(ConfigPath, $"""
        version: 1
        state:
          provider: postgres
          connection: "{Database.ConnectionString}"
        stores:
          media:
            type: filesystem
            root: ./media
        catalogs:
          app:
            provider: postgres
            connection: "{Database.ConnectionString}"
        policies:
          - name: uploads
            type: orphans
            store: media
            layout: "{PartitionedUploads.Layout}"
            references:
              catalog: app
              query: "{PartitionedUploads.SlowReferencesQuery}"
            min_age: 1h
            action: quarantine
        guards:
          max_delete_fraction: 1.0
          max_delete_count: {maxDeleteCount}
        server:
          cluster_checkin_interval: 1s
        {(schedule ? "schedule:\n  - policies: [uploads]\n    cron: \"0/30 * * * * ?\"\n    partitioned: true" : string.Empty)}
        """);

    private void AssertSweptOnce()
    {
        foreach (var key in Referenced)
        {
            File.Exists(_folder.Combine("media/" + key)).Should().BeTrue($"{key} is referenced");
        }

        foreach (var key in Orphaned)
        {
            File.Exists(_folder.Combine("media/" + key)).Should().BeFalse($"{key} is an orphan, quarantined");
        }

        var trash = Directory.EnumerateFiles(_folder.Combine("media/.reclaim-trash"), "*", SearchOption.AllDirectories).ToList();
        trash.Select(Path.GetFileName).Order(StringComparer.Ordinal).Should().Equal(Orphaned.Select(Path.GetFileName).Order(StringComparer.Ordinal), "every orphan is in the trash once, none lost");
    }

    private static async Task<(int Code, string Stdout, string Output)> CliAsync(params string[] arguments)
    {
        await using var process = ReclaimProcess.Start(arguments, null);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var code = await process.WaitForExitAsync(timeout.Token);
        return (code, process.Stdout, process.Output);
    }

    /// <summary>The <c>State</c> of every log event <paramref name="eventId"/> of the scheduled run job a replica wrote.</summary>
    private static List<JsonElement> Events(ServeProcess replica, int eventId) =>
        [.. replica.Output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("EventId", out var id) && id.GetInt32() == eventId && e.GetProperty("Category").GetString() == typeof(Scheduling.ScheduledRunJob).FullName)
            .Select(e => e.GetProperty("State").Clone())];

    /// <summary>The <c>reclaim_runs_total</c> a replica's <c>/metrics</c> counts for <c>uploads</c>, applied runs.</summary>
    private static async Task<long> RunsCountedAsync(ServeProcess replica)
    {
        using var http = new HttpClient { BaseAddress = replica.Address };
        var text = await http.GetStringAsync("metrics");
        return MetricLine().Matches(text).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    private sealed record SummaryRun(string Id, string RunKey, string Status, IReadOnlyList<string> Participants);

    private Task<List<RangeRow>> RangesAsync(string runKey) => RangeRow.ReadAsync(QueryAsync, runKey);

    /// <summary>The summary runs (kind <c>partitioned</c>) in the history, with the run key and participants their summaries name.</summary>
    private async Task<List<SummaryRun>> SummaryRunsAsync()
    {
        var rows = await QueryAsync("SELECT id, status, summary FROM reclaim_runs WHERE kind = 'partitioned' AND summary IS NOT NULL ORDER BY id");
        return [.. rows.Select(r =>
        {
            var partitioned = JsonDocument.Parse(r[2]!).RootElement.GetProperty("partitioned");
            return new SummaryRun(r[0]!, partitioned.GetProperty("run_key").GetString()!, r[1]!,
                [.. partitioned.GetProperty("participants").EnumerateArray().Select(p => p.GetString()!)]);
        })];
    }

    private async Task<List<string?[]>> QueryAsync(string sql)
    {
        try
        {
            return await Database.QueryAsync(sql);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return []; // not migrated yet
        }
    }

    [GeneratedRegex("(?m)^reclaim_runs_total\\{dry_run=\"false\",policy=\"uploads\",status=\"succeeded\"\\} ([0-9]+)")]
    private static partial Regex MetricLine();
}
