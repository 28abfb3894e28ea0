using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Reclaim.Core;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;

namespace Reclaim.Engine.Gate;

/// <summary>
/// The one place where Reclaim deletes or moves objects. Every destructive call in the product is in this file:
/// <see cref="IObjectStore.DeleteAsync"/> and <see cref="IObjectStore.MoveAsync"/> are called nowhere else.
/// </summary>
/// <remarks>
/// For every batch, immediately before acting (SAFETY invariants 1, 2, 5):
/// <list type="number">
/// <item>refuses a plan a guard refused;</item>
/// <item>re-runs the references query for just the batch's groups; a group referenced now is skipped whole;</item>
/// <item>re-reads what the store holds now (a folder group is listed again, an object is stat'ed): a group with a
/// young object now is skipped whole; an object gone or changed (size, ETag or mtime) since the plan is skipped;</item>
/// <item>records each action in state as pending (skips as skipped) before the store is touched;</item>
/// <item>acts, and records each outcome after.</item>
/// </list>
/// A dry run does the re-checks and counts, and neither records nor touches anything.
/// </remarks>
public sealed class DestructiveGate(IStateStore state, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>Moves in flight at once when quarantining or restoring: 8.</summary>
    public const int MoveParallelism = 8;

    /// <summary>Stat requests in flight at once during the re-check: 16.</summary>
    public const int StatParallelism = 16;

    /// <summary>Most groups re-checked by one catalog query: 1000.</summary>
    public const int MaxGroupsPerRecheck = 1000;

    /// <summary>
    /// Removes (deletes or quarantines, per the plan's action) the groups one policy proposed, re-checking each
    /// batch first.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="removal">The policy's plan and what the re-check needs.</param>
    /// <param name="cancellationToken">Stops between batches and between moves; what is recorded stays true.</param>
    /// <returns>What was done.</returns>
    /// <exception cref="GuardRefusedException">A guard refused the policy's plan; nothing was touched.</exception>
    /// <exception cref="Core.Catalogs.CatalogException">The re-check query failed; the batch was not touched.</exception>
    public async Task<GateTotals> RemoveGroupsAsync(GateRun run, GroupRemoval removal, CancellationToken cancellationToken)
    {
        var plan = removal.Plan;
        if (plan.Refused)
        {
            var verdict = plan.Guards.First(g => !g.Passed);
            throw new GuardRefusedException($"policy '{plan.Policy}': guard {verdict.Guard} refused: {verdict.Message}");
        }

        if (plan.Action is not (ActionKind.Delete or ActionKind.Quarantine))
        {
            throw new ArgumentException($"a policy removes by delete or quarantine, not {plan.Action}", nameof(removal));
        }

        var totals = new GateTotals();
        foreach (var chunk in Chunk(plan.Groups, removal.Store.MaxDeleteBatch))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var referenced = await ReferencedNowAsync(removal, chunk, cancellationToken);
            var now = timeProvider.GetUtcNow();
            var actions = new List<ActionRecord>();
            foreach (var group in chunk)
            {
                await CheckGroupAsync(run, removal, group, referenced, now, actions, totals, cancellationToken);
            }

            if (run.DryRun)
            {
                var acting = actions.Where(a => a.Outcome == ActionOutcome.Pending).ToList();
                totals.ObjectsDone += acting.Count;
                totals.BytesDone += acting.Sum(a => a.Size);
                continue;
            }

            var recorded = await state.RecordIntentAsync(actions, cancellationToken);
            var pending = recorded.Where(a => a.Outcome == ActionOutcome.Pending).ToList();
            var outcomes = plan.Action == ActionKind.Delete
                ? await DeleteAsync(run, removal.Store, pending, totals, cancellationToken)
                : await MoveAsync(run, removal.Store, pending, toTrash: true, totals, cancellationToken);
            await state.RecordOutcomesAsync(outcomes, timeProvider.GetUtcNow(), CancellationToken.None);
        }

        return totals;
    }

    /// <summary>
    /// Removes exactly the objects a request names: single keys, and every object under folder prefixes as listed
    /// just before acting. There is no catalog join (the request is the authority), but the trash prefix is never
    /// a target, a prefix must be a non-empty folder (ending in <c>/</c>), each object's state is what the store
    /// reports at that moment, and every action is recorded before and after. Objects already gone count as
    /// skipped, so a repeated request is harmless.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="removal">What to remove.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>What was done.</returns>
    /// <exception cref="ArgumentException">A prefix is empty, does not end in <c>/</c>, is not a valid key, or lies in the trash; or a key is invalid or in the trash. Nothing is touched.</exception>
    public async Task<GateTotals> RemoveRequestedAsync(GateRun run, RequestedRemoval removal, CancellationToken cancellationToken)
    {
        if (removal.Action is not (ActionKind.Delete or ActionKind.Quarantine))
        {
            throw new ArgumentException($"a request removes by delete or quarantine, not {removal.Action}", nameof(removal));
        }

        foreach (var prefix in removal.Prefixes)
        {
            if (prefix.Length == 0 || prefix[^1] != '/' || ObjectKey.Validate(prefix) is not null || ObjectKey.IsUnder(prefix, removal.TrashPrefix))
            {
                throw new ArgumentException($"'{ObjectKey.Printable(prefix)}' is not a folder prefix the gate may empty (non-empty, ending in '/', outside the trash)", nameof(removal));
            }
        }

        foreach (var key in removal.Keys)
        {
            var problem = ObjectKey.Validate(key) ?? (ObjectKey.IsUnder(key, removal.TrashPrefix) ? "it is in the trash" : null);
            if (problem is not null)
            {
                throw new ArgumentException($"'{ObjectKey.Printable(key)}' cannot be removed: {problem}", nameof(removal));
            }
        }

        var totals = new GateTotals();
        var batch = new List<StoredObject>(removal.Store.MaxDeleteBatch);
        foreach (var key in removal.Keys)
        {
            if (await removal.Store.StatAsync(key, cancellationToken) is { } found)
            {
                batch.Add(found);
            }
            else
            {
                totals.ObjectsSkipped++;
            }

            if (batch.Count == removal.Store.MaxDeleteBatch)
            {
                await ActOnRequestedAsync(run, removal, batch, totals, cancellationToken);
                batch.Clear();
            }
        }

        foreach (var prefix in removal.Prefixes)
        {
            // List the whole folder first: deleting while paging could skip keys on some services.
            var listed = new List<StoredObject>();
            await foreach (var item in removal.Store.ListAsync(prefix, cancellationToken))
            {
                if (!ObjectKey.IsUnder(item.Key, removal.TrashPrefix))
                {
                    listed.Add(item);
                }
            }

            foreach (var item in listed)
            {
                batch.Add(item);
                if (batch.Count == removal.Store.MaxDeleteBatch)
                {
                    await ActOnRequestedAsync(run, removal, batch, totals, cancellationToken);
                    batch.Clear();
                }
            }
        }

        if (batch.Count > 0)
        {
            await ActOnRequestedAsync(run, removal, batch, totals, cancellationToken);
        }

        return totals;
    }

    private async Task ActOnRequestedAsync(GateRun run, RequestedRemoval removal, List<StoredObject> batch, GateTotals totals, CancellationToken cancellationToken)
    {
        // The store's protections, asked for this sub-batch just before its intent is recorded (docs/safety.md).
        var protectedNow = removal.Protections is { IsEmpty: false } protections
            ? await protections.FindAsync([.. batch.Select(o => o.Key)], cancellationToken)
            : null;
        var now = timeProvider.GetUtcNow();
        var actions = batch.Select(o => protectedNow?.GetValueOrDefault(o.Key) is { } by
            ? new ActionRecord(0, run.RunId, removal.Policy, removal.Store.Name, removal.Action, o.Key, o.Size, removal.GroupKey,
                $"{removal.Reason}; skipped: {by.Reason}", Evidence(o), null, ActionOutcome.Skipped, by.Reason, now)
            : new ActionRecord(0, run.RunId, removal.Policy, removal.Store.Name, removal.Action, o.Key, o.Size, removal.GroupKey,
                removal.Reason, Evidence(o), removal.Action == ActionKind.Quarantine ? TrashKey(removal.TrashPrefix, run.RunId, o.Key) : null,
                ActionOutcome.Pending, null, now)).ToList();
        foreach (var (key, by) in protectedNow ?? new Dictionary<string, ProtectedBy>())
        {
            totals.ObjectsSkipped++;
            totals.ObjectsProtected++;
            if (totals.SampleProtected.Count < 10)
            {
                totals.SampleProtected.Add((key, by));
            }

            Log.GroupSkipped(logger, run.RunId, key, by.Reason);
        }

        if (run.DryRun)
        {
            var acting = actions.Where(a => a.Outcome == ActionOutcome.Pending).ToList();
            totals.ObjectsDone += acting.Count;
            totals.BytesDone += acting.Sum(a => a.Size);
            return;
        }

        var recorded = (await state.RecordIntentAsync(actions, cancellationToken)).Where(a => a.Outcome == ActionOutcome.Pending).ToList();
        var outcomes = removal.Action == ActionKind.Delete
            ? await DeleteAsync(run, removal.Store, recorded, totals, cancellationToken)
            : await MoveAsync(run, removal.Store, recorded, toTrash: true, totals, cancellationToken);
        await state.RecordOutcomesAsync(outcomes, timeProvider.GetUtcNow(), CancellationToken.None);
    }

    /// <summary>
    /// Moves quarantined objects back to their original keys, byte-identical, never overwriting an object that
    /// has reappeared there (that object is kept and the restore of this one is recorded as failed).
    /// </summary>
    /// <param name="run">The restore run.</param>
    /// <param name="store">The store.</param>
    /// <param name="objects">What to bring back.</param>
    /// <param name="cancellationToken">Stops between moves.</param>
    /// <returns>What was done.</returns>
    public async Task<GateTotals> RestoreAsync(GateRun run, IObjectStore store, IReadOnlyList<QuarantinedObject> objects, CancellationToken cancellationToken)
    {
        var totals = new GateTotals();
        var now = timeProvider.GetUtcNow();
        foreach (var batch in objects.Chunk(1000))
        {
            var actions = batch.Select(o => new ActionRecord(0, run.RunId, o.Policy, store.Name, ActionKind.Restore, o.Key, o.Size, o.Key,
                "restore of a quarantined object", null, o.TrashKey, ActionOutcome.Pending, null, now)).ToList();
            if (run.DryRun)
            {
                totals.ObjectsDone += actions.Count;
                totals.BytesDone += actions.Sum(a => a.Size);
                continue;
            }

            var recorded = await state.RecordIntentAsync(actions, cancellationToken);
            var outcomes = await MoveAsync(run, store, recorded, toTrash: false, totals, cancellationToken);
            await state.RecordOutcomesAsync(outcomes, timeProvider.GetUtcNow(), CancellationToken.None);
        }

        return totals;
    }

    /// <summary>Deletes quarantined objects for good. Refuses any key outside <paramref name="trashPrefix"/>.</summary>
    /// <param name="run">The purge run.</param>
    /// <param name="store">The store.</param>
    /// <param name="trashPrefix">The trash prefix, ending in <c>/</c>.</param>
    /// <param name="objects">Objects under the trash prefix past retention.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>What was done.</returns>
    /// <exception cref="ArgumentException">An object is outside the trash prefix (nothing is deleted).</exception>
    public async Task<GateTotals> PurgeAsync(GateRun run, IObjectStore store, string trashPrefix, IReadOnlyList<StoredObject> objects, CancellationToken cancellationToken)
    {
        if (trashPrefix.Length == 0)
        {
            throw new ArgumentException("the trash prefix is empty", nameof(trashPrefix));
        }

        var outside = objects.FirstOrDefault(o => !ObjectKey.IsUnder(o.Key, trashPrefix));
        if (outside.Key is not null)
        {
            throw new ArgumentException($"'{ObjectKey.Printable(outside.Key)}' is not under the trash prefix '{trashPrefix}'; nothing purged", nameof(objects));
        }

        var totals = new GateTotals();
        foreach (var batch in objects.Chunk(store.MaxDeleteBatch))
        {
            var now = timeProvider.GetUtcNow();
            var actions = batch.Select(o => new ActionRecord(0, run.RunId, "trash", store.Name, ActionKind.Purge, o.Key, o.Size, o.Key,
                "quarantined past the trash retention", Evidence(o), o.Key, ActionOutcome.Pending, null, now)).ToList();
            if (run.DryRun)
            {
                totals.ObjectsDone += actions.Count;
                totals.BytesDone += actions.Sum(a => a.Size);
                continue;
            }

            var recorded = await state.RecordIntentAsync(actions, cancellationToken);
            var outcomes = await DeleteAsync(run, store, recorded, totals, cancellationToken);
            await state.RecordOutcomesAsync(outcomes, timeProvider.GetUtcNow(), CancellationToken.None);
        }

        return totals;
    }

    private async Task CheckGroupAsync(
        GateRun run,
        GroupRemoval removal,
        PlannedGroup group,
        HashSet<string> referenced,
        DateTimeOffset now,
        List<ActionRecord> actions,
        GateTotals totals,
        CancellationToken cancellationToken)
    {
        var plan = removal.Plan;
        string? groupSkip = null;
        IReadOnlyDictionary<string, StoredObject> current = new Dictionary<string, StoredObject>();
        if (referenced.Contains(group.GroupKey))
        {
            groupSkip = removal.Plan.Type == "retention"
                ? "kept now: the catalog's re-check found a keep row for the group"
                : "referenced now: the catalog's re-check found a reference to the group";
        }
        else
        {
            current = await CurrentObjectsAsync(removal, group, cancellationToken);
            if (current.Count > 0)
            {
                var newest = current.Values.Max(o => o.LastModified);
                if (OrphanRule.Classify(false, newest, now, removal.MinAge) == GroupVerdictKind.TooYoung)
                {
                    groupSkip = string.Create(CultureInfo.InvariantCulture,
                        $"young now: the group holds an object modified {newest:O}, within {Duration.Format(removal.MinAge)}");
                }
            }
        }

        if (groupSkip is not null)
        {
            totals.GroupsSkipped++;
            Log.GroupSkipped(logger, run.RunId, group.GroupKey, groupSkip);
        }

        var kind = plan.Action;
        foreach (var planned in group.Objects)
        {
            var skip = groupSkip;
            string? evidence = null;
            if (skip is null)
            {
                if (!current.TryGetValue(planned.Key, out var now2))
                {
                    skip = "gone since the plan";
                }
                else if (!planned.IsUnchangedSince(now2))
                {
                    skip = $"changed since the plan (planned {Evidence(planned)}, now {Evidence(now2)})";
                }
                else
                {
                    evidence = Evidence(now2);
                }
            }

            if (skip is not null)
            {
                totals.ObjectsSkipped++;
            }

            var trashKey = kind == ActionKind.Quarantine ? TrashKey(removal.TrashPrefix, run.RunId, planned.Key) : null;
            actions.Add(new ActionRecord(0, run.RunId, plan.Policy, removal.Store.Name, kind, planned.Key, planned.Size, group.GroupKey,
                skip is null ? group.Reason : $"{group.Reason}; skipped: {skip}", evidence, trashKey,
                skip is null ? ActionOutcome.Pending : ActionOutcome.Skipped, skip, now));
        }
    }

    /// <summary>The key a quarantined object gets: <c>{trash prefix}{run id}/{original key}</c>.</summary>
    /// <param name="trashPrefix">The trash prefix, ending in <c>/</c>.</param>
    /// <param name="runId">The run.</param>
    /// <param name="key">The original key.</param>
    /// <returns>The trash key.</returns>
    public static string TrashKey(string trashPrefix, string runId, string key) => $"{trashPrefix}{runId}/{key}";

    private static async Task<HashSet<string>> ReferencedNowAsync(GroupRemoval removal, IReadOnlyList<PlannedGroup> chunk, CancellationToken cancellationToken)
    {
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        if (removal.Catalog is null || removal.ReferenceQuery is null)
        {
            return referenced;
        }

        foreach (var part in chunk.Chunk(MaxGroupsPerRecheck))
        {
            var tuples = part.Select(g => g.Values).ToList();
            var rows = await removal.Catalog.FindAsync(removal.ReferenceQuery, removal.Layout.Variables, tuples, cancellationToken);
            foreach (var row in rows)
            {
                if (removal.Layout.Render(row) is { } key)
                {
                    referenced.Add(key);
                }
            }
        }

        return referenced;
    }

    private static async Task<IReadOnlyDictionary<string, StoredObject>> CurrentObjectsAsync(GroupRemoval removal, PlannedGroup group, CancellationToken cancellationToken)
    {
        var current = new ConcurrentDictionary<string, StoredObject>(StringComparer.Ordinal);
        if (removal.Layout.IsFolder)
        {
            await foreach (var item in removal.Store.ListAsync(group.GroupKey, cancellationToken))
            {
                current[item.Key] = item;
            }

            return current;
        }

        await Parallel.ForEachAsync(group.Objects, new ParallelOptions { MaxDegreeOfParallelism = StatParallelism, CancellationToken = cancellationToken }, async (planned, token) =>
        {
            if (await removal.Store.StatAsync(planned.Key, token) is { } found)
            {
                current[found.Key] = found;
            }
        });
        return current;
    }

    private async Task<List<(long, ActionOutcome, string?, string?)>> DeleteAsync(GateRun run, IObjectStore store, IReadOnlyList<ActionRecord> pending, GateTotals totals, CancellationToken cancellationToken)
    {
        var outcomes = new List<(long, ActionOutcome, string?, string?)>(pending.Count);
        foreach (var batch in pending.Chunk(store.MaxDeleteBatch))
        {
            IReadOnlyList<KeyError> errors;
            try
            {
                errors = await store.DeleteAsync(batch.Select(a => a.Key).ToList(), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                errors = batch.Select(a => new KeyError(a.Key, e.Message)).ToList();
            }

            var failed = errors.ToDictionary(e => e.Key, e => e.Error, StringComparer.Ordinal);
            foreach (var action in batch)
            {
                if (failed.TryGetValue(action.Key, out var error))
                {
                    Fail(run, action, error, totals);
                    outcomes.Add(Outcomes.Failed(action.Id, error));
                }
                else
                {
                    Succeed(run, action, totals);
                    outcomes.Add(Outcomes.Done(action.Id));
                }
            }
        }

        return outcomes;
    }

    private async Task<List<(long, ActionOutcome, string?, string?)>> MoveAsync(GateRun run, IObjectStore store, IReadOnlyList<ActionRecord> pending, bool toTrash, GateTotals totals, CancellationToken cancellationToken)
    {
        var outcomes = new ConcurrentQueue<(long, ActionOutcome, string?, string?)>();
        var sync = new Lock();
        await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = MoveParallelism, CancellationToken = cancellationToken }, async (action, token) =>
        {
            var source = toTrash ? action.Key : action.TrashKey!;
            var destination = toTrash ? action.TrashKey! : action.Key;
            try
            {
                await store.MoveAsync(source, destination, token);
                lock (sync)
                {
                    Succeed(run, action, totals);
                }

                outcomes.Enqueue(Outcomes.Done(action.Id));
            }
            catch (ObjectExistsException)
            {
                var error = toTrash
                    ? "the trash already holds an object at this run's trash key; nothing moved"
                    : "an object has reappeared at the original key; it is kept and this one stays in the trash";
                lock (sync)
                {
                    Fail(run, action, error, totals);
                }

                outcomes.Enqueue(Outcomes.Failed(action.Id, error));
            }
            catch (ObjectNotFoundException)
            {
                // Quarantine: someone else removed it first; nothing lost. Restore: either an earlier restore
                // brought it back (skipped), or the trash copy is gone (purged): that restore failed.
                var restoredBefore = !toTrash && await store.StatAsync(action.Key, token) is not null;
                if (toTrash || restoredBefore)
                {
                    lock (sync)
                    {
                        totals.ObjectsSkipped++;
                    }

                    outcomes.Enqueue((action.Id, ActionOutcome.Skipped, toTrash ? "gone before it could be moved" : "already restored", null));
                }
                else
                {
                    const string error = "not in the trash any more (purged?); nothing to restore";
                    lock (sync)
                    {
                        Fail(run, action, error, totals);
                    }

                    outcomes.Enqueue(Outcomes.Failed(action.Id, error));
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                lock (sync)
                {
                    Fail(run, action, e.Message, totals);
                }

                outcomes.Enqueue(Outcomes.Failed(action.Id, e.Message));
            }
        });
        return [.. outcomes];
    }

    private void Succeed(GateRun run, ActionRecord action, GateTotals totals)
    {
        totals.ObjectsDone++;
        totals.BytesDone += action.Size;
        Log.ObjectActed(logger, run.RunId, action.Kind.ToString().ToLowerInvariant(), action.Key, action.Size);
    }

    private void Fail(GateRun run, ActionRecord action, string error, GateTotals totals)
    {
        totals.ObjectsFailed++;
        if (totals.SampleErrors.Count < 10)
        {
            totals.SampleErrors.Add($"{ObjectKey.Printable(action.Key)}: {error}");
        }

        Log.ObjectFailed(logger, run.RunId, action.Kind.ToString().ToLowerInvariant(), action.Key, error);
    }

    private static string Evidence(StoredObject item) => item.ETag is { } etag
        ? string.Create(CultureInfo.InvariantCulture, $"size={item.Size} etag={etag}")
        : string.Create(CultureInfo.InvariantCulture, $"size={item.Size} mtime={item.LastModified.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");

    /// <summary>Groups in batches of about <paramref name="batchObjects"/> objects; a larger group is a batch of its own.</summary>
    private static IEnumerable<List<PlannedGroup>> Chunk(IReadOnlyList<PlannedGroup> groups, int batchObjects)
    {
        var chunk = new List<PlannedGroup>();
        var objects = 0;
        foreach (var group in groups)
        {
            if (chunk.Count > 0 && (objects + group.Objects.Count > batchObjects || chunk.Count >= MaxGroupsPerRecheck))
            {
                yield return chunk;
                chunk = [];
                objects = 0;
            }

            chunk.Add(group);
            objects += group.Objects.Count;
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }
}
