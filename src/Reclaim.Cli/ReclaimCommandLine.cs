using System.CommandLine;
using System.Globalization;
using Reclaim.Core;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;

namespace Reclaim.Cli;

/// <summary>The <c>reclaim</c> command tree (README, "Command line"). Every verb is a thin caller of <see cref="ReclaimEngine"/>.</summary>
public sealed class ReclaimCommandLine
{
    private readonly Option<string> _configOption = new("--config", "-c")
    {
        Description = "The config file.",
        DefaultValueFactory = _ => "reclaim.yaml",
        Recursive = true,
    };

    private readonly Option<string?> _formatOption = new("--format")
    {
        Description = "Output format: table or json (default: table on a terminal, json otherwise).",
        Recursive = true,
    };

    private readonly Option<bool> _verboseOption = new("--verbose", "-v")
    {
        Description = "Log every action and more detail on stderr.",
        Recursive = true,
    };

    /// <summary>Parses and runs a command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <returns>The exit code (<see cref="ExitCodes"/>).</returns>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        new ReclaimCommandLine(TimeProvider.System).InvokeAsync(args, stdout, stderr);

    /// <summary>Parses and runs a command line with a given clock (tests move time instead of waiting).</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <param name="clock">The clock every command sees.</param>
    /// <returns>The exit code.</returns>
    internal static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TimeProvider clock) =>
        new ReclaimCommandLine(clock).InvokeAsync(args, stdout, stderr);

    private readonly TimeProvider _clock;

    private ReclaimCommandLine(TimeProvider clock)
    {
        _clock = clock;
        _formatOption.AcceptOnlyFromAmong("table", "json");
    }

    private async Task<int> InvokeAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("Reclaim: safe garbage collection for media storage.");
        root.Options.Add(_configOption);
        root.Options.Add(_formatOption);
        root.Options.Add(_verboseOption);
        root.Subcommands.Add(DemoCommand(stdout, stderr));
        root.Subcommands.Add(ValidateCommand(stdout, stderr));
        root.Subcommands.Add(PlanCommand(stdout, stderr));
        root.Subcommands.Add(ApplyCommand(stdout, stderr));
        root.Subcommands.Add(SweepCommand(stdout, stderr));
        root.Subcommands.Add(RestoreCommand(stdout, stderr));
        root.Subcommands.Add(TrashCommand(stdout, stderr));
        root.Subcommands.Add(RunsCommand(stdout, stderr));
        root.Subcommands.Add(UsageCommand(stdout, stderr));
        root.Subcommands.Add(MigrateCommand(stdout, stderr));
        root.Subcommands.Add(ServeCommand.Create(result => Context(result, stdout, stderr)));
        root.Subcommands.Add(ServeCommand.Token(result => Context(result, stdout, stderr)));
        root.Subcommands.Add(QueueCommands.Worker(r => Context(r, stdout, stderr)));
        root.Subcommands.Add(QueueCommands.Queue(r => Context(r, stdout, stderr)));
        root.Subcommands.Add(QueueCommands.Enqueue(r => Context(r, stdout, stderr)));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await stderr.WriteLineAsync($"error: {error.Message}");
            }

            await stderr.WriteLineAsync("see: reclaim --help");
            return ExitCodes.Usage;
        }

        var configuration = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        if (parsed.CommandResult.Command.Name is "serve" or "worker" or "sweep" or "apply" or "restore" or "purge")
        {
            // sweep, apply, restore and trash purge handle them with StopSignals: finish the sub-batches in flight,
            // record them, end the run interrupted.
            // These handle SIGTERM/SIGINT themselves and finish the request in progress (the server within its
            // 30 s shutdown timeout); System.CommandLine's own handling would end the process 2 s after the signal,
            // mid-request, with exit code 143 and the request's lease still held.
            configuration.ProcessTerminationTimeout = null;
        }

        return await parsed.InvokeAsync(configuration);
    }

    private CliContext Context(ParseResult result, TextWriter stdout, TextWriter stderr)
    {
        var format = result.GetValue(_formatOption);
        var json = format is null ? Console.IsOutputRedirected || !ReferenceEquals(stdout, Console.Out) : format == "json";
        return new CliContext(Path.GetFullPath(result.GetValue(_configOption)!), json, result.GetValue(_verboseOption), stdout, stderr) { Time = _clock };
    }

    private static Option<string[]> PolicyOption() => new("--policy") { Description = "A policy to run (repeatable; default: all)." };

    private Command DemoCommand(TextWriter stdout, TextWriter stderr)
    {
        var dir = new Option<string>("--dir") { Description = "Where to build the demo (default: ./reclaim-demo).", DefaultValueFactory = _ => "reclaim-demo" };
        var command = new Command("demo", "Build a self-contained example (SQLite catalog, folder store, config), plan it, apply it with quarantine, and show the result.") { dir };
        command.SetAction((result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            return context.GuardedAsync(() => Demo.RunAsync(context, Path.GetFullPath(result.GetValue(dir)!), cancellationToken));
        });
        return command;
    }

    private Command ValidateCommand(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("validate", "Check the config and connectivity to every store and catalog.");
        command.SetAction((result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            return context.RunAsync(async engine =>
            {
                var checks = await engine.ValidateAsync(cancellationToken);
                var schedule = Server.Scheduling.ScheduleForecast.Next(engine.Config.Schedule, context.Time.GetUtcNow(), count: 3);
                new Output(context).Validation(checks, schedule);
                return checks.All(c => c.Ok) && schedule.All(e => e.Error is null) ? ExitCodes.Ok : ExitCodes.Failed;
            });
        });
        return command;
    }

    private Command PlanCommand(TextWriter stdout, TextWriter stderr)
    {
        var policies = PolicyOption();
        var output = new Option<string?>("--output", "-o") { Description = "Write the plan to this file (JSON) for `reclaim apply`." };
        var export = new Option<string?>("--export") { Description = "Write the proposed objects to this file as CSV (policy, store, group, key, size, last_modified, the layout's values), to re-link instead of deleting." };
        var force = new Option<bool>("--force") { Description = "Accept a min_age below guards.min_age_floor." };
        var command = new Command("plan", "A dry run: per-policy candidates, bytes and guard verdicts; optionally writes the plan.") { policies, output, export, force };
        var partition = PartitionCommands.AddTo(command);
        command.SetAction((result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            return context.RunAsync(async engine =>
            {
                if (partition.Requested(result))
                {
                    return await partition.PlanAsync(context, engine, result, result.GetValue(policies) ?? [], result.GetValue(force), cancellationToken);
                }

                var plan = await engine.PlanAsync(result.GetValue(policies) ?? [], result.GetValue(force), context.Progress(), cancellationToken);

                var path = result.GetValue(output);
                if (path is not null)
                {
                    await PlanFile.WriteAsync(plan, path, cancellationToken);
                }

                if (result.GetValue(export) is { } csv)
                {
                    var lines = await OrphanExport.WriteAsync(plan, csv, cancellationToken);
                    await stderr.WriteLineAsync($"exported {Format.Count(lines)} objects to {csv}");
                }

                new Output(context).Plan(plan, path);
                return plan.Refused ? ExitCodes.Refused : ExitCodes.Ok;
            });
        });
        return command;
    }

    private Command ApplyCommand(TextWriter stdout, TextWriter stderr)
    {
        var planPath = new Argument<string>("PLAN") { Description = "A plan file written by `reclaim plan -o`." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Apply without asking." };
        var command = new Command("apply", "Apply exactly that plan, re-checking each action first.") { planPath, yes };
        command.SetAction(async (result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            using var signals = new StopSignals(stderr, cancellationToken);
            return await context.RunAsync(async engine =>
            {
                var plan = await PlanFile.ReadAsync(result.GetValue(planPath)!, signals.Stopping);
                if (!plan.RefusedEntirely && !result.GetValue(yes) &&
                    !context.Confirm($"Apply the plan: {Format.Count(plan.ObjectsAccepted)} objects, {Format.Bytes(plan.BytesAccepted)}{RefusedNote(plan)}?"))
                {
                    return ExitCodes.Usage;
                }

                return await FinishAsync(context, await engine.ApplyAsync(plan, CliContext.Actor, dryRun: false, signals.Abort, stopping: signals.Stopping), plan, signals);
            });
        });
        return command;
    }

    private Command SweepCommand(TextWriter stdout, TextWriter stderr)
    {
        var policies = PolicyOption();
        var dryRun = new Option<bool>("--dry-run") { Description = "Plan and re-check only; touch nothing. Recorded as a dry run (no actions) in the history." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Apply without asking." };
        var force = new Option<bool>("--force") { Description = "Accept a min_age below guards.min_age_floor." };
        var command = new Command("sweep", "Plan, then apply.") { policies, dryRun, yes, force };
        var partition = PartitionCommands.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            using var signals = new StopSignals(stderr, cancellationToken);
            return await context.RunAsync(async engine =>
            {
                if (partition.Requested(result))
                {
                    return result.GetValue(dryRun)
                        ? throw new UsageException("--dry-run and --partition: plan a share with `reclaim plan --partition I/N` instead")
                        : await partition.SweepAsync(context, engine, result, result.GetValue(policies) ?? [], result.GetValue(force), result.GetValue(yes), signals);
                }

                // A sweep is a run, dry or not (as a dry run through the API is): when its planning fails it is
                // recorded as failed, with the error, and the run id it prints is one `reclaim runs show` finds.
                // One JSON document per command: the plan when nothing of it runs, the run otherwise.
                var output = new Output(context);
                var request = new SweepRequest
                {
                    Policies = result.GetValue(policies) ?? [],
                    Actor = CliContext.Actor,
                    DryRun = result.GetValue(dryRun),
                    Force = result.GetValue(force),
                    Progress = context.Progress(),
                    CancelledReason = "cancelled while planning (interrupted); nothing was touched",
                    Planned = plan =>
                    {
                        if (!context.Json || plan.RefusedEntirely)
                        {
                            output.Plan(plan, null);
                        }
                    },
                    Confirm = result.GetValue(yes) ? null : plan => context.Confirm($"Remove {Format.Count(plan.ObjectsAccepted)} objects, {Format.Bytes(plan.BytesAccepted)}{RefusedNote(plan)}?"),
                };
                var sweep = await engine.SweepAsync(request, signals.Stopping, signals.Abort);
                if (sweep.Refusal is { } refusal)
                {
                    await stderr.WriteLineAsync($"refused: a guard refused the plan (recorded as run {refusal.Id}); nothing was touched.");
                    return ExitCodes.Refused;
                }

                return sweep.Result is { } run ? await FinishAsync(context, run, sweep.Plan, signals) : ExitCodes.Usage;
            });
        });
        return command;
    }

    private Command RestoreCommand(TextWriter stdout, TextWriter stderr)
    {
        var runId = new Argument<string>("RUN_ID") { Description = "The run that quarantined the objects." };
        var keys = new Option<string[]>("--key") { Description = "Restore only this original key (repeatable)." };
        var command = new Command("restore", "Move quarantined objects of a run back, byte-identical; never overwrites.") { runId, keys };
        command.SetAction(async (result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            using var signals = new StopSignals(stderr, cancellationToken);
            return await context.RunAsync(async engine =>
                Finish(context, await engine.RestoreAsync(result.GetValue(runId)!, result.GetValue(keys) ?? [], CliContext.Actor, signals.Abort, signals.Stopping), signals));
        });
        return command;
    }

    private Command TrashCommand(TextWriter stdout, TextWriter stderr)
    {
        var olderThan = new Option<string?>("--older-than") { Description = "Purge quarantines older than this (default: trash.retention), e.g. 7d." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Count only." };
        var purge = new Command("purge", "Delete quarantined objects past retention.") { olderThan, dryRun };
        purge.SetAction(async (result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            using var signals = new StopSignals(stderr, cancellationToken);
            return await context.RunAsync(async engine =>
            {
                TimeSpan? age = null;
                if (result.GetValue(olderThan) is { } text)
                {
                    age = Duration.TryParse(text, out var parsed) ? parsed : throw new UsageException($"--older-than: '{text}' is not a duration (90s, 15m, 24h, 7d)");
                    if (age <= TimeSpan.Zero)
                    {
                        throw new UsageException($"--older-than must be longer than zero, found '{text}': a quarantine is purged once it is at least that old (1s purges every finished one)");
                    }
                }

                return Finish(context, await engine.PurgeAsync(age, CliContext.Actor, result.GetValue(dryRun), signals.Abort, signals.Stopping), signals);
            });
        });
        return new Command("trash", "Manage quarantined objects.") { purge };
    }

    private Command RunsCommand(TextWriter stdout, TextWriter stderr)
    {
        var limit = new Option<int>("--limit") { Description = "How many runs (default 20).", DefaultValueFactory = _ => 20 }.AtLeastOne();
        var runId = new Argument<string>("RUN_ID") { Description = "The run." };
        var actionLimit = new Option<int?>("--limit") { Description = $"How many actions to show (default: {DefaultActionsShown} in a table, all in JSON; 0 for all)." };
        var outcomes = new Option<string[]>("--outcome") { Description = "Only actions with this outcome: done, skipped, failed or pending (repeatable)." };
        outcomes.AcceptOnlyFromAmong("done", "skipped", "failed", "pending");
        var show = new Command("show", "One run, what each of its parts did, and its actions.") { runId, actionLimit, outcomes };
        show.SetAction((result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            return context.RunAsync(async engine =>
            {
                var (run, actions) = await engine.RunAsync(result.GetValue(runId)!, cancellationToken);
                var wanted = (result.GetValue(outcomes) ?? []).Select(o => Enum.Parse<ActionOutcome>(o, ignoreCase: true)).ToHashSet();
                var shown = result.GetValue(actionLimit) ?? (context.Json ? 0 : DefaultActionsShown);
                if (shown < 0)
                {
                    throw new UsageException($"--limit must be 0 (all) or more, not {shown}");
                }

                new Output(context).RunDetail(run, actions, wanted, shown);
                return ExitCodes.Ok;
            });
        });
        var command = new Command("runs", "Run history.") { limit, show };
        command.SetAction((result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            return context.RunAsync(async engine =>
            {
                new Output(context).Runs(await engine.RunsAsync(result.GetValue(limit), cancellationToken));
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>How many actions <c>reclaim runs show</c> prints in a table without <c>--limit</c>.</summary>
    private const int DefaultActionsShown = 100;

    private Command UsageCommand(TextWriter stdout, TextWriter stderr)
    {
        var store = new Option<string?>("--store") { Description = "One store (default: all)." };
        var depth = new Option<int>("--depth") { Description = "Prefix depth in segments (default 1).", DefaultValueFactory = _ => 1 }.AtLeastOne();
        var noPlan = new Option<bool>("--no-plan") { Description = "Skip the dry run that reports reclaimable bytes per policy." };
        var by = new Option<string?>("--by") { Description = "Group by a variable of the policies' layouts (for example org): objects and bytes, referenced and reclaimable, per value." };
        var command = new Command("usage", "Objects and bytes by prefix, cost per month where priced, and reclaimable bytes per policy.") { store, depth, noPlan, by };
        command.SetAction((result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            return context.RunAsync(async engine =>
            {
                if (result.GetValue(by) is { } variable)
                {
                    new Output(context).UsageBy(await engine.UsageByAsync(result.GetValue(store), variable, context.Progress(), cancellationToken));
                    return ExitCodes.Ok;
                }

                new Output(context).Usage(await engine.UsageReportAsync(result.GetValue(store), result.GetValue(depth), !result.GetValue(noPlan), context.Progress(), cancellationToken));
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private Command MigrateCommand(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("migrate", "Create or upgrade the state schema.");
        command.SetAction((result, cancellationToken) =>
        {
            var context = Context(result, stdout, stderr);
            return context.RunAsync(async engine =>
            {
                var version = await engine.MigrateAsync(cancellationToken);
                new Output(context).Line($"state schema at version {version}");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>" (policy 'a' refused)" for a plan some of whose policies a guard refused, for a prompt.</summary>
    private static string RefusedNote(Core.Planning.Plan plan)
    {
        var refused = plan.Policies.Where(p => p.Refused).Select(p => $"'{p.Policy}'").ToList();
        return refused.Count == 0 ? string.Empty : $" (refused, left alone: {string.Join(", ", refused)})";
    }

    /// <summary>
    /// Prints a run and, on stderr, each refusal of the applied <paramref name="plan"/> (whose verdicts the apply
    /// evaluated again); the exit code of the run's status.
    /// </summary>
    private static async Task<int> FinishAsync(CliContext context, RunResult result, Core.Planning.Plan plan, StopSignals signals)
    {
        var code = Finish(context, result, signals);
        foreach (var reason in ReclaimEngine.RefusalReasons(plan))
        {
            await context.Error.WriteLineAsync($"refused: {reason}; nothing of that policy was touched, the others were {(result.Run.DryRun ? "checked" : "applied")}.");
        }

        return code;
    }

    /// <summary>Prints a run, and on stderr why it did not simply succeed; the exit code of its status (an interrupted run's: 128 + the signal).</summary>
    private static int Finish(CliContext context, RunResult result, StopSignals signals)
    {
        new Output(context).Run(result);
        if (result.Run.Error is { } error && result.Run.Status is RunStatus.Interrupted or RunStatus.Failed or RunStatus.PartiallyFailed)
        {
            context.Error.WriteLine($"{(result.Run.Status == RunStatus.Interrupted ? "interrupted" : "error")}: run {result.Run.Id}: {error}");
        }

        return result.Run.Status switch
        {
            RunStatus.Succeeded => ExitCodes.Ok,
            RunStatus.PartiallyFailed => ExitCodes.PartiallyFailed,
            RunStatus.Refused => ExitCodes.Refused,
            RunStatus.Interrupted => signals.InterruptedExitCode,
            _ => ExitCodes.Failed,
        };
    }
}

/// <summary>Checks of option values the parser does not make itself.</summary>
internal static class OptionRules
{
    /// <summary>
    /// Refuses a value below 1 (<c>--limit -5</c>, <c>--depth 0</c>) with a usage error naming the option, exit
    /// code 2; a value that is not a whole number is reported by the parser already.
    /// </summary>
    /// <param name="option">A count or depth option.</param>
    /// <returns>The option.</returns>
    public static Option<int> AtLeastOne(this Option<int> option) => AtLeast(option, 1);

    /// <summary>Refuses a value below <paramref name="minimum"/>, as <see cref="AtLeastOne"/> does below 1.</summary>
    /// <param name="option">A count option.</param>
    /// <param name="minimum">The least value accepted.</param>
    /// <returns>The option.</returns>
    public static Option<int> AtLeast(this Option<int> option, int minimum)
    {
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && int.TryParse(r.Tokens[^1].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value < minimum)
            {
                r.AddError($"{option.Name} must be {minimum} or more, found {value}");
            }
        });
        return option;
    }
}
