using System.Text.Json;
using Reclaim.Cli;
using Reclaim.Engine.Tests.Support;

namespace Reclaim.Engine.Tests.Cli;

/// <summary>
/// What a person reads: the run history with every kind of run in it, tables at an 80-column terminal
/// (<c>COLUMNS=80</c>, as a terminal exports it), the demo and <c>queue install-trigger --print</c> piped, and the
/// run id a dry sweep prints. Runs the real command line in-process on a seeded folder store and SQLite catalog.
/// </summary>
[Collection(ProcessEnvironmentCollection.Name)]
public sealed class TerminalOutputTests : IDisposable
{
    /// <summary>Long enough that a table cutting names would cut it; what every policy cell must show whole.</summary>
    private const string LongPolicy = "orphan-uploads-of-deleted-media-assets";

    private const int Width = 80;

    private readonly string? _columns = Environment.GetEnvironmentVariable("COLUMNS");
    private readonly SeededFolderStore _site = new();

    public TerminalOutputTests()
    {
        Environment.SetEnvironmentVariable("COLUMNS", Width.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _site.EditConfig("action: delete", "action: quarantine");
        _site.EditConfig("- name: orphan-uploads", $"- name: {LongPolicy}");
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("COLUMNS", _columns);
        _site.Dispose();
    }

    [Fact]
    public async Task Runs_HistoryWithASweepAQueueCycleARestoreAPurgeAndADryRun_PrintsEveryRunInTablesAndJson()
    {
        var sweep = await Ok("sweep", "--yes");
        var sweepId = RunId(sweep);
        await Ok("enqueue", "--store", "media", "--key", "tmp/x.part");
        await Ok("worker", "--once");
        await Ok("restore", sweepId, "--key", SeededFolderStore.OrphanFiles[0]);
        _site.Clock.Advance(TimeSpan.FromHours(1));
        await Ok("trash", "purge", "--older-than", "1s");
        await Ok("sweep", "--dry-run");

        var history = await Ok("runs");
        var runs = history.Json.EnumerateArray().ToList();
        runs.Select(r => r.GetProperty("kind").GetString()).Should().Contain(["sweep", "queue", "restore", "purge"]);
        runs.Should().Contain(r => r.GetProperty("kind").GetString() == "queue" && r.GetProperty("summary").GetProperty("requests_processed").GetInt64() == 1);
        runs.Should().Contain(r => r.GetProperty("kind").GetString() == "sweep" && r.GetProperty("dry_run").GetBoolean());

        var table = await Ok("runs", "--format", "table");
        foreach (var run in runs)
        {
            var id = run.GetProperty("id").GetString()!;
            Lines(table).Should().Contain(l => l.Contains(id, StringComparison.Ordinal), "every run of the history is listed");
            var json = await Ok("runs", "show", id);
            json.Json.GetProperty("run").GetProperty("id").GetString().Should().Be(id);
            var shown = await Ok("runs", "show", id, "--format", "table");
            Lines(shown).Should().Contain(l => l.Contains(id, StringComparison.Ordinal));
        }

        Lines(table).Should().Contain(l => l.Contains("1 requests processed", StringComparison.Ordinal), "the queue cycle says what it did");
    }

    [Fact]
    public async Task At80Columns_PlanSweepRunsRunsShowUsageUsageByAndQueueStatus_FitWithoutCuttingAPolicyNameOrARunId()
    {
        var plan = await Ok("plan", "--format", "table");
        var sweep = await Ok("sweep", "--yes", "--format", "table");
        await Ok("enqueue", "--store", "media", "--key", "tmp/x.part");
        var runId = RunId(await Ok("sweep", "--yes"));
        var runs = await Ok("runs", "--format", "table");
        var show = await Ok("runs", "show", runId, "--format", "table");
        var usage = await Ok("usage", "--format", "table");
        var byOrg = await Ok("usage", "--by", "org", "--format", "table");
        var queue = await Ok("queue", "status", "--format", "table");

        foreach (var (command, result) in new[] { ("plan", plan), ("sweep", sweep), ("runs", runs), ("runs show", show), ("usage", usage), ("usage --by", byOrg), ("queue status", queue) })
        {
            Lines(result).Should().OnlyContain(l => l.TrimEnd().Length <= Width, "{0} fits {1} columns:\n{2}", command, Width, result.Stdout);
            result.Stdout.Should().NotContain("…", "{0} cuts nothing:\n{1}", command, result.Stdout);
        }

        foreach (var result in new[] { plan, sweep, runs, show, byOrg })
        {
            Lines(result).Should().Contain(l => l.Contains(LongPolicy, StringComparison.Ordinal), "the policy name stands whole on one line:\n{0}", result.Stdout);
        }

        Lines(runs).Should().Contain(l => l.Contains(runId, StringComparison.Ordinal), "a run id is never split:\n{0}", runs.Stdout);
        Lines(show).Should().Contain(l => l.Contains(runId, StringComparison.Ordinal));
        Lines(sweep).Should().Contain(l => l.StartsWith("run ", StringComparison.Ordinal) && l.Contains("(sweep)", StringComparison.Ordinal));
        foreach (var orphan in SeededFolderStore.Orphans)
        {
            Lines(plan).Should().Contain(l => l.Contains(SeededFolderStore.Group(orphan.Org, orphan.Asset), StringComparison.Ordinal), "a proposed group's key stands whole");
        }

        Lines(queue).Should().Contain(l => l.Contains("reclaim", StringComparison.Ordinal) && l.Contains('1', StringComparison.Ordinal), "the own queue with its pending request:\n{0}", queue.Stdout);
        usage.Stdout.Should().Contain("orgs/").And.NotContain("0 b", "zero bytes are 0 B, not bits");
    }

    [Fact]
    public async Task RunsShow_LimitAndOutcome_ChooseTheActionsShown()
    {
        var runId = RunId(await Ok("sweep", "--yes"));

        var two = await Ok("runs", "show", runId, "--limit", "2");
        var failed = await Ok("runs", "show", runId, "--outcome", "failed");
        var done = await Ok("runs", "show", runId, "--outcome", "done", "--format", "table");

        two.Json.GetProperty("actions").GetArrayLength().Should().Be(2);
        two.Json.GetProperty("actions_total").GetInt32().Should().Be(SeededFolderStore.OrphanFiles.Count);
        failed.Json.GetProperty("actions").GetArrayLength().Should().Be(0);
        failed.Json.GetProperty("actions_matching").GetInt32().Should().Be(0);
        foreach (var key in SeededFolderStore.OrphanFiles)
        {
            Lines(done).Should().Contain(l => l.Contains(key, StringComparison.Ordinal));
        }

        var bad = await CliRunAsync("runs", "show", runId, "--outcome", "gone");
        bad.ExitCode.Should().Be(ExitCodes.Usage, bad.ToString());
    }

    [Fact]
    public async Task SweepDryRun_PrintsARunIdThatTheHistoryHas_AsADryRunWithNoActions()
    {
        var dry = await Ok("sweep", "--dry-run");
        var id = RunId(dry);

        var show = await Ok("runs", "show", id);

        show.Json.GetProperty("run").GetProperty("dry_run").GetBoolean().Should().BeTrue();
        show.Json.GetProperty("actions").GetArrayLength().Should().Be(0, "a dry run records no actions");
        show.Json.GetProperty("run").GetProperty("summary").GetProperty("objects_done").GetInt64().Should().Be(SeededFolderStore.OrphanFiles.Count, "it counts what it would do");
        _site.Snapshot().Select(e => e.Path).Should().Contain(SeededFolderStore.OrphanFiles, "a dry run touches nothing");
    }

    [Fact]
    public async Task Demo_Piped_CarriesTheNextCommands_AndEachOfThemWorks()
    {
        var dir = Path.Combine(_site.Dir, "demo");

        var demo = await CliRun.RunAsync(_site.Clock, "demo", "--dir", dir);

        demo.ExitCode.Should().Be(0, demo.ToString());
        var runId = demo.Json.GetProperty("run").GetProperty("id").GetString()!;
        var next = demo.Json.GetProperty("next").EnumerateArray().Select(n => n.GetProperty("command").GetString()!).ToList();
        next.Should().HaveCount(3);
        next[0].Should().Contain($"runs show {runId}");
        next[1].Should().Contain($"restore {runId}");
        next[2].Should().Contain("trash purge");
        demo.Json.GetProperty("next").EnumerateArray().Should().OnlyContain(n => n.GetProperty("does").GetString()!.Length > 0);
        foreach (var command in next.Take(2))
        {
            // The launcher, then the arguments, with the config path relative to where the demo was run from.
            var run = await CliRun.RunAsync(_site.Clock, [.. command.Split(' ').Skip(1)]);
            run.ExitCode.Should().Be(0, "'{0}' works as printed: {1}", command, run);
        }
    }

    [Fact]
    public async Task InstallTriggerPrint_PrintsPlainSql_WhateverTheFormat()
    {
        // A PostgreSQL catalog no one listens on: printing the SQL needs no connection.
        _site.EditConfig("    connection: ./app.db\n",
            "    connection: ./app.db\n  supabase:\n    provider: postgres\n    connection: \"Host=127.0.0.1;Port=1;Username=x;Password=y;Database=z\"\n");
        _site.EditConfig("guards:\n",
            "  - name: deletion-requests\n    type: queue\n    catalog: supabase\n    table: media_cleanup_jobs\n    store: media\n    target: folder\n    folder_depth: 2\nguards:\n");

        foreach (var format in new[] { "json", "table" })
        {
            var print = await Ok("queue", "install-trigger", "--print", "--format", format);

            print.Stdout.Should().StartWith("-- deletion-requests: catalog supabase, table media_cleanup_jobs");
            print.Stdout.Should().Contain("CREATE").And.Contain("media_cleanup_jobs").And.NotContain("\"sql\"", "--print is SQL to pipe into psql, not JSON");
        }
    }

    private async Task<CliResult> Ok(params string[] args)
    {
        var result = await CliRunAsync(args);
        result.ExitCode.Should().Be(0, "reclaim {0}: {1}", string.Join(' ', args), result);
        return result;
    }

    private Task<CliResult> CliRunAsync(params string[] args) => _site.RunAsync(args);

    private static string RunId(CliResult result) => result.Json.GetProperty("run").GetProperty("id").GetString()!;

    private static string[] Lines(CliResult result) => result.Stdout.Split('\n');
}
