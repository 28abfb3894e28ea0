using Microsoft.Extensions.Logging;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Runs;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.Trash;

/// <summary>The trash: restoring a run's quarantined objects, and purging those past retention, each as a run through the gate.</summary>
/// <param name="workspace">The config's stores and state.</param>
/// <param name="timeProvider">The clock: what is past retention, and recorded times.</param>
/// <param name="loggerFactory">Logging.</param>
/// <param name="recorder">Records the runs.</param>
internal sealed class TrashService(Workspace workspace, TimeProvider timeProvider, ILoggerFactory loggerFactory, RunRecorder recorder)
{
    private ReclaimConfig Config => workspace.Config;

    /// <summary>
    /// Restores a run's quarantined objects (all, or only <paramref name="keys"/>) as a new run of kind
    /// <c>restore</c>: every object of the run that lies in the trash (<c>{trash prefix}{run id}/</c> of each store),
    /// whatever its recorded outcome. The run is settled first when it ended without its outcomes.
    /// </summary>
    /// <param name="runId">The run that quarantined them.</param>
    /// <param name="keys">Original keys to restore; empty restores all.</param>
    /// <param name="actor">Who asks.</param>
    /// <param name="cancellationToken">The hard stop: abandons the moves in flight.</param>
    /// <param name="stopping">The soft stop: no new batch of moves starts; the run ends interrupted.</param>
    /// <returns>The restore run.</returns>
    /// <exception cref="UsageException">No such run, it is still running, or the trash holds nothing of it (or none of the given keys).</exception>
    public async Task<RunResult> RestoreAsync(string runId, IReadOnlyList<string> keys, string actor, CancellationToken stopping, CancellationToken cancellationToken)
    {
        var state = await workspace.StateAsync(cancellationToken);
        _ = await state.GetRunAsync(runId, cancellationToken) ?? throw new UsageException($"no run '{runId}' (see: reclaim runs)");
        await new RunReconciler(workspace, state, timeProvider, loggerFactory).SettleAsync(runId, cancellationToken);
        var quarantined = await state.GetRunAsync(runId, cancellationToken);
        if (quarantined!.Status == RunStatus.Running)
        {
            throw new UsageException($"run '{runId}' is still running (owner {quarantined.Owner ?? "unknown"}); stop it (Ctrl+C or SIGTERM) or let it finish, then restore");
        }

        // What the run quarantined as recorded (a purged one then fails with its reason), and whatever lies in its
        // trash folder, whatever its recorded outcome.
        var wanted = keys.Count == 0 ? null : new HashSet<string>(keys, StringComparer.Ordinal);
        var candidates = new Dictionary<(string Store, string TrashKey), QuarantinedObject>();
        await foreach (var action in state.ListActionsAsync(runId, cancellationToken))
        {
            if (action is { Kind: ActionKind.Quarantine, Outcome: ActionOutcome.Done, TrashKey: not null } && (wanted is null || wanted.Contains(action.Key)))
            {
                candidates[(action.Store, action.TrashKey)] = new QuarantinedObject(action.Key, action.TrashKey, action.Size, action.Policy, runId);
            }
        }

        var folder = DestructiveGate.TrashKey(Config.Trash.Prefix, runId, string.Empty);
        foreach (var storeName in Config.Stores.Keys)
        {
            await foreach (var item in workspace.Store(storeName).ListAsync(folder, cancellationToken))
            {
                var original = item.Key[folder.Length..];
                if (original.Length > 0 && (wanted is null || wanted.Contains(original)))
                {
                    var recorded = candidates.GetValueOrDefault((storeName, item.Key));
                    candidates[(storeName, item.Key)] = new QuarantinedObject(original, item.Key, item.Size, recorded?.Policy ?? "restore", runId);
                }
            }
        }

        if (candidates.Count == 0)
        {
            throw new UsageException(wanted is null
                ? $"run '{runId}' quarantined nothing that could be restored (its trash folder '{folder}' is empty in every store)"
                : $"run '{runId}' quarantined none of the given keys");
        }

        var byStore = candidates.GroupBy(c => c.Key.Store, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(c => c.Value).OrderBy(o => o.Key, ObjectKey.Comparer).ToList(), StringComparer.Ordinal);

        var run = recorder.NewRun("restore", actor, byStore.Keys, false);
        return await recorder.RunThroughGateAsync(Gate(state), state, run, async (gate, gateRun) =>
        {
            var perStore = new Dictionary<string, GateTotals>(StringComparer.Ordinal);
            foreach (var (storeName, objects) in byStore)
            {
                perStore[storeName] = await gate.RestoreAsync(gateRun, workspace.Store(storeName), objects, cancellationToken);
            }

            return perStore;
        }, stopping, cancellationToken);
    }

    /// <summary>
    /// Deletes quarantined objects whose quarantine run is older than <paramref name="olderThan"/> (default: the
    /// trash retention), in every store. Objects in the trash that are not in a run folder are left alone; so is
    /// every object whose action is not settled (runs that ended without their outcomes are settled first).
    /// </summary>
    /// <param name="olderThan">Minimum age of the quarantine; the config's <c>trash.retention</c> when <see langword="null"/>.</param>
    /// <param name="actor">Who asks.</param>
    /// <param name="dryRun">Count only (no run is settled either).</param>
    /// <param name="cancellationToken">The hard stop.</param>
    /// <param name="stopping">The soft stop: no new batch starts; the run ends interrupted.</param>
    /// <returns>The purge run.</returns>
    public async Task<RunResult> PurgeAsync(TimeSpan? olderThan, string actor, bool dryRun, CancellationToken stopping, CancellationToken cancellationToken)
    {
        var retention = olderThan ?? Config.Trash.EffectiveRetention;
        var now = timeProvider.GetUtcNow();
        var prefix = Config.Trash.Prefix;
        var stateStore = await workspace.StateAsync(cancellationToken);

        // Read before the settling: the objects of a run this purge finds unsettled (a live run's, or a killed run's,
        // which it settles just below) stay in the trash, restorable, until a later purge, when the run shows
        // interrupted and what it moved.
        var unsettled = await UnsettledTrashKeysAsync(stateStore, cancellationToken);
        if (!dryRun)
        {
            await new RunReconciler(workspace, stateStore, timeProvider, loggerFactory).SettleAllAsync(cancellationToken);
        }

        var byStore = new Dictionary<string, List<StoredObject>>(StringComparer.Ordinal);
        foreach (var storeName in Config.Stores.Keys)
        {
            var store = workspace.Store(storeName);
            var due = new List<StoredObject>();
            await foreach (var item in store.ListAsync(prefix, cancellationToken))
            {
                var rest = item.Key[prefix.Length..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                if (slash <= 0 || !RunIds.TryParseTime(rest[..slash], out var quarantinedAt) || unsettled.Contains((storeName, item.Key)))
                {
                    continue;
                }

                if (now - quarantinedAt >= retention)
                {
                    due.Add(item);
                }
            }

            if (due.Count > 0)
            {
                byStore[storeName] = due;
            }
        }

        var tagged = await InPlaceQuarantineQueries.DueAsync(stateStore, [.. Config.Stores.Keys], now, retention, cancellationToken);
        var run = recorder.NewRun("purge", actor, ["trash"], dryRun);
        var state = dryRun ? NullState.Instance : stateStore;
        return await recorder.RunThroughGateAsync(Gate(state), state, run, async (gate, gateRun) =>
        {
            var perStore = new Dictionary<string, GateTotals>(StringComparer.Ordinal);
            foreach (var (storeName, objects) in byStore)
            {
                perStore[storeName] = await gate.PurgeAsync(gateRun, workspace.Store(storeName), prefix, objects, cancellationToken);
            }

            foreach (var (storeName, objects) in tagged)
            {
                var inPlace = await gate.PurgeTaggedAsync(gateRun, workspace.Store(storeName), objects, cancellationToken);
                if (perStore.TryGetValue(storeName, out var moved))
                {
                    moved.Add(inPlace);
                }
                else
                {
                    perStore[storeName] = inPlace;
                }
            }

            return perStore;
        }, stopping, cancellationToken);
    }

    /// <summary>The trash keys of every action not settled yet (a live run's, or one that could not be settled): purge leaves them.</summary>
    private static async Task<HashSet<(string Store, string Key)>> UnsettledTrashKeysAsync(IStateStore state, CancellationToken cancellationToken)
    {
        var keys = new HashSet<(string Store, string Key)>();
        foreach (var runId in await state.UnsettledRunsAsync(cancellationToken))
        {
            await foreach (var action in state.ListActionsAsync(runId, cancellationToken))
            {
                if (action.Outcome == ActionOutcome.Pending && action.TrashKey is { } trashKey)
                {
                    keys.Add((action.Store, trashKey));
                }
            }
        }

        return keys;
    }

    private DestructiveGate Gate(IStateStore state) => new(state, timeProvider, loggerFactory.CreateLogger<DestructiveGate>());
}
