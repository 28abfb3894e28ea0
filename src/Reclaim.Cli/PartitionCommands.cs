using System.CommandLine;
using Reclaim.Core;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Partitioning;

namespace Reclaim.Cli;

/// <summary>
/// <c>--partition I/N</c> on <c>reclaim plan</c> and <c>reclaim sweep</c>: this process is participant I of N in a
/// partitioned run (<see cref="PartitionedRuns"/>), found by its <c>--run-key</c>.
/// </summary>
internal sealed class PartitionCommands
{
    /// <summary>The environment variable <c>--run-key</c> defaults to: <c>RECLAIM_RUN_KEY</c>.</summary>
    public const string RunKeyVariable = "RECLAIM_RUN_KEY";

    private readonly Option<string?> _partition = new("--partition")
    {
        Description = "Take part in a partitioned run as participant I of N (I from 0; e.g. $(JOB_COMPLETION_INDEX)/4): plan this share of its 16 key ranges, then any left free.",
    };

    private readonly Option<string?> _runKey = new("--run-key")
    {
        Description = $"With --partition: the run every participant joins, the same on each (e.g. the Kubernetes Job's name; default ${RunKeyVariable}).",
    };

    private readonly Option<string?> _lease = new("--lease")
    {
        Description = "With --partition: how long a claimed range stays this participant's without renewal before another takes it over (default 2m).",
    };

    private readonly Option<string?> _wait = new("--wait")
    {
        Description = "With --partition: the longest to wait for the other participants (their ranges planned, the guard verdict, their ranges applied; default 6h).",
    };

    private PartitionCommands()
    {
    }

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    /// <param name="command"><c>plan</c> or <c>sweep</c>.</param>
    /// <returns>The options, to read them back.</returns>
    public static PartitionCommands AddTo(Command command)
    {
        var options = new PartitionCommands();
        command.Options.Add(options._partition);
        command.Options.Add(options._runKey);
        command.Options.Add(options._lease);
        command.Options.Add(options._wait);
        return options;
    }

    /// <summary>Whether the command line asks for a partitioned run.</summary>
    /// <param name="result">The parsed command line.</param>
    /// <returns><see langword="true"/> with <c>--partition</c>.</returns>
    /// <exception cref="UsageException">A partition option is given without <c>--partition</c>.</exception>
    public bool Requested(ParseResult result)
    {
        if (result.GetValue(_partition) is not null)
        {
            return true;
        }

        return result.GetValue(_runKey) is null && result.GetValue(_lease) is null && result.GetValue(_wait) is null
            ? false
            : throw new UsageException("--run-key, --lease and --wait go with --partition I/N");
    }

    /// <summary><c>reclaim plan --partition I/N</c>: plans this participant's share and records it; prints the ranges planned and, once every range is, the run's verdict.</summary>
    /// <param name="context">The command's context.</param>
    /// <param name="engine">The engine.</param>
    /// <param name="result">The parsed command line.</param>
    /// <param name="policies">Policy names.</param>
    /// <param name="force">--force.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <returns>0, or 3 when the run's verdict refused it.</returns>
    public async Task<int> PlanAsync(CliContext context, ReclaimEngine engine, ParseResult result, IReadOnlyList<string> policies, bool force, CancellationToken cancellationToken)
    {
        var request = Request(result, policies, force, apply: false);
        var runs = Runs(context, engine);
        var (planned, verdict) = await runs.PlanShareAsync(request, context.Progress(), cancellationToken);
        context.ClearProgress();
        var (_, ranges) = await runs.ShowAsync(request.RunKey, cancellationToken);
        Write(context, request, planned, [], verdict, ranges);
        return verdict is { Passed: false } ? ExitCodes.Refused : ExitCodes.Ok;
    }

    /// <summary>
    /// <c>reclaim sweep --partition I/N</c>: plans this participant's share, waits for the run's guard verdict, then
    /// applies the ranges it claims and waits for the others' (taking over any whose participant died).
    /// </summary>
    /// <param name="context">The command's context.</param>
    /// <param name="engine">The engine.</param>
    /// <param name="result">The parsed command line.</param>
    /// <param name="policies">Policy names.</param>
    /// <param name="force">--force.</param>
    /// <param name="yes">--yes.</param>
    /// <param name="signals">The stop signals: the first stops planning, or the apply after its sub-batches in flight.</param>
    /// <returns>0, 3 (refused), 4 (some action failed) or the interrupted code.</returns>
    public async Task<int> SweepAsync(CliContext context, ReclaimEngine engine, ParseResult result, IReadOnlyList<string> policies, bool force, bool yes, StopSignals signals)
    {
        var request = Request(result, policies, force, apply: true);
        var runs = Runs(context, engine);
        var (shared, _) = await runs.PlanShareAsync(request, context.Progress(), signals.Stopping);
        var (verdict, more) = await runs.AwaitVerdictAsync(request, context.Progress(), signals.Stopping);
        context.ClearProgress();
        var planned = shared.Concat(more).ToList();
        if (!verdict.Passed)
        {
            var (_, refusedRanges) = await runs.ShowAsync(request.RunKey, CancellationToken.None);
            Write(context, request, planned, [], verdict, refusedRanges);
            await context.Error.WriteLineAsync($"refused: the guards refused partitioned run '{request.RunKey}' over its whole totals: {string.Join("; ", ReclaimEngine.RefusalReasons(verdict.Plan))}");
            await context.Error.WriteLineAsync("nothing was touched.");
            return ExitCodes.Refused;
        }

        if (verdict.Plan.ObjectsAccepted > 0 && !yes &&
            !context.Confirm($"Remove {Format.Count(verdict.Plan.ObjectsAccepted)} objects, {Format.Bytes(verdict.Plan.BytesAccepted)} (the whole partitioned run '{request.RunKey}'; this participant applies its share)?"))
        {
            return ExitCodes.Usage;
        }

        var applied = await runs.ApplyShareAsync(request, verdict, CliContext.Actor, signals.Abort, signals.Stopping);
        var (_, ranges) = await runs.ShowAsync(request.RunKey, CancellationToken.None);
        Write(context, request, planned, applied, verdict, ranges);
        if (signals.Received is not null || applied.Any(a => a.Run?.Run.Status == RunStatus.Interrupted))
        {
            return signals.InterruptedExitCode;
        }

        return applied.Any(a => a.Run?.Run.Status is RunStatus.PartiallyFailed or RunStatus.Failed) ? ExitCodes.PartiallyFailed : ExitCodes.Ok;
    }

    private PartitionRequest Request(ParseResult result, IReadOnlyList<string> policies, bool force, bool apply)
    {
        var (participant, participants) = PartitionRequest.ParsePartition(result.GetValue(_partition)!);
        var key = result.GetValue(_runKey) ?? Environment.GetEnvironmentVariable(RunKeyVariable);
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new UsageException($"--partition needs --run-key NAME (or ${RunKeyVariable}), the same on every participant: for example the Kubernetes Job's name");
        }

        return new PartitionRequest(key, participant, participants, policies, force,
            DurationOf(result.GetValue(_lease), "--lease", PartitionRequest.DefaultLease),
            DurationOf(result.GetValue(_wait), "--wait", PartitionRequest.DefaultWait))
        {
            Actor = CliContext.Actor,
            Apply = apply,
        };
    }

    private static TimeSpan DurationOf(string? text, string option, TimeSpan fallback)
    {
        if (text is null)
        {
            return fallback;
        }

        return Duration.TryParse(text, out var value) && value > TimeSpan.Zero
            ? value
            : throw new UsageException($"{option}: '{text}' is not a positive duration (90s, 15m, 24h, 7d)");
    }

    private static PartitionedRuns Runs(CliContext context, ReclaimEngine engine)
    {
        var runs = engine.Partitioned;
        runs.Notice = line => context.Error.WriteLine(line);
        return runs;
    }

    /// <summary>The JSON document of a partitioned command (docs/json.md's shape), written streamed by <see cref="Output.Json"/>.</summary>
    internal static object Document(PartitionRequest request, IReadOnlyList<RangeOutcome> planned, IReadOnlyList<RangeOutcome> applied, PartitionVerdict? verdict, IReadOnlyList<PartitionRange> ranges) =>
        new
        {
            RunKey = request.RunKey,
            request.Participant,
            request.Participants,
            Planned = planned.Select(p => new { Range = p.Index, p.TakenOver, Groups = p.Totals, p.Objects, p.Bytes }),
            Applied = applied.Select(a => new
            {
                Range = a.Index,
                a.TakenOver,
                RunId = a.Run?.Run.Id,
                Status = a.Run?.Run.Status,
                ObjectsDone = a.Run?.Totals.ObjectsDone,
                BytesDone = a.Run?.Totals.BytesDone,
                ObjectsSkipped = a.Run?.Totals.ObjectsSkipped,
                ObjectsFailed = a.Run?.Totals.ObjectsFailed,
            }),
            Verdict = verdict is null ? null : new
            {
                verdict.Passed,
                verdict.RecordedByThis,
                verdict.Plan.ObjectsAccepted,
                verdict.Plan.BytesAccepted,
                Refusals = ReclaimEngine.RefusalReasons(verdict.Plan),
                Policies = verdict.Plan.Policies.Select(p => new { p.Policy, p.Totals, p.Guards }),
            },
            Ranges = ranges.Select(r => new { Range = r.Index, r.Phase, r.PlannedBy, r.ApplyRunId, r.AppliedBy, r.Takeovers }),
        };

    /// <summary>Writes a partitioned command's outcome: the JSON document, or lines for a person.</summary>
    internal static void Write(CliContext context, PartitionRequest request, IReadOnlyList<RangeOutcome> planned, IReadOnlyList<RangeOutcome> applied, PartitionVerdict? verdict, IReadOnlyList<PartitionRange> ranges)
    {
        if (context.Json)
        {
            new Output(context).Json(Document(request, planned, applied, verdict, ranges));
            return;
        }

        context.Out.WriteLine($"partitioned run '{request.RunKey}', participant {request.Participant} of {request.Participants}");
        foreach (var p in planned)
        {
            context.Out.WriteLine($"  planned range {p.Index,2}{(p.TakenOver ? " (taken over)" : string.Empty)}: {Format.Count(p.Totals)} groups, {Format.Count(p.Objects)} objects, {Format.Bytes(p.Bytes)}");
        }

        foreach (var a in applied)
        {
            context.Out.WriteLine($"  applied range {a.Index,2}{(a.TakenOver ? " (taken over)" : string.Empty)} as run {a.Run?.Run.Id}: {a.Run?.Run.Status}, {Format.Count(a.Run?.Totals.ObjectsDone ?? 0)} objects done, {Format.Count(a.Run?.Totals.ObjectsSkipped ?? 0)} skipped, {Format.Count(a.Run?.Totals.ObjectsFailed ?? 0)} failed");
        }

        var done = ranges.Count(r => r.Phase != RangePhase.Pending);
        context.Out.WriteLine($"  ranges: {done} of {ranges.Count} planned, {ranges.Count(r => r.Phase == RangePhase.Applied)} applied");
        if (verdict is not null)
        {
            context.Out.WriteLine(verdict.Passed
                ? $"  guards over the whole run: passed ({Format.Count(verdict.Plan.ObjectsAccepted)} objects, {Format.Bytes(verdict.Plan.BytesAccepted)})"
                : $"  guards over the whole run: refused: {string.Join("; ", ReclaimEngine.RefusalReasons(verdict.Plan))}");
        }
        else
        {
            context.Out.WriteLine("  guards over the whole run: not evaluated yet (ranges are still being planned by other participants)");
        }
    }
}
