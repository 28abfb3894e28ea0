using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Queue;
using Reclaim.Engine.Runtime;
using Reclaim.Server;

namespace Reclaim.Cli;

/// <summary>The queue's verbs: <c>worker</c>, <c>queue status|retry</c>, <c>enqueue</c>. Thin callers of <see cref="QueueService"/>.</summary>
internal static class QueueCommands
{
    public static Command Worker(Func<ParseResult, CliContext> context)
    {
        var once = new Option<bool>("--once") { Description = "Drain the queues and exit (for cron)." };
        var policies = new Option<string[]>("--policy") { Description = "A queue policy to drain (repeatable; 'reclaim' is the own queue; default: all)." };
        var command = new Command("worker", "Process queue policies continuously: claim requests oldest first, remove their objects through the gate, mark them processed. SIGTERM/SIGINT finish the current requests and release the rest.") { once, policies };
        command.SetAction(async (result, cancellationToken) =>
        {
            // Awaited here, not returned: the signal registrations and the token source must outlive the run.
            var cli = context(result);
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var stopped = 0;
            void Stop(PosixSignalContext signal)
            {
                signal.Cancel = true;
                if (Interlocked.Exchange(ref stopped, 1) == 0)
                {
                    cli.Error.WriteLine($"{(signal.Signal == PosixSignal.SIGINT ? "interrupt (Ctrl+C)" : "SIGTERM")}: finishing the requests in progress, releasing the claimed ones not started, then exiting");
                }

                stopping.Cancel();
            }

            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            return await cli.RunAsync(async (engine, loggerFactory) =>
            {
                RuntimeSettings.Current().Log(loggerFactory.CreateLogger("Reclaim.Runtime"));
                var drainOnce = result.GetValue(once);
                WorkerTotals totals;

                // Under systemd (Type=notify): ready once the state is reachable and migrated; stopping on SIGTERM.
                // A stop is not a failure: the migration (one short transaction) is finished rather than cancelled, and
                // the worker then sees the stop before its first claim.
                await engine.MigrateAsync(cancellationToken);
                await using (var systemd = drainOnce ? null : Systemd.Ready(cli.Time))
                {
                    using var stoppingNotice = stopping.Token.Register(() => systemd?.Stopping());
                    // Between queue requests, the worker also joins the open partitioned runs in state (server.join_partitioned_runs).
                    var joining = drainOnce ? Task.CompletedTask : PartitionedRunHost.RunAsync(engine, engine.Config, stopping.Token);
                    try
                    {
                        totals = await engine.Queue.RunWorkerAsync(result.GetValue(policies) ?? [], drainOnce, stopping.Token);
                    }
                    finally
                    {
                        await stopping.CancelAsync();
                        await joining;
                    }
                }

                if (cli.Json)
                {
                    new Output(cli).Json(new { processed = totals.Processed, failed = totals.Failed, released = totals.Released, objects = totals.Objects, bytes = totals.Bytes });
                }
                else
                {
                    cli.Out.WriteLine($"{totals.Processed} requests processed, {totals.Failed} failed, {totals.Released} released; {totals.Objects} objects, {Format.Bytes(totals.Bytes)} removed");
                }

                return totals.Failed > 0 ? ExitCodes.PartiallyFailed : ExitCodes.Ok;
            }, LogLevel.Information);
        });
        return command;
    }

    public static Command Queue(Func<ParseResult, CliContext> context)
    {
        var policies = new Option<string[]>("--policy") { Description = "A queue (repeatable; default: all)." };
        var failures = new Option<int>("--failures") { Description = "Recent failures to show per queue (default 10).", DefaultValueFactory = _ => 10 }.AtLeast(0);
        var status = new Command("status", "Depth, oldest pending request and recent failures of each queue.") { policies, failures };
        status.SetAction((result, cancellationToken) =>
        {
            var cli = context(result);
            return cli.RunAsync(async engine =>
            {
                var queues = await engine.Queue.StatusAsync(result.GetValue(policies) ?? [], Math.Max(0, result.GetValue(failures)), cancellationToken);
                new Output(cli).Queues(queues);
                return ExitCodes.Ok;
            });
        });

        var id = new Argument<string>("ID") { Description = "The failed request's id." };
        var retryPolicies = new Option<string[]>("--policy") { Description = "The queue it is in (default: look in all)." };
        var retry = new Command("retry", "Make a failed request pending again, with its attempts reset.") { id, retryPolicies };
        retry.SetAction((result, cancellationToken) =>
        {
            var cli = context(result);
            return cli.RunAsync(async engine =>
            {
                var queue = await engine.Queue.RetryAsync(result.GetValue(id)!, result.GetValue(retryPolicies) ?? [], cancellationToken);
                cli.Out.WriteLine(cli.Json ? $"{{\"queue\":\"{queue}\",\"id\":\"{result.GetValue(id)}\",\"pending\":true}}" : $"request {result.GetValue(id)} of {queue} is pending again");
                return ExitCodes.Ok;
            });
        });
        var triggerPolicies = new Option<string[]>("--policy") { Description = "A queue policy whose table gets the trigger (repeatable; default: all)." };
        var print = new Option<bool>("--print", "--dry-run") { Description = "Print the SQL (plain SQL, whatever --format says, to pipe into psql) and change nothing." };
        var installTrigger = new Command("install-trigger", $"PostgreSQL only, opt-in: install an AFTER INSERT trigger on each queue policy's table that notifies channel '{QueueNotifications.Channel}', so a running worker takes new rows at once instead of at its next poll. Safe to run again.") { triggerPolicies, print };
        installTrigger.SetAction((result, cancellationToken) =>
        {
            var cli = context(result);
            return cli.RunAsync(async engine =>
            {
                var install = !result.GetValue(print);
                var triggers = await engine.Queue.InstallTriggerAsync(result.GetValue(triggerPolicies) ?? [], install, cancellationToken);
                if (cli.Json && install)
                {
                    new Output(cli).Json(new
                    {
                        channel = QueueNotifications.Channel,
                        triggers = triggers.Select(t => new { policy = t.Policy, catalog = t.Catalog, table = t.Table, installed = t.Installed, sql = t.Sql }),
                    });
                    return ExitCodes.Ok;
                }

                foreach (var trigger in triggers)
                {
                    cli.Out.WriteLine(install
                        ? $"{trigger.Policy}: trigger {QueueNotifications.TriggerName} installed on {trigger.Table} (catalog {trigger.Catalog}); workers listen on channel {QueueNotifications.Channel}"
                        : $"-- {trigger.Policy}: catalog {trigger.Catalog}, table {trigger.Table}\n{trigger.Sql}");
                }

                return ExitCodes.Ok;
            });
        });
        return new Command("queue", "The deletion-request queue.") { status, retry, installTrigger };
    }

    public static Command Enqueue(Func<ParseResult, CliContext> context)
    {
        var store = new Option<string>("--store") { Description = "The store.", Required = true };
        var keys = new Option<string[]>("--key") { Description = "An object to remove (repeatable)." };
        var prefixes = new Option<string[]>("--prefix") { Description = "A folder to empty, ending in '/' (repeatable)." };
        var action = new Option<string>("--action") { Description = "delete or quarantine (default quarantine).", DefaultValueFactory = _ => "quarantine" };
        action.AcceptOnlyFromAmong("delete", "quarantine");
        var command = new Command("enqueue", "Add deletion requests to Reclaim's own queue; the worker drains them.") { store, keys, prefixes, action };
        command.SetAction((result, cancellationToken) =>
        {
            var cli = context(result);
            return cli.RunAsync(async engine =>
            {
                var kind = result.GetValue(action) == "delete" ? ActionKind.Delete : ActionKind.Quarantine;
                var ids = await engine.Queue.EnqueueAsync(result.GetValue(store)!, result.GetValue(keys) ?? [], result.GetValue(prefixes) ?? [], kind, CliContext.Actor, RequesterRole.Admin, cancellationToken);
                cli.Out.WriteLine(cli.Json
                    ? $"{{\"ids\":[{string.Join(',', ids.Select(i => i.ToString(CultureInfo.InvariantCulture)))}]}}"
                    : $"enqueued {ids.Count} requests: {string.Join(", ", ids.Select(i => i.ToString(CultureInfo.InvariantCulture)))}");
                return ExitCodes.Ok;
            });
        });
        return command;
    }
}
