using System.Globalization;
using Microsoft.Extensions.Logging;
using Reclaim.Core.State;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.Gate;

/// <summary>
/// Settles runs that ended without recording all their outcomes: a run still recorded as running whose process is
/// gone (<see cref="RunOwner.IsAlive"/>), and any finished run with actions still pending (a hard stop, or an older
/// Reclaim; not a run already interrupted whose pending actions are all in stores the config no longer has, which
/// stays as it was settled). Its pending actions are settled from the store's state (<see cref="DestructiveGate.ReconcileAsync"/>)
/// and the run is marked <see cref="RunStatus.Interrupted"/> with the reason. The commands that touch runs —
/// <c>runs</c>, <c>runs show</c>, <c>restore</c>, <c>sweep</c>/<c>apply</c> and <c>trash purge</c> — call it first.
/// </summary>
/// <param name="workspace">The stores the actions are in.</param>
/// <param name="state">The state.</param>
/// <param name="timeProvider">The clock.</param>
/// <param name="loggerFactory">Logging.</param>
internal sealed class RunReconciler(Workspace workspace, IStateStore state, TimeProvider timeProvider, ILoggerFactory loggerFactory)
{
    /// <summary>Settles every unsettled run whose owner is gone; live runs are left to their owners.</summary>
    /// <param name="cancellationToken">Cancels the work; what was settled stays recorded.</param>
    /// <returns>The runs settled.</returns>
    public async Task<IReadOnlyList<string>> SettleAllAsync(CancellationToken cancellationToken)
    {
        var settled = new List<string>();
        foreach (var runId in await state.UnsettledRunsAsync(cancellationToken))
        {
            if (await SettleAsync(runId, cancellationToken))
            {
                settled.Add(runId);
            }
        }

        return settled;
    }

    /// <summary>Settles one run if it is unsettled and its owner is gone.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns><see langword="true"/> when the run was settled now.</returns>
    public async Task<bool> SettleAsync(string runId, CancellationToken cancellationToken)
    {
        var run = await state.GetRunAsync(runId, cancellationToken);
        if (run is null || (run.Status == RunStatus.Running && RunOwner.IsAlive(run, timeProvider.GetUtcNow())))
        {
            return false;
        }

        var pending = new List<ActionRecord>();
        await foreach (var action in state.ListActionsAsync(runId, cancellationToken))
        {
            if (action.Outcome == ActionOutcome.Pending)
            {
                pending.Add(action);
            }
        }

        // A run already interrupted whose pending actions are all in stores the config no longer has was settled as far
        // as it can be: settling it again would learn nothing and only repeat the reason in its record.
        if (run.Status != RunStatus.Running &&
            (pending.Count == 0 || (run.Status == RunStatus.Interrupted && pending.TrueForAll(a => !workspace.Config.Stores.ContainsKey(a.Store)))))
        {
            return false;
        }

        var gate = new DestructiveGate(state, timeProvider, loggerFactory.CreateLogger<DestructiveGate>());
        long done = 0, notDone = 0, failed = 0, unreachable = 0;
        foreach (var inStore in pending.GroupBy(a => a.Store, StringComparer.Ordinal))
        {
            if (!workspace.Config.Stores.ContainsKey(inStore.Key))
            {
                unreachable += inStore.Count();
                continue;
            }

            foreach (var outcome in (await gate.ReconcileAsync(workspace.Store(inStore.Key), [.. inStore], cancellationToken)).Values)
            {
                switch (outcome.Outcome)
                {
                    case ActionOutcome.Done:
                        done++;
                        break;
                    case ActionOutcome.Failed:
                        failed++;
                        break;
                    default:
                        notDone++;
                        break;
                }
            }
        }

        var reason = run.Status == RunStatus.Running
            ? $"its process ({run.Owner ?? "unknown"}) ended before the run finished"
            : $"it ended ({run.Status.ToString().ToLowerInvariant()}) with {pending.Count} actions pending";
        if (pending.Count > 0)
        {
            reason += string.Create(CultureInfo.InvariantCulture,
                $"; {pending.Count - unreachable} pending actions were settled from the store's state on {timeProvider.GetUtcNow():yyyy-MM-ddTHH:mm:ssZ} ({done} done, {notDone} not done, {failed} failed)");
        }

        if (unreachable > 0)
        {
            reason += string.Create(CultureInfo.InvariantCulture, $"; {unreachable} actions in stores the config no longer has stay pending");
        }

        Log.RunSettled(loggerFactory.CreateLogger("Reclaim.Engine"), runId, reason);
        return await state.InterruptRunAsync(runId, run.Status, timeProvider.GetUtcNow(), reason, cancellationToken);
    }
}
