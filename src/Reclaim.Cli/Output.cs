using System.Globalization;
using System.Text.Json;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Planning;
using Spectre.Console;

namespace Reclaim.Cli;

/// <summary>Renders results as tables (Spectre.Console) or JSON (the documented, stable shapes in docs/json.md).</summary>
internal sealed class Output(CliContext context)
{
    private readonly IAnsiConsole _console = CreateConsole(context.Out);

    private static IAnsiConsole CreateConsole(TextWriter output)
    {
        var redirected = Console.IsOutputRedirected || !ReferenceEquals(output, Console.Out);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });

        // A pipe or a file has no width: do not wrap lines at 80 columns there.
        if (redirected)
        {
            console.Profile.Width = 200;
        }

        return console;
    }

    public void Json(object value) => context.Out.WriteLine(JsonSerializer.Serialize(value, PlanFile.Options));

    public void Plan(Plan plan, string? planPath)
    {
        if (context.Json)
        {
            Json(plan);
            return;
        }

        var table = new Table().Border(TableBorder.Rounded).Title("[bold]plan[/] " + Markup.Escape(Format.Time(plan.CreatedAt)));
        table.AddColumns("policy", "store", "action", "scanned", "referenced", "too young", "unmatched", "orphaned", "objects", "reclaimable", "verdict");
        foreach (var p in plan.Policies)
        {
            var t = p.Totals;
            table.AddRow(
                Markup.Escape(p.Policy), Markup.Escape(p.Store), p.Action.ToString().ToLowerInvariant(),
                Format.Count(t.GroupsScanned), Format.Count(t.GroupsReferenced), Format.Count(t.GroupsTooYoung),
                Format.Count(t.ObjectsUnmatched), Format.Count(t.GroupsOrphaned), Format.Count(t.ObjectsOrphaned),
                Format.Bytes(t.BytesReclaimable), p.Refused ? "[red]refused[/]" : "[green]ok[/]");
        }

        _console.Write(table);
        _console.MarkupLine("[grey]scanned, referenced (or kept), too young, orphaned: groups (rows for records policies); unmatched, objects: objects[/]");
        foreach (var p in plan.Policies)
        {
            foreach (var guard in p.Guards.Where(g => !g.Passed))
            {
                _console.MarkupLine($"[red]refused[/] {Markup.Escape(p.Policy)}: {guard.Guard}: {Markup.Escape(guard.Message)}");
            }

            foreach (var warning in p.Warnings)
            {
                _console.MarkupLine($"[yellow]warning[/] {Markup.Escape(p.Policy)}: {Markup.Escape(warning)}");
            }

            foreach (var group in p.Groups.Take(OrphanPlanner.SampleSize))
            {
                _console.MarkupLine($"  {Markup.Escape(p.Policy)}: {Markup.Escape(group.GroupKey)} ({group.Objects.Count} objects, {Format.Bytes(group.Bytes)}) — {Markup.Escape(group.Reason)}");
            }

            foreach (var row in p.Rows.Take(OrphanPlanner.SampleSize))
            {
                var keys = string.Join(", ", row.Keys.Concat(row.Prefixes).Take(3));
                _console.MarkupLine($"  {Markup.Escape(p.Policy)}: row {Markup.Escape(RecordsPlanner.Label(row.Columns))} ({row.Objects.Count} objects, {Format.Bytes(row.Bytes)}) {Markup.Escape(keys)} — {Markup.Escape(row.Reason)}");
            }

            if (p.Totals.GroupsOrphaned > OrphanPlanner.SampleSize)
            {
                _console.MarkupLine($"  [grey]… and {Format.Count(p.Totals.GroupsOrphaned - OrphanPlanner.SampleSize)} more groups[/]");
            }
        }

        foreach (var guard in plan.Guards.Where(g => !g.Passed))
        {
            _console.MarkupLine($"[red]refused[/] plan: {guard.Guard}: {Markup.Escape(guard.Message)}");
        }

        _console.MarkupLine($"total: {Format.Count(plan.ObjectsProposed)} objects, {Format.Bytes(plan.BytesProposed)} proposed" +
            (planPath is null ? string.Empty : $"; plan written to {Markup.Escape(planPath)}"));
    }

    public void Run(RunResult result)
    {
        if (context.Json)
        {
            Json(new
            {
                run = Shape(result.Run),
                objects_done = result.Totals.ObjectsDone,
                bytes_done = result.Totals.BytesDone,
                objects_skipped = result.Totals.ObjectsSkipped,
                groups_skipped = result.Totals.GroupsSkipped,
                objects_failed = result.Totals.ObjectsFailed,
                sample_errors = result.Totals.SampleErrors,
                parts = result.PerPolicy.ToDictionary(p => p.Key, p => new { objects_done = p.Value.ObjectsDone, bytes_done = p.Value.BytesDone, objects_skipped = p.Value.ObjectsSkipped, objects_failed = p.Value.ObjectsFailed }),
            });
            return;
        }

        var run = result.Run;
        var table = new Table().Border(TableBorder.Rounded).Title($"[bold]run[/] {Markup.Escape(run.Id)} ({Markup.Escape(run.Kind)}{(run.DryRun ? ", dry run" : string.Empty)})");
        table.AddColumns("part", "done", "bytes", "skipped", "failed");
        foreach (var (name, totals) in result.PerPolicy)
        {
            table.AddRow(Markup.Escape(name), Format.Count(totals.ObjectsDone), Format.Bytes(totals.BytesDone), Format.Count(totals.ObjectsSkipped), Format.Count(totals.ObjectsFailed));
        }

        table.AddRow("[bold]total[/]", Format.Count(result.Totals.ObjectsDone), Format.Bytes(result.Totals.BytesDone), Format.Count(result.Totals.ObjectsSkipped), Format.Count(result.Totals.ObjectsFailed));
        _console.Write(table);
        _console.MarkupLine($"status: {Status(run.Status)}");
        foreach (var error in result.Totals.SampleErrors)
        {
            _console.MarkupLine($"[red]failed[/] {Markup.Escape(error)}");
        }
    }

    public void Runs(IReadOnlyList<RunRecord> runs)
    {
        if (context.Json)
        {
            Json(runs.Select(Shape));
            return;
        }

        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumns("run", "kind", "started", "finished", "status", "actor", "policies", "summary");
        foreach (var run in runs)
        {
            table.AddRow(Markup.Escape(run.Id), Markup.Escape(run.Kind + (run.DryRun ? " (dry)" : string.Empty)), Format.Time(run.StartedAt), Format.Time(run.FinishedAt),
                Status(run.Status), Markup.Escape(run.Actor), Markup.Escape(run.Policies), Markup.Escape(ShortSummary(run.Summary)));
        }

        _console.Write(table);
    }

    public void RunDetail(RunRecord run, IReadOnlyList<ActionRecord> actions)
    {
        if (context.Json)
        {
            Json(new { run = Shape(run), actions });
            return;
        }

        Runs([run]);
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumns("action", "key", "size", "policy", "outcome", "reason / error");
        foreach (var action in actions)
        {
            table.AddRow(action.Kind.ToString().ToLowerInvariant(), Markup.Escape(action.Key), Format.Bytes(action.Size), Markup.Escape(action.Policy),
                Outcome(action.Outcome), Markup.Escape(action.Error ?? action.Reason));
        }

        _console.Write(table);
    }

    public void Usage(UsageReport report)
    {
        if (context.Json)
        {
            Json(report);
            return;
        }

        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumns("store", "prefix", "objects", "bytes", "oldest", "newest");
        foreach (var row in report.Prefixes)
        {
            table.AddRow(Markup.Escape(row.Store), Markup.Escape(row.Prefix), Format.Count(row.Objects), Format.Bytes(row.Bytes), Format.Time(row.Oldest), Format.Time(row.Newest));
        }

        _console.Write(table);
        foreach (var store in report.Stores)
        {
            var cost = store.CostPerMonth is { } c ? $", {c.ToString("0.00", CultureInfo.InvariantCulture)} per month at {store.PricePerGbMonth!.Value.ToString(CultureInfo.InvariantCulture)} per GB-month" : string.Empty;
            _console.MarkupLine($"store {Markup.Escape(store.Store)}: {Format.Count(store.Objects)} objects, {Format.Bytes(store.Bytes)}{Markup.Escape(cost)}");
        }

        foreach (var policy in report.Reclaimable)
        {
            var saving = policy.SavingPerMonth is { } s ? $", saves {s.ToString("0.00", CultureInfo.InvariantCulture)} per month" : string.Empty;
            var refused = policy.Refused ? " (a guard would refuse it now)" : string.Empty;
            _console.MarkupLine($"reclaimable by {Markup.Escape(policy.Policy)} in {Markup.Escape(policy.Store)}: {Format.Count(policy.Objects)} objects, {Format.Bytes(policy.Bytes)}{Markup.Escape(saving)}{Markup.Escape(refused)}");
        }
    }

    /// <summary>
    /// <c>reclaim usage --by VARIABLE</c>: one row per policy and value, most reclaimable bytes first (in JSON the
    /// report as is: <c>{"by", "rows": [...], "warnings"}</c>).
    /// </summary>
    public void UsageBy(Engine.Usage.VariableUsageReport report)
    {
        if (context.Json)
        {
            Json(report);
            return;
        }

        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumns("policy", "store", Markup.Escape(report.By), "groups", "objects", "bytes", "referenced", "reclaimable", "objects reclaimable", "saves per month");
        foreach (var row in report.Rows)
        {
            table.AddRow(Markup.Escape(row.Policy), Markup.Escape(row.Store), Markup.Escape(row.Value), Format.Count(row.Groups), Format.Count(row.Objects), Format.Bytes(row.Bytes),
                Format.Bytes(row.ReferencedBytes), Format.Bytes(row.ReclaimableBytes), Format.Count(row.ReclaimableObjects), row.SavingPerMonth?.ToString("0.00", CultureInfo.InvariantCulture) ?? "-");
        }

        _console.Write(table);
        foreach (var warning in report.Warnings)
        {
            _console.MarkupLine($"[yellow]warning[/] {Markup.Escape(warning)}");
        }
    }

    /// <summary>
    /// The checks of <c>reclaim validate</c>, then one line per schedule entry with its next firings in its time zone
    /// and in UTC (in JSON, items <c>{"component": "schedule N", "ok", "detail", "next_firings": [{local, utc}]}</c>).
    /// </summary>
    public void Validation(IReadOnlyList<(string Component, bool Ok, string Detail)> results, IReadOnlyList<Server.Scheduling.ScheduleEntryView> schedule)
    {
        var entries = schedule.Select(e => (Component: $"schedule {e.Entry}", Ok: e.Error is null, Detail: ScheduleDetail(e), e.NextFirings)).ToList();
        if (context.Json)
        {
            Json(results.Select(r => (object)new { component = r.Component, ok = r.Ok, detail = r.Detail })
                .Concat(entries.Select(e => new { component = e.Component, ok = e.Ok, detail = e.Detail, next_firings = e.NextFirings.Select(f => new { local = f.Local, utc = f.Utc }) })));
            return;
        }

        foreach (var (component, ok, detail) in results.Concat(entries.Select(e => (e.Component, e.Ok, e.Detail))))
        {
            var verdict = !ok ? "[red]fail[/]" : detail.StartsWith("warning:", StringComparison.Ordinal) ? "[yellow]warn[/]" : "[green]ok[/]  ";
            _console.MarkupLine($"{verdict} {Markup.Escape(component)}: {Markup.Escape(detail)}");
        }
    }

    private static string ScheduleDetail(Server.Scheduling.ScheduleEntryView entry)
    {
        var what = $"{string.Join(", ", entry.Policies)} at '{entry.Cron}' {entry.Timezone}";
        if (entry.Error is not null)
        {
            return $"{what}: {entry.Error}";
        }

        if (entry.NextFirings.Count == 0)
        {
            return $"{what}: never fires again";
        }

        var utc = string.Equals(entry.Timezone, "UTC", StringComparison.Ordinal);
        return $"{what}, next " + string.Join("; ", entry.NextFirings.Select(f => utc
            ? f.Utc.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)
            : $"{f.Local.ToString("yyyy-MM-dd HH:mm zzz", CultureInfo.InvariantCulture)} ({f.Utc.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)})"));
    }

    /// <summary>A run for JSON output: the summary embedded as an object, not as a string.</summary>
    public static object Shape(RunRecord run) => new
    {
        id = run.Id,
        kind = run.Kind,
        started_at = run.StartedAt,
        finished_at = run.FinishedAt,
        status = run.Status,
        actor = run.Actor,
        policies = run.Policies.Split(',', StringSplitOptions.RemoveEmptyEntries),
        dry_run = run.DryRun,
        summary = run.Summary is null ? null : System.Text.Json.Nodes.JsonNode.Parse(run.Summary),
        error = run.Error,
    };

    public void Line(string text) => _console.MarkupLine(Markup.Escape(text));

    private static string Status(RunStatus status) => status switch
    {
        RunStatus.Succeeded => "[green]succeeded[/]",
        RunStatus.Refused => "[red]refused[/]",
        RunStatus.Failed => "[red]failed[/]",
        RunStatus.PartiallyFailed => "[yellow]partially failed[/]",
        RunStatus.Interrupted => "[yellow]interrupted[/]",
        _ => "running",
    };

    private static string Outcome(ActionOutcome outcome) => outcome switch
    {
        ActionOutcome.Done => "[green]done[/]",
        ActionOutcome.Skipped => "[yellow]skipped[/]",
        ActionOutcome.Failed => "[red]failed[/]",
        _ => "pending",
    };

    private static string ShortSummary(string? summary)
    {
        if (summary is null)
        {
            return string.Empty;
        }

        try
        {
            using var document = JsonDocument.Parse(summary);
            var root = document.RootElement;
            if (root.TryGetProperty("objects_done", out var done))
            {
                return $"{done.GetInt64()} done, {Format.Bytes(root.GetProperty("bytes_done").GetInt64())}, {root.GetProperty("objects_skipped").GetInt64()} skipped, {root.GetProperty("objects_failed").GetInt64()} failed";
            }

            return root.TryGetProperty("refused", out var refused) ? string.Join("; ", refused.EnumerateArray().Select(r => r.GetString())) : summary;
        }
        catch (JsonException)
        {
            return summary;
        }
    }
}
