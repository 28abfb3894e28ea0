using System.Globalization;
using System.Text.Json;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Queue;
using Spectre.Console;

namespace Reclaim.Cli;

/// <summary>Renders results as tables (Spectre.Console) or JSON (the documented, stable shapes in docs/json.md).</summary>
internal sealed class Output
{
    private readonly CliContext _context;
    private readonly IAnsiConsole _console;

    public Output(CliContext context)
    {
        _context = context;
        _console = CreateConsole(context.Out);

        // Whatever is printed next starts on a clean line, not after a progress line left on stderr.
        context.ClearProgress();
    }

    private static IAnsiConsole CreateConsole(TextWriter output)
    {
        var redirected = Console.IsOutputRedirected || !ReferenceEquals(output, Console.Out);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });

        console.Profile.Width = Format.TerminalWidth(redirected ? null : console.Profile.Width);
        return console;
    }

    /// <summary>Writes <paramref name="value"/> as indented JSON and a line end, streamed: a plan of millions of groups is never one string.</summary>
    public void Json(object value)
    {
        using (var stream = new TextWriterStream(_context.Out))
        {
            JsonSerializer.Serialize(stream, value, PlanFile.Options);
        }

        _context.Out.WriteLine();
    }

    public void Plan(Plan plan, string? planPath)
    {
        if (_context.Json)
        {
            Json(plan);
            return;
        }

        Heading($"plan {Format.Time(plan.CreatedAt)}");
        var chosen = Tables.Write(
            _console,
            plan.Policies,
            new Layout<PolicyPlan>(
            [
                new("policy", p => Markup.Escape(p.Policy)),
                new("store", p => Markup.Escape(p.Store)),
                new("action", p => Format.Action(p.Action)),
                new("scanned", p => Format.Count(p.Totals.GroupsScanned), ColumnKind.Number),
                new("referenced", p => Format.Count(p.Totals.GroupsReferenced), ColumnKind.Number),
                new("too young", p => Format.Count(p.Totals.GroupsTooYoung), ColumnKind.Number),
                new("unmatched", p => Format.Count(p.Totals.ObjectsUnmatched), ColumnKind.Number),
                new("orphaned", p => Format.Count(p.Totals.GroupsOrphaned), ColumnKind.Number),
                new("objects", p => Format.Count(p.Totals.ObjectsOrphaned), ColumnKind.Number),
                new("reclaimable", p => Format.Bytes(p.Totals.BytesReclaimable), ColumnKind.Number),
                new("verdict", Verdict),
            ]),
            new Layout<PolicyPlan>(
            [
                new("policy", p => $"{Markup.Escape(p.Policy)}\n{Markup.Escape(p.Store)} · {Format.Action(p.Action)}"),
                new("groups", p =>
                    $"{Format.Count(p.Totals.GroupsScanned)} scanned\n{Format.Count(p.Totals.GroupsReferenced)} {(p.Type == PolicyKind.Retention ? "kept" : "referenced")}\n" +
                    $"{Format.Count(p.Totals.GroupsTooYoung)} too young\n{Format.Count(p.Totals.GroupsOrphaned)} {(p.Type switch { PolicyKind.Retention => "expired", PolicyKind.Records => "selected", _ => "orphaned" })}"),
                new("objects", p => $"{Format.Count(p.Totals.ObjectsOrphaned)} to remove\n{Format.Bytes(p.Totals.BytesReclaimable)}\n{Format.Count(p.Totals.ObjectsUnmatched)} unmatched"),
                new("verdict", Verdict),
            ]));
        Note(chosen == 0
            ? "scanned, referenced (or kept), too young, orphaned: groups (rows for records policies); unmatched, objects: objects"
            : "groups: rows for records policies");

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
        }

        var samples = plan.Policies.SelectMany(p =>
            p.Groups.Take(LayoutPlanner.SampleSize).Select(g => new Sample(p.Policy, Markup.Escape(g.GroupKey), g.Objects.Count, g.Bytes, g.Reason))
                .Concat(p.Rows.Take(LayoutPlanner.SampleSize).Select(r => new Sample(p.Policy,
                    string.Join('\n', r.Keys.Concat(r.Prefixes).Take(3).Prepend("row " + RecordsPlanner.Label(r.Columns)).Select(Markup.Escape)), r.Objects.Count, r.Bytes, r.Reason))))
            .ToList();
        if (samples.Count > 0)
        {
            Heading(samples.Count == 1 ? "proposed" : "proposed (a sample)");
            Tables.Write(
                _console,
                samples,
                new Layout<Sample>(
                [
                    new("policy", s => Markup.Escape(s.Policy)),
                    new("group or row", s => s.What, ColumnKind.Long),
                    new("objects", s => Format.Count(s.Objects), ColumnKind.Number),
                    new("bytes", s => Format.Bytes(s.Bytes), ColumnKind.Number),
                    new("reason", s => Markup.Escape(s.Reason), ColumnKind.Prose),
                ]),
                new Layout<Sample>(
                [
                    new("policy", s => $"{Markup.Escape(s.Policy)} · {Format.Count(s.Objects)} objects · {Format.Bytes(s.Bytes)}"),
                    new("group or row", s => s.What, ColumnKind.Long),
                    new("reason", s => Markup.Escape(s.Reason), ColumnKind.Prose),
                ]));
        }

        foreach (var p in plan.Policies.Where(p => p.Totals.GroupsOrphaned > LayoutPlanner.SampleSize))
        {
            Note($"… and {Format.Count(p.Totals.GroupsOrphaned - LayoutPlanner.SampleSize)} more {(p.Type == PolicyKind.Records ? "rows" : "groups")} of {p.Policy}");
        }

        foreach (var guard in plan.Guards.Where(g => !g.Passed))
        {
            _console.MarkupLine($"[red]refused[/] plan: {guard.Guard}: {Markup.Escape(guard.Message)}");
        }

        _console.MarkupLine($"total: {Format.Count(plan.ObjectsProposed)} objects, {Format.Bytes(plan.BytesProposed)} proposed" +
            (planPath is null ? string.Empty : $"; plan written to {Markup.Escape(planPath)}"));

        static string Verdict(PolicyPlan p) => p.Refused ? "[red]refused[/]" : "[green]ok[/]";
    }

    /// <summary>One proposed group or records row of a plan, as the table of samples shows it.</summary>
    private sealed record Sample(string Policy, string What, int Objects, long Bytes, string Reason);

    public void Run(RunResult result)
    {
        if (_context.Json)
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
        Heading(run.DryRun && !result.Recorded
            ? $"{run.Kind} (dry run, not recorded)"
            : $"run {run.Id} ({run.Kind}{(run.DryRun ? ", dry run" : string.Empty)})");
        var parts = result.PerPolicy.Select(p => (Name: Markup.Escape(p.Key), Totals: p.Value)).Append(("[bold]total[/]", result.Totals)).ToList();
        Tables.Write(
            _console,
            parts,
            new Layout<(string Name, GateTotals Totals)>(
            [
                new("part", p => p.Name),
                new(run.DryRun ? "would do" : "done", p => Format.Count(p.Totals.ObjectsDone), ColumnKind.Number),
                new("bytes", p => Format.Bytes(p.Totals.BytesDone), ColumnKind.Number),
                new("skipped", p => Format.Count(p.Totals.ObjectsSkipped), ColumnKind.Number),
                new("failed", p => Format.Count(p.Totals.ObjectsFailed), ColumnKind.Number),
            ]),
            new Layout<(string Name, GateTotals Totals)>(
            [
                new("part", p => $"{p.Name}\n{Format.Count(p.Totals.ObjectsDone)} {(run.DryRun ? "would do" : "done")}, {Format.Bytes(p.Totals.BytesDone)}, {Format.Count(p.Totals.ObjectsSkipped)} skipped, {Format.Count(p.Totals.ObjectsFailed)} failed"),
            ]));
        _console.MarkupLine($"status: {Status(run.Status)}");
        foreach (var error in result.Totals.SampleErrors)
        {
            _console.MarkupLine($"[red]failed[/] {Markup.Escape(error)}");
        }
    }

    public void Runs(IReadOnlyList<RunRecord> runs)
    {
        if (_context.Json)
        {
            Json(runs.Select(Shape));
            return;
        }

        if (runs.Count == 0)
        {
            Line("no runs yet");
            return;
        }

        var rows = runs.Select(r => (Run: r, Summary: Describe(r))).ToList();
        Column<(RunRecord Run, string Summary)> id = new("run", r => Markup.Escape(r.Run.Id));
        Column<(RunRecord Run, string Summary)> kind = new("kind", r => Markup.Escape(Kind(r.Run)));
        Column<(RunRecord Run, string Summary)> started = new("started", r => Format.Time(r.Run.StartedAt));
        Column<(RunRecord Run, string Summary)> finished = new("finished", r => Format.Time(r.Run.FinishedAt));
        Column<(RunRecord Run, string Summary)> status = new("status", r => Status(r.Run.Status));
        Column<(RunRecord Run, string Summary)> actor = new("actor", r => Markup.Escape(r.Run.Actor));
        Column<(RunRecord Run, string Summary)> policies = new("policies", r => Markup.Escape(string.Join(", ", r.Run.Policies.Split(',', StringSplitOptions.RemoveEmptyEntries))), ColumnKind.Prose);
        Column<(RunRecord Run, string Summary)> summary = new("summary", r => Markup.Escape(r.Summary), ColumnKind.Prose);
        Column<(RunRecord Run, string Summary)> idKindStatus = new("run\nkind · status", r => $"{Markup.Escape(r.Run.Id)}\n{Markup.Escape(Kind(r.Run))} · {Status(r.Run.Status)}");
        Column<(RunRecord Run, string Summary)> times = new("started\nfinished", r => $"{Format.Time(r.Run.StartedAt)}\n{Format.Time(r.Run.FinishedAt)}");
        Column<(RunRecord Run, string Summary)> policiesAndSummary = new("policies\nsummary", r => $"{policies.Cell(r)}\n{summary.Cell(r)}", ColumnKind.Prose);
        Column<(RunRecord Run, string Summary)> all = new("run\nkind · status\nstarted", r => $"{Markup.Escape(r.Run.Id)}\n{Markup.Escape(Kind(r.Run))} · {Status(r.Run.Status)}\n{Format.Time(r.Run.StartedAt)}");
        Tables.Write(
            _console,
            rows,
            new([id, kind, started, finished, status, actor, policies, summary]),
            new([id, kind, started, status, policies, summary], "finished, actor"),
            new([idKindStatus, times, policies, summary], "actor"),
            new([idKindStatus, times, policiesAndSummary], "actor"),
            new([all, policiesAndSummary], "finished, actor"));
    }

    /// <summary>
    /// One run (its fields, what each part did) and its actions: at most <paramref name="limit"/> of those whose
    /// outcome is among <paramref name="outcomes"/> (all when empty), with how many there are.
    /// </summary>
    public void RunDetail(RunRecord run, IReadOnlyList<ActionRecord> actions, IReadOnlyCollection<ActionOutcome> outcomes, int? limit)
    {
        var matching = outcomes.Count == 0 ? actions : actions.Where(a => outcomes.Contains(a.Outcome)).ToList();
        var shown = limit is { } n and > 0 ? matching.Take(n).ToList() : matching;
        if (_context.Json)
        {
            Json(new { run = Shape(run), actions = shown, actions_total = actions.Count, actions_matching = matching.Count });
            return;
        }

        var summary = RunSummary.Of(run);
        var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn(new GridColumn());
        void Field(string name, string markup) => grid.AddRow(new Markup(name), new Markup(markup));
        Field("run", Markup.Escape(run.Id));
        Field("kind", Markup.Escape(run.Kind + (run.DryRun ? " (dry run)" : string.Empty)));
        Field("status", Status(run.Status));
        Field("started", Format.Time(run.StartedAt));
        Field("finished", Format.Time(run.FinishedAt));
        Field("actor", Markup.Escape(run.Actor));
        Field(run.Kind is "restore" or "purge" ? "stores" : "policies", Markup.Escape(string.Join(", ", run.Policies.Split(',', StringSplitOptions.RemoveEmptyEntries))));
        Field("summary", Markup.Escape(Describe(run)));
        foreach (var (part, totals) in summary?.Parts ?? new Dictionary<string, RunPartSummary>(StringComparer.Ordinal))
        {
            Field("  " + Markup.Escape(part), Markup.Escape(Describe(totals, run.DryRun)));
        }

        if (run.Error is { } error && !string.Equals(error, summary?.Error, StringComparison.Ordinal))
        {
            Field("error", Markup.Escape(error));
        }

        _console.Write(grid);
        _console.WriteLine();
        if (actions.Count == 0)
        {
            Line(run.DryRun
                ? "a dry run records no actions: `reclaim plan` lists what it would remove, and why"
                : "no actions recorded");
            return;
        }

        var filter = outcomes.Count == 0 ? string.Empty : $" with outcome {string.Join(" or ", outcomes.Select(o => o.ToString().ToLowerInvariant()))}";
        Heading(shown.Count == actions.Count
            ? $"actions: {Format.Count(actions.Count)}"
            : matching.Count == actions.Count
                ? $"actions: {Format.Count(shown.Count)} shown of {Format.Count(actions.Count)}"
                : $"actions{filter}: {Format.Count(shown.Count)} shown of {Format.Count(matching.Count)} ({Format.Count(actions.Count)} in the run)");
        if (shown.Count == 0)
        {
            return;
        }

        Column<ActionRecord> key = new("key", a => Markup.Escape(a.Key), ColumnKind.Long);
        Column<ActionRecord> why = new("reason / error", a => Markup.Escape(a.Error ?? a.Reason), ColumnKind.Prose);
        Tables.Write(
            _console,
            shown,
            new([new("action", a => Format.Action(a.Kind)), key, new("size", a => Format.Bytes(a.Size), ColumnKind.Number), new("policy", a => Markup.Escape(a.Policy)), new("outcome", a => Outcome(a.Outcome)), why]),
            new([new("outcome", a => Outcome(a.Outcome)), new("action", a => Format.Action(a.Kind)), new("size", a => Format.Bytes(a.Size), ColumnKind.Number), key, why], "policy"),
            new([new("outcome · action · size · policy", a => $"{Outcome(a.Outcome)} · {Format.Action(a.Kind)} · {Format.Bytes(a.Size)} · {Markup.Escape(a.Policy)}"), key, why]));
        if (shown.Count < matching.Count)
        {
            Note($"… {Format.Count(matching.Count - shown.Count)} more: --limit 0 shows all, --outcome failed only the failures");
        }
    }

    public void Usage(UsageReport report)
    {
        if (_context.Json)
        {
            Json(report);
            return;
        }

        Tables.Write(
            _console,
            report.Prefixes,
            new Layout<UsageRow>(
            [
                new("store", r => Markup.Escape(r.Store)),
                new("prefix", r => Markup.Escape(r.Prefix), ColumnKind.Long),
                new("objects", r => Format.Count(r.Objects), ColumnKind.Number),
                new("bytes", r => Format.Bytes(r.Bytes), ColumnKind.Number),
                new("oldest", r => Format.Time(r.Oldest)),
                new("newest", r => Format.Time(r.Newest)),
            ]),
            new Layout<UsageRow>(
            [
                new("store", r => Markup.Escape(r.Store)),
                new("prefix", r => Markup.Escape(r.Prefix), ColumnKind.Long),
                new("objects", r => Format.Count(r.Objects), ColumnKind.Number),
                new("bytes", r => Format.Bytes(r.Bytes), ColumnKind.Number),
                new("oldest\nnewest", r => $"{Format.Time(r.Oldest)}\n{Format.Time(r.Newest)}"),
            ]),
            new Layout<UsageRow>(
            [
                new("store · objects · bytes", r => $"{Markup.Escape(r.Store)} · {Format.Count(r.Objects)} objects · {Format.Bytes(r.Bytes)}"),
                new("prefix", r => Markup.Escape(r.Prefix), ColumnKind.Long),
                new("oldest … newest", r => $"{Format.Time(r.Oldest)} … {Format.Time(r.Newest)}"),
            ]));
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
            if (policy.Cost is { } cost)
            {
                _console.MarkupLine($"  on {Markup.Escape(cost.Provider)}: {Markup.Escape(CostLine(cost))}");
            }

            foreach (var warning in policy.CostWarnings ?? [])
            {
                _console.MarkupLine($"  [yellow]warning[/] {Markup.Escape(policy.Policy)}: {Markup.Escape(warning)}");
            }
        }
    }

    /// <summary>A policy's cost in one line: what deleting saves now and only after the minimum storage duration, and what the sweep's requests cost.</summary>
    private static string CostLine(PolicyCost cost)
    {
        static string Money(decimal? amount) => amount is { } a ? a.ToString("0.00", CultureInfo.InvariantCulture) : "?";
        var line = $"{Format.Bytes(cost.BytesSavingNow)} save {Money(cost.SavingNowPerMonth)} per month now";
        if (cost.BytesSavingLater > 0)
        {
            line += $"; {Format.Bytes(cost.BytesSavingLater)} save {Money(cost.SavingLaterPerMonth)} per month only after the minimum storage duration " +
                    $"(from {cost.SavesFrom!.Value.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}, all from {cost.SavesAllFrom!.Value.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)})";
        }

        return line + $"; the sweep's requests cost {Money(cost.RequestCost)}";
    }

    /// <summary><c>reclaim queue status</c>: each queue's depth, oldest pending request and requests in flight, then its recent failures.</summary>
    public void Queues(IReadOnlyList<QueueStatus> queues)
    {
        if (_context.Json)
        {
            Json(queues.Select(q => new
            {
                queue = q.Queue,
                depth = q.Depth,
                oldest_pending = q.OldestPending,
                oldest_pending_age_seconds = q.OldestPendingAge is { } age ? (long?)age.TotalSeconds : null,
                in_flight = q.InFlight,
                recent_failures = q.RecentFailures.Select(f => new { id = f.Id, target = f.Target, error = f.Error, requested_by = f.RequestedBy }),
            }));
            return;
        }

        if (queues.Count == 0)
        {
            Line("no queues: the config has no queue policy");
            return;
        }

        Tables.Write(
            _console,
            queues,
            new Layout<QueueStatus>(
            [
                new("queue", q => Markup.Escape(q.Queue)),
                new("pending", q => Format.Count(q.Depth), ColumnKind.Number),
                new("oldest pending", q => q.OldestPendingAge is { } age ? $"{Format.Age(age)} old" : "-"),
                new("in flight", q => Format.Count(q.InFlight), ColumnKind.Number),
                new("recent failures", q => Format.Count(q.RecentFailures.Count), ColumnKind.Number),
            ]),
            new Layout<QueueStatus>(
            [
                new("queue", q => $"{Markup.Escape(q.Queue)}\n{Format.Count(q.Depth)} pending{(q.OldestPendingAge is { } age ? $", oldest {Format.Age(age)} old" : string.Empty)}, {Format.Count(q.InFlight)} in flight, {Format.Count(q.RecentFailures.Count)} recent failures"),
            ]));
        var failures = queues.SelectMany(q => q.RecentFailures.Select(f => (q.Queue, Failure: f))).ToList();
        if (failures.Count == 0)
        {
            return;
        }

        Heading("recent failures");
        Column<(string Queue, QueueFailure Failure)> target = new("target", f => Markup.Escape(f.Failure.Target), ColumnKind.Long);
        Column<(string Queue, QueueFailure Failure)> error = new("error", f => Markup.Escape(f.Failure.Error ?? string.Empty), ColumnKind.Prose);
        Tables.Write(
            _console,
            failures,
            new([new("queue", f => Markup.Escape(f.Queue)), new("id", f => Markup.Escape(f.Failure.Id)), target, new("requested by", f => Markup.Escape(f.Failure.RequestedBy ?? "-")), error]),
            new([new("queue\nid", f => $"{Markup.Escape(f.Queue)}\n{Markup.Escape(f.Failure.Id)}"), target, error], "requested by"),
            new([new("queue · id · requested by", f => $"{Markup.Escape(f.Queue)} · {Markup.Escape(f.Failure.Id)}{(f.Failure.RequestedBy is { } by ? $" · {Markup.Escape(by)}" : string.Empty)}"), target, error]));
    }

    /// <summary>
    /// <c>reclaim usage --by VARIABLE</c>: one row per policy and value, most reclaimable bytes first (in JSON the
    /// report as is: <c>{"by", "rows": [...], "warnings"}</c>).
    /// </summary>
    public void UsageBy(Engine.Usage.VariableUsageReport report)
    {
        if (_context.Json)
        {
            Json(report);
            return;
        }

        static string Saving(Engine.Usage.VariableUsageRow r) => r.SavingPerMonth?.ToString("0.00", CultureInfo.InvariantCulture) ?? "-";
        Column<Engine.Usage.VariableUsageRow> policy = new("policy", r => Markup.Escape(r.Policy));
        Column<Engine.Usage.VariableUsageRow> value = new(report.By, r => Markup.Escape(r.Value), ColumnKind.Long);
        Tables.Write(
            _console,
            report.Rows,
            new Layout<Engine.Usage.VariableUsageRow>(
            [
                policy, new("store", r => Markup.Escape(r.Store)), value,
                new("groups", r => Format.Count(r.Groups), ColumnKind.Number),
                new("objects", r => Format.Count(r.Objects), ColumnKind.Number),
                new("bytes", r => Format.Bytes(r.Bytes), ColumnKind.Number),
                new("referenced", r => Format.Bytes(r.ReferencedBytes), ColumnKind.Number),
                new("reclaimable", r => Format.Bytes(r.ReclaimableBytes), ColumnKind.Number),
                new("objects reclaimable", r => Format.Count(r.ReclaimableObjects), ColumnKind.Number),
                new("saves per month", Saving, ColumnKind.Number),
            ]),
            new Layout<Engine.Usage.VariableUsageRow>(
            [
                new("policy\nstore", r => $"{Markup.Escape(r.Policy)}\n{Markup.Escape(r.Store)}"), value,
                new("groups\nobjects", r => $"{Format.Count(r.Groups)}\n{Format.Count(r.Objects)}", ColumnKind.Number),
                new("bytes\nreferenced", r => $"{Format.Bytes(r.Bytes)}\n{Format.Bytes(r.ReferencedBytes)}", ColumnKind.Number),
                new("reclaimable\nobjects", r => $"{Format.Bytes(r.ReclaimableBytes)}\n{Format.Count(r.ReclaimableObjects)}", ColumnKind.Number),
                new("saves per\nmonth", Saving, ColumnKind.Number),
            ]),
            new Layout<Engine.Usage.VariableUsageRow>(
            [
                new("policy · store", r => $"{Markup.Escape(r.Policy)} · {Markup.Escape(r.Store)}"), value,
                new("usage", r => $"{Format.Count(r.Groups)} groups, {Format.Count(r.Objects)} objects, {Format.Bytes(r.Bytes)}; {Format.Bytes(r.ReferencedBytes)} referenced; " +
                    $"{Format.Bytes(r.ReclaimableBytes)} ({Format.Count(r.ReclaimableObjects)} objects) reclaimable; saves {Saving(r)} per month", ColumnKind.Prose),
            ]));
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
        if (_context.Json)
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

    /// <summary>A run for JSON output: the summary embedded as an object (<see cref="RunSummary"/>), not as a string.</summary>
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
        summary = RunSummary.Of(run),
        error = run.Error,
    };

    public void Line(string text) => _console.MarkupLine(Markup.Escape(text));

    /// <summary>A line written as it is, never wrapped by Reclaim (a command to copy).</summary>
    public void Raw(string text) => _context.Out.WriteLine(text);

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

    private void Heading(string text) => _console.MarkupLine($"[bold]{Markup.Escape(text)}[/]");

    private void Note(string text) => _console.MarkupLine($"[grey]{Markup.Escape(text)}[/]");

    private static string Kind(RunRecord run) => run.Kind + (run.DryRun ? " (dry)" : string.Empty);

    /// <summary>A run's summary in a few words: what it did, what it kept or failed on, why it was refused or failed.</summary>
    internal static string Describe(RunRecord run)
    {
        var summary = RunSummary.Of(run);
        if (summary is null)
        {
            return run.Status == RunStatus.Running ? "running" : run.Error ?? string.Empty;
        }

        var parts = new List<string>();
        if (summary.RequestsProcessed is { } processed)
        {
            parts.Add($"{Format.Count(processed)} requests processed");
            parts.Add($"{Format.Count(summary.RequestsFailed ?? 0)} failed");
            if (summary.RequestsReleased is > 0)
            {
                parts.Add($"{Format.Count(summary.RequestsReleased.Value)} released");
            }

            parts.Add($"{Format.Count(summary.ObjectsDone)} objects ({Format.Bytes(summary.BytesDone)}) removed");
        }
        else if (summary.Parts.Count > 0 || summary.ObjectsDone > 0 || (summary.Refused is null && summary.Error is null))
        {
            parts.Add(Describe(summary.ObjectsDone, summary.BytesDone, summary.ObjectsSkipped, summary.ObjectsFailed, run.DryRun));
        }

        if (summary.Refused is { Count: > 0 } refused)
        {
            parts.Add("refused: " + string.Join("; ", refused));
        }

        if (summary.Error is { } error)
        {
            parts.Add(error);
        }

        return string.Join(", ", parts);
    }

    private static string Describe(RunPartSummary part, bool dryRun)
    {
        var text = Describe(part.ObjectsDone, part.BytesDone, part.ObjectsSkipped, part.ObjectsFailed, dryRun);
        if (part.Planned is { } planned)
        {
            var unit = planned.Type == PolicyKind.Records ? "rows" : "groups";
            text += $"; planned: {Format.Count(planned.GroupsScanned)} {unit} scanned, {Format.Count(planned.GroupsProposed)} proposed, " +
                $"{Format.Count(planned.KeptReferenced)} kept as referenced, {Format.Count(planned.KeptTooYoung)} too young, {Format.Count(planned.ObjectsUnmatched)} objects unmatched";
        }

        if (part.Refused is { Count: > 0 } refused)
        {
            text += "; refused: " + string.Join("; ", refused);
        }

        return text;
    }

    private static string Describe(long done, long bytes, long skipped, long failed, bool dryRun)
    {
        var text = $"{Format.Count(done)} {(dryRun ? "would be done" : "done")} ({Format.Bytes(bytes)})";
        if (skipped > 0)
        {
            text += $", {Format.Count(skipped)} skipped";
        }

        if (failed > 0)
        {
            text += $", {Format.Count(failed)} failed";
        }

        return text;
    }
}
