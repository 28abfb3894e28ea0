using System.Collections.Concurrent;
using System.Globalization;
using Reclaim.Core.State;
using Reclaim.Core.Storage;

namespace Reclaim.Engine.Gate;

/// <summary>
/// Quarantine in place by tag (an s3 store's <c>quarantine_mode: tag</c>, <see cref="IObjectTagging"/>): the gate's
/// strategy for quarantine, restore, settling and purge when an object stays at its key.
/// </summary>
/// <remarks>
/// <para>
/// Quarantine reads each object's tags (the application's own are kept), runs the protection check, then tags every
/// object not protected with <see cref="RunTag"/> (the run's id) and <see cref="AtTag"/> (the time), at most
/// <see cref="CopyParallelism"/> requests at once: the re-check window spans the check and those requests, as a
/// copy-then-delete's spans the check and its DeleteObjects. Nothing is copied, so a provider with a minimum storage
/// duration bills no trash copy. The action's trash key is its own key: that is how state says an object is
/// quarantined in place (a moved object's trash key is under the trash prefix, where no candidate ever is).
/// </para>
/// <para>
/// Restore removes the two tags and keeps the others, from objects still tagged by the run restored (one quarantined
/// again since by another run is left to it). Purge deletes a tagged object once its quarantine is past the
/// retention, after reading its tags again just before the DeleteObjects (the protection check of the purge): an
/// object whose tag is gone (restored, or written again since) or names another run is kept. A run killed while
/// tagging is settled from the tags: tagged with its id, done; not, skipped.
/// </para>
/// </remarks>
public sealed partial class DestructiveGate
{
    /// <summary>The tag naming the run that quarantined the object: <c>reclaim-quarantined</c> = the run id.</summary>
    public const string RunTag = "reclaim-quarantined";

    /// <summary>The tag with the quarantine's time, UTC, ISO 8601 to the second: <c>reclaim-quarantined-at</c>.</summary>
    public const string AtTag = "reclaim-quarantined-at";

    /// <summary>Tags S3 allows on one object: 10.</summary>
    private const int MaxTagsPerObject = 10;

    /// <summary>Whether <paramref name="action"/> keeps (or kept) its object in place, by tag: its trash key is its own key.</summary>
    /// <param name="action">An action.</param>
    /// <returns>Whether it is a quarantine, restore or purge in place.</returns>
    public static bool IsInPlace(ActionRecord action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return action.TrashKey is { } trashKey && string.Equals(trashKey, action.Key, StringComparison.Ordinal);
    }

    /// <summary>The run that quarantined each object of a restore, by key, where it is known.</summary>
    private static Dictionary<string, string> QuarantineRuns(IEnumerable<QuarantinedObject> objects)
    {
        var runs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in objects)
        {
            if (item.QuarantineRunId is { } runId)
            {
                runs[item.Key] = runId;
            }
        }

        return runs;
    }

    /// <summary>Where a quarantine keeps <paramref name="key"/>: the key itself on a store that quarantines by tag, else its trash key.</summary>
    private static string QuarantineKey(IObjectStore store, string trashPrefix, string runId, string key) =>
        store is IObjectTagging { QuarantinesByTag: true } ? key : TrashKey(trashPrefix, runId, key);

    /// <summary>Quarantine by tag: read the tags, check the protection, tag what is not protected (see the remarks).</summary>
    private async Task TagAsync(Step step, IObjectTagging tagging, CancellationToken cancellationToken)
    {
        var store = step.Commit.Store;
        var existing = new ConcurrentDictionary<long, IReadOnlyDictionary<string, string>>();
        await Parallel.ForEachAsync(step.Acting, new ParallelOptions { MaxDegreeOfParallelism = CopyParallelism, CancellationToken = cancellationToken }, async (action, token) =>
        {
            try
            {
                var tags = await tagging.GetTagsAsync(action.Key, token);
                if (tags is null)
                {
                    step.Skip(action, "gone since the re-check; nothing was tagged");
                }
                else if (tags.Keys.Union([RunTag, AtTag], StringComparer.Ordinal).Count() > MaxTagsPerObject)
                {
                    // The quarantine's two tags are added to the object's own: S3 refuses a tag set over its limit.
                    step.Fail(action, $"store '{store.Name}': the object has {tags.Count} tags already and quarantine adds 2, over S3's limit of {MaxTagsPerObject} per object: it cannot be tagged as quarantined; nothing was done");
                }
                else
                {
                    existing[action.Id] = tags;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                step.Fail(action, $"store '{store.Name}': reading the object's tags failed: {e.Message}; nothing was done");
            }
        });

        var readable = step.Acting.Where(a => existing.ContainsKey(a.Id)).ToList();
        var tagged = await ProtectAsync(step, readable, cancellationToken);
        var at = Clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        await Parallel.ForEachAsync(tagged, new ParallelOptions { MaxDegreeOfParallelism = CopyParallelism, CancellationToken = cancellationToken }, async (action, token) =>
        {
            var tags = new Dictionary<string, string>(existing[action.Id], StringComparer.Ordinal) { [RunTag] = action.RunId, [AtTag] = at };
            step.MarkSent(action);
            try
            {
                await tagging.PutTagsAsync(action.Key, tags, token);
                step.Succeed(action);
            }
            catch (ObjectNotFoundException)
            {
                step.Skip(action, "gone before it could be tagged");
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                step.Fail(action, $"store '{store.Name}': tagging failed: {e.Message}; the object is where it was, not quarantined");
            }
        });
    }

    /// <summary>
    /// Restore in place: removes <see cref="RunTag"/> and <see cref="AtTag"/>, keeping the object's other tags; an object
    /// whose tag names another run than the one that quarantined it (<see cref="QuarantinedObject.QuarantineRunId"/>) is left tagged.
    /// </summary>
    private static async Task UntagAsync(Step step, IObjectTagging tagging, IReadOnlyList<ActionRecord> acting, CancellationToken cancellationToken)
    {
        var store = step.Commit.Store;
        await Parallel.ForEachAsync(acting, new ParallelOptions { MaxDegreeOfParallelism = CopyParallelism, CancellationToken = cancellationToken }, async (action, token) =>
        {
            try
            {
                var tags = await tagging.GetTagsAsync(action.Key, token);
                if (tags is null)
                {
                    step.Fail(action, "not at its key any more (purged?); nothing to restore");
                    return;
                }

                if (!tags.TryGetValue(RunTag, out var by))
                {
                    step.Skip(action, "already restored (no quarantine tag)");
                    return;
                }

                // Restored, then quarantined again by another run: that run's quarantine is not this restore's.
                if (step.Commit.QuarantinedBy?.GetValueOrDefault(action.Key) is { } expected && !string.Equals(by, expected, StringComparison.Ordinal))
                {
                    step.Skip(action, $"quarantined by run {by} now, not by run {expected}: left quarantined");
                    return;
                }

                step.MarkSent(action);
                await tagging.PutTagsAsync(action.Key, tags.Where(t => t.Key is not (RunTag or AtTag)).ToDictionary(StringComparer.Ordinal), token);
                step.Succeed(action);
            }
            catch (ObjectNotFoundException)
            {
                step.Fail(action, "not at its key any more (purged?); nothing to restore");
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                step.Fail(action, $"store '{store.Name}': removing the quarantine tag failed: {e.Message}");
            }
        });
    }

    /// <summary>Settles an in-place quarantine or restore from the object's tags (see <see cref="ReconcileAsync"/>; a purge is settled by its key alone).</summary>
    private static async Task<SettledAction> SettleInPlaceAsync(IObjectStore store, ActionRecord action, CancellationToken cancellationToken)
    {
        const string From = "settled from the object's tags after its run ended";
        if (store is not IObjectTagging tagging)
        {
            return SettledAction.Failed(action.Id, $"{From}: store '{store.Name}' cannot read tags now (is quarantine_mode still tag?); settle it again once it can");
        }

        var tags = await tagging.GetTagsAsync(action.Key, cancellationToken);
        var quarantinedBy = tags?.GetValueOrDefault(RunTag);
        return action.Kind switch
        {
            ActionKind.Quarantine when tags is null => SettledAction.Skipped(action.Id, $"{From}: not at its key (removed by someone else)"),
            ActionKind.Quarantine when string.Equals(quarantinedBy, action.RunId, StringComparison.Ordinal) => SettledAction.Done(action.Id),
            ActionKind.Quarantine => SettledAction.Skipped(action.Id, $"{From}: not tagged by this run, never quarantined"),
            ActionKind.Restore when tags is null => SettledAction.Failed(action.Id, $"{From}: not at its key any more"),
            ActionKind.Restore when quarantinedBy is not null => SettledAction.Skipped(action.Id, $"{From}: still tagged as quarantined, not restored"),
            ActionKind.Restore => SettledAction.Done(action.Id),
            _ => SettledAction.Failed(action.Id, $"{From}: a {action.Kind.ToString().ToLowerInvariant()} is not kept in place; what became of it is not known"),
        };
    }

    /// <summary>
    /// Deletes objects quarantined in place (by tag) whose quarantine is past retention, reading each one's tags
    /// again just before the delete: an object whose <see cref="RunTag"/> is gone or names another run than the one
    /// given is kept (restored, or written again since).
    /// </summary>
    /// <param name="run">The purge run; its <see cref="GateRun.Stopping"/> stops between batches.</param>
    /// <param name="store">A store that quarantines by tag.</param>
    /// <param name="objects">Each object's key and size, with the run that quarantined it (whose time is past retention).</param>
    /// <param name="cancellationToken">The hard stop, as for <see cref="RemoveGroupsAsync"/>.</param>
    /// <returns>What was done.</returns>
    /// <exception cref="ArgumentException">The store cannot read tags.</exception>
    public async Task<GateTotals> PurgeTaggedAsync(GateRun run, IObjectStore store, IReadOnlyList<(string Key, long Size, string QuarantineRunId)> objects, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(objects);
        if (store is not IObjectTagging tagging)
        {
            throw new ArgumentException($"store '{store.Name}' cannot read tags: nothing purged", nameof(store));
        }

        var totals = new GateTotals();
        await CommitInBatchesAsync(run, store, objects, totals, (batch, now, index) => new Commit(store, ActionKind.Purge,
            batch.Select(o => new ActionRecord(0, run.RunId, "trash", store.Name, ActionKind.Purge, o.Key, o.Size, o.Key,
                $"quarantined in place by run {o.QuarantineRunId}, past the trash retention", null, o.Key, ActionOutcome.Pending, null, now)).ToList(),
            null, new TagRecheck(tagging, batch.ToDictionary(o => o.Key, o => o.QuarantineRunId, StringComparer.Ordinal)), index), cancellationToken);
        return totals;
    }

    /// <summary>The purge's protection check in place: an object is kept unless its tag still names the run that quarantined it.</summary>
    private sealed class TagRecheck(IObjectTagging tagging, IReadOnlyDictionary<string, string> expected) : IProtection
    {
        public async Task<IReadOnlyDictionary<string, string>> FindProtectedAsync(IReadOnlyList<ActionRecord> acting, CancellationToken cancellationToken)
        {
            var kept = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
            await Parallel.ForEachAsync(acting, new ParallelOptions { MaxDegreeOfParallelism = StatParallelism, CancellationToken = cancellationToken }, async (action, token) =>
            {
                var tags = await tagging.GetTagsAsync(action.Key, token);
                var by = tags?.GetValueOrDefault(RunTag);
                if (tags is null)
                {
                    kept[action.Key] = "gone already";
                }
                else if (by is null)
                {
                    kept[action.Key] = "no quarantine tag now (restored, or written again since): kept";
                }
                else if (!string.Equals(by, expected[action.Key], StringComparison.Ordinal))
                {
                    kept[action.Key] = $"tagged by run {by} now, not {expected[action.Key]}: kept";
                }
            });
            return kept;
        }
    }
}

/// <summary>
/// What is quarantined in place by tag now, from the state's actions (tags are not in a listing): per store and key,
/// the quarantine action holding the object — the last in-place action done on that key, when it is a quarantine,
/// or a quarantine whose run has not settled it yet.
/// </summary>
/// <remarks>Reads every run's actions (state step 4 has no index by trash key): as long as <c>reclaim runs --limit 0</c>.</remarks>
public static class InPlaceQuarantines
{
    /// <summary>Reads them.</summary>
    /// <param name="state">The state.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>Per (store, key), the quarantine action, done or pending.</returns>
    public static async Task<IReadOnlyDictionary<(string Store, string Key), ActionRecord>> ReadAsync(IStateStore state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        // Actions in the order they were recorded (their ids grow), whatever their runs' start times.
        var inPlace = new List<ActionRecord>();
        foreach (var run in await state.ListRunsAsync(int.MaxValue, cancellationToken))
        {
            await foreach (var action in state.ListActionsAsync(run.Id, cancellationToken))
            {
                if (DestructiveGate.IsInPlace(action))
                {
                    inPlace.Add(action);
                }
            }
        }

        var held = new Dictionary<(string Store, string Key), ActionRecord>();
        foreach (var action in inPlace.OrderBy(a => a.Id))
        {
            var at = (action.Store, action.Key);
            switch (action.Kind, action.Outcome)
            {
                case (ActionKind.Quarantine, ActionOutcome.Done or ActionOutcome.Pending):
                    held[at] = action;
                    break;
                case (ActionKind.Restore or ActionKind.Purge, ActionOutcome.Done):
                    held.Remove(at);
                    break;
            }
        }

        return held;
    }
}

/// <summary>The engine's side of quarantine by tag: what planning must not propose again, and what purge may delete.</summary>
public static class InPlaceQuarantineQueries
{
    /// <summary>
    /// The keys held quarantined in place on each of <paramref name="storeNames"/> that quarantines by tag, for the
    /// planner (<see cref="Planning.LayoutPlanner.QuarantinedInPlace"/>); <see langword="null"/> when none does (state is not read).
    /// </summary>
    /// <param name="workspace">The stores and state.</param>
    /// <param name="storeNames">The stores about to be planned.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>Keys by store name, or <see langword="null"/>.</returns>
    public static async Task<Func<string, HashSet<string>?>?> KeysByStoreAsync(Runtime.Workspace workspace, IEnumerable<string> storeNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var tagging = storeNames.Distinct(StringComparer.Ordinal).Where(s => workspace.Store(s) is IObjectTagging { QuarantinesByTag: true }).ToList();
        if (tagging.Count == 0)
        {
            return null;
        }

        var held = await InPlaceQuarantines.ReadAsync(await workspace.StateAsync(cancellationToken), cancellationToken);
        var byStore = held.Keys.GroupBy(k => k.Store, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(k => k.Key).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        return store => byStore.GetValueOrDefault(store);
    }

    /// <summary>
    /// The objects quarantined in place (done) whose run started at least <paramref name="retention"/> before
    /// <paramref name="now"/>, per store: what <see cref="DestructiveGate.PurgeTaggedAsync"/> may delete after
    /// reading their tags again.
    /// </summary>
    /// <param name="state">The state.</param>
    /// <param name="storeNames">The configured stores.</param>
    /// <param name="now">The purge's time.</param>
    /// <param name="retention">The trash retention (or <c>--older-than</c>).</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>Per store, each object's key, size and quarantine run.</returns>
    public static async Task<Dictionary<string, List<(string Key, long Size, string QuarantineRunId)>>> DueAsync(
        IStateStore state, IReadOnlyCollection<string> storeNames, DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(storeNames);
        var due = new Dictionary<string, List<(string Key, long Size, string QuarantineRunId)>>(StringComparer.Ordinal);
        foreach (var ((store, key), action) in await InPlaceQuarantines.ReadAsync(state, cancellationToken))
        {
            if (action.Outcome == ActionOutcome.Done && storeNames.Contains(store, StringComparer.Ordinal)
                && RunIds.TryParseTime(action.RunId, out var quarantinedAt) && now - quarantinedAt >= retention)
            {
                (due.TryGetValue(store, out var list) ? list : due[store] = []).Add((key, action.Size, action.RunId));
            }
        }

        foreach (var list in due.Values)
        {
            list.Sort((a, b) => ObjectKey.Comparer.Compare(a.Key, b.Key));
        }

        return due;
    }
}
