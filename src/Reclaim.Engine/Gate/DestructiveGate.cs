using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Reclaim.Core;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;

namespace Reclaim.Engine.Gate;

/// <summary>
/// The one place where Reclaim deletes, moves or copies objects. Every destructive call in the product is in this
/// file: <see cref="IObjectStore.DeleteAsync"/>, <see cref="IObjectStore.MoveAsync"/> and
/// <see cref="IObjectCopy.CopyAsync"/> are called nowhere else. The safety model it keeps is written down in
/// <c>docs/safety.md</c>.
/// </summary>
/// <remarks>
/// <para>
/// A policy's groups are removed as a pipeline of sub-batches in key order, each of at most
/// <see cref="IObjectStore.MaxDeleteBatch"/> objects (1000) and <see cref="MaxGroupsPerRecheck"/> groups, with up to
/// <see cref="SubBatchesInFlight"/> sub-batches in flight at once. For each sub-batch, in this order:
/// </para>
/// <list type="number">
/// <item>the store is read again: by range listings (<see cref="IRangeListing"/>; on S3 ListObjectsV2 from just
/// before the sub-batch's first key, each later request from the first group not yet read, asking for about one
/// cluster of its groups where they lie in clusters about a page or more apart) or, where the plan says the range would be
/// sparse, a listing per folder group or a stat per object. A group with a young object now is skipped whole; an object gone or changed (size,
/// ETag or mtime) since the plan is skipped;</item>
/// <item>each action is recorded in state as pending (skips as skipped) before the store is touched;</item>
/// <item>on a store that quarantines by copy (<see cref="IObjectCopy"/>), the objects are copied to the trash, in
/// parallel — nothing is removed yet;</item>
/// <item>the references (or keep) query is run again for just the sub-batch's groups (the protection check); a group
/// referenced now is skipped whole (its trash copies, if any, are removed);</item>
/// <item>the store acts at once — one DeleteObjects of the originals, or the moves — and every outcome is recorded,
/// whatever ends the sub-batch (cancellation included). A quarantine on a store without copy (a folder), where
/// every move is a request of its own, alternates the protection check and the moves in runs of whole groups of at
/// most <see cref="MovesPerRecheck"/> objects.</item>
/// </list>
/// <para>
/// <b>The re-check window</b> — from the start of the protection check's query to the sending of the last store
/// request that removes the sub-batch's objects — therefore spans one catalog query over at most
/// <see cref="MaxGroupsPerRecheck"/> groups plus building one request (on a folder, one query and at most
/// <see cref="MovesPerRecheck"/> moves): it does not grow with the store's latency,
/// the re-read, the copies, the state writes or the number of sub-batches. It is measured for every sub-batch
/// (<see cref="GateTotals.RecheckWindowsMs"/>, and a debug event per sub-batch). A reference committed before the
/// protection check's query starts always saves its group; one committed inside the window may not (see
/// <c>docs/safety.md</c> for the measured figures and PostgreSQL's stronger opt-in form).
/// </para>
/// <para>
/// A dry run does the re-reads and re-checks and counts, and neither records nor touches anything. A sub-batch whose
/// re-read fails (the store kept failing) fails alone: its actions are recorded as failed with the store's error
/// and the next sub-batch goes on. A catalog that cannot be read, or state that cannot be written, stops the run:
/// the sub-batches in flight finish and record, no new one starts, and the error is thrown.
/// </para>
/// </remarks>
public sealed partial class DestructiveGate(IStateStore state, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>Moves in flight at once when quarantining on a filesystem store or restoring: 8.</summary>
    public const int MoveParallelism = 8;

    /// <summary>
    /// Copies in flight at once per sub-batch when quarantining on a store with <see cref="IObjectCopy"/>: 16 (with
    /// <see cref="SubBatchesInFlight"/> sub-batches, up to 64 CopyObject requests at once).
    /// </summary>
    public const int CopyParallelism = 16;

    /// <summary>
    /// Most objects moved after one protection check when quarantining on a store without <see cref="IObjectCopy"/>
    /// (a folder): 64, whole groups kept together. Each move is a request of its own, so a sub-batch's moves are
    /// re-checked in runs of this many: the window then spans one query and at most 64 moves.
    /// </summary>
    public const int MovesPerRecheck = 64;

    /// <summary>Stat or listing requests in flight at once when a sub-batch is re-read group by group: 16.</summary>
    public const int StatParallelism = 16;

    /// <summary>Most groups re-checked by one catalog query, and so in one sub-batch: 1000.</summary>
    public const int MaxGroupsPerRecheck = 1000;

    /// <summary>
    /// Sub-batches of one policy in flight at once: 4. Each keeps its own re-check window small; together they keep
    /// several connections busy while one sub-batch waits on the catalog or the store.
    /// </summary>
    public const int SubBatchesInFlight = 4;

    private TimeProvider Clock => timeProvider;

    /// <summary>Keys one listing page holds (S3's ListObjectsV2 maximum): the unit of a range listing's cost.</summary>
    private const int ListingPageKeys = 1000;

    /// <summary>
    /// Removes (deletes or quarantines, per the plan's action) the groups one policy proposed, re-checking each
    /// sub-batch first (see the class remarks).
    /// </summary>
    /// <param name="run">The run; its <see cref="GateRun.Stopping"/> stops the pipeline between sub-batches.</param>
    /// <param name="removal">The policy's plan and what the re-check needs.</param>
    /// <param name="cancellationToken">
    /// The hard stop: abandons the store requests in flight. Their actions stay pending (settled later from the
    /// store's state); everything else is recorded. The method returns normally with <see cref="GateTotals.Stopped"/>.
    /// </param>
    /// <returns>What was done, with each sub-batch's re-check window.</returns>
    /// <exception cref="GuardRefusedException">A guard refused the policy's plan; nothing was touched.</exception>
    /// <exception cref="Core.Catalogs.CatalogException">The re-check query failed: the sub-batch was not acted on and no further one started.</exception>
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

        // Sub-batches are cut as they are needed from the plan's groups, read as a stream (a large plan's groups are
        // spooled on disk): planned groups come in key order; a plan file's that do not are sorted in memory.
        IEnumerable<PlannedGroup> groups = plan.Groups.Select(g => g with { Objects = [.. g.Objects.OrderBy(o => o.Key, ObjectKey.Comparer)] });
        if (!InKeyOrder(plan.Groups))
        {
            groups = groups.OrderBy(g => g.GroupKey, ObjectKey.Comparer).ToList();
        }

        var batches = Chunk(groups, removal.Store.MaxDeleteBatch).Select((batch, index) => (Groups: batch, Index: index));
        var totals = new GateTotals();
        var sync = new Lock();
        using var stopOnFailure = new CancellationTokenSource();
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = SubBatchesInFlight }, async (batch, _) =>
        {
            var index = batch.Index;
            var part = new GateTotals();
            try
            {
                if (run.Stopping.IsCancellationRequested || cancellationToken.IsCancellationRequested || stopOnFailure.IsCancellationRequested)
                {
                    part.Stopped = !stopOnFailure.IsCancellationRequested;
                    part.GroupsNotStarted = batch.Groups.Count;
                    return;
                }

                if (run.BeforeSubBatch is { } hook)
                {
                    await hook(index, batch.Groups, cancellationToken);
                }

                await RemoveSubBatchAsync(run, removal, batch.Groups, index, part, cancellationToken);
            }
            catch
            {
                await stopOnFailure.CancelAsync();
                throw;
            }
            finally
            {
                lock (sync)
                {
                    totals.Add(part);
                }
            }
        });
        return totals;
    }

    /// <summary>
    /// Removes exactly the objects a request names: single keys, and every object under folder prefixes as listed
    /// just before acting. There is no catalog join (the request is the authority), but the trash prefix is never
    /// a target, a prefix must be a non-empty folder (ending in <c>/</c>), each object's state is what the store
    /// reports at that moment, and every action is recorded before and after. Objects already gone count as
    /// skipped, so a repeated request is harmless.
    /// </summary>
    /// <param name="run">The run; its <see cref="GateRun.Stopping"/> stops between batches of <see cref="IObjectStore.MaxDeleteBatch"/> objects.</param>
    /// <param name="removal">What to remove.</param>
    /// <param name="cancellationToken">The hard stop, as for <see cref="RemoveGroupsAsync"/>.</param>
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
        var found = new List<StoredObject>();
        try
        {
            foreach (var key in removal.Keys)
            {
                if (await removal.Store.StatAsync(key, cancellationToken) is { } stored)
                {
                    found.Add(stored);
                }
                else
                {
                    totals.ObjectsSkipped++;
                }
            }

            foreach (var prefix in removal.Prefixes)
            {
                // List the whole folder first: deleting while paging could skip keys on some services.
                await foreach (var item in removal.Store.ListAsync(prefix, cancellationToken))
                {
                    if (!ObjectKey.IsUnder(item.Key, removal.TrashPrefix))
                    {
                        found.Add(item);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            totals.Stopped = true;
            totals.GroupsNotStarted = removal.Keys.Count + removal.Prefixes.Count;
            return totals;
        }

        var protection = removal.Protections is { IsEmpty: false } protections ? new StoreProtectionCheck(protections, totals) : null;
        await RemoveObjectsAsync(run, removal, found, protection, totals, cancellationToken);
        return totals;
    }

    /// <summary>
    /// The objects of a request, in batches of <see cref="IObjectStore.MaxDeleteBatch"/>, each through the commit
    /// step with <paramref name="protection"/> (the store's protections) checked immediately before it acts; none when
    /// nothing protects the store.
    /// </summary>
    private async Task RemoveObjectsAsync(GateRun run, RequestedRemoval removal, IReadOnlyList<StoredObject> objects, IProtection? protection, GateTotals totals, CancellationToken cancellationToken)
    {
        await CommitInBatchesAsync(run, removal.Store, objects, totals, (batch, now, index) =>
        {
            var actions = batch.Select(o => new ActionRecord(0, run.RunId, removal.Policy, removal.Store.Name, removal.Action, o.Key, o.Size, removal.GroupKey,
                removal.Reason, Evidence(o), removal.Action == ActionKind.Quarantine ? QuarantineKey(removal.Store, removal.TrashPrefix, run.RunId, o.Key) : null,
                ActionOutcome.Pending, null, now)).ToList();
            var current = batch.ToDictionary(o => o.Key, StringComparer.Ordinal);
            return new Commit(removal.Store, removal.Action, actions, current, protection, index);
        }, cancellationToken);
    }

    /// <summary>
    /// Moves quarantined objects back to their original keys, byte-identical, never overwriting an object that
    /// has reappeared there (that object is kept and the restore of this one is recorded as failed).
    /// </summary>
    /// <param name="run">The restore run; its <see cref="GateRun.Stopping"/> stops between batches of 1000.</param>
    /// <param name="store">The store.</param>
    /// <param name="objects">What to bring back.</param>
    /// <param name="cancellationToken">The hard stop, as for <see cref="RemoveGroupsAsync"/>.</param>
    /// <returns>What was done.</returns>
    public async Task<GateTotals> RestoreAsync(GateRun run, IObjectStore store, IReadOnlyList<QuarantinedObject> objects, CancellationToken cancellationToken)
    {
        var totals = new GateTotals();
        await CommitInBatchesAsync(run, store, objects, totals, (batch, now, index) => new Commit(store, ActionKind.Restore,
            batch.Select(o => new ActionRecord(0, run.RunId, o.Policy, store.Name, ActionKind.Restore, o.Key, o.Size, o.Key,
                "restore of a quarantined object", null, o.TrashKey, ActionOutcome.Pending, null, now)).ToList(), null, null, index)
        {
            QuarantinedBy = QuarantineRuns(batch),
        }, cancellationToken);
        return totals;
    }

    /// <summary>Deletes quarantined objects for good. Refuses any key outside <paramref name="trashPrefix"/>.</summary>
    /// <param name="run">The purge run; its <see cref="GateRun.Stopping"/> stops between batches.</param>
    /// <param name="store">The store.</param>
    /// <param name="trashPrefix">The trash prefix, ending in <c>/</c>.</param>
    /// <param name="objects">Objects under the trash prefix past retention, whose actions are settled.</param>
    /// <param name="cancellationToken">The hard stop, as for <see cref="RemoveGroupsAsync"/>.</param>
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
        await CommitInBatchesAsync(run, store, objects, totals, (batch, now, index) => new Commit(store, ActionKind.Purge,
            batch.Select(o => new ActionRecord(0, run.RunId, "trash", store.Name, ActionKind.Purge, o.Key, o.Size, o.Key,
                "quarantined past the trash retention", Evidence(o), o.Key, ActionOutcome.Pending, null, now)).ToList(), null, null, index), cancellationToken);
        return totals;
    }

    /// <summary>
    /// Settles actions a run left pending — its process died, or a hard stop abandoned their store requests — from
    /// what the store holds now, and records each outcome. Nothing is lost and nothing stays twice:
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>quarantine: found at its trash key and not at its original key, <c>done</c>; still at its original key
    /// and not in the trash, <c>skipped</c> (never moved); at both, the move did not complete: when the two are the
    /// same object (size, and ETag or else modification time) the leftover trash copy is removed and the action is
    /// <c>skipped</c>, otherwise the trash holds the planned object and a new one was written at the key since:
    /// <c>done</c>; at neither, someone else removed it: <c>skipped</c>;</item>
    /// <item>delete: gone, <c>done</c>; still there, <c>skipped</c>;</item>
    /// <item>restore: back at its key and not in the trash, <c>done</c>; still in the trash only, <c>skipped</c>; at
    /// both and the same object, the leftover trash copy is removed, <c>done</c>; at both and different,
    /// <c>failed</c> (the reappeared object is kept, the quarantined one stays in the trash);</item>
    /// <item>purge: gone from the trash, <c>done</c>; still there, <c>skipped</c>;</item>
    /// <item>a records policy's <c>after</c> statement: <c>failed</c>, since whether it ran is not known.</item>
    /// </list>
    /// </remarks>
    /// <param name="store">The store the actions are in.</param>
    /// <param name="pending">The run's pending actions in that store.</param>
    /// <param name="cancellationToken">Cancels the reads; outcomes settled so far are recorded.</param>
    /// <returns>The outcomes recorded, by action id.</returns>
    public async Task<IReadOnlyDictionary<long, SettledAction>> ReconcileAsync(IObjectStore store, IReadOnlyList<ActionRecord> pending, CancellationToken cancellationToken)
    {
        var settled = new ConcurrentDictionary<long, SettledAction>();
        try
        {
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = StatParallelism, CancellationToken = cancellationToken }, async (action, token) =>
            {
                settled[action.Id] = await SettleFromStoreAsync(store, action, token);
            });
        }
        finally
        {
            await state.RecordOutcomesAsync([.. settled.Values], timeProvider.GetUtcNow(), CancellationToken.None);
        }

        return settled;
    }

    private async Task<SettledAction> SettleFromStoreAsync(IObjectStore store, ActionRecord action, CancellationToken cancellationToken)
    {
        const string From = "settled from the store after its run ended";
        if (action.Kind == ActionKind.After)
        {
            return SettledAction.Failed(action.Id, $"{From}: whether the statement ran is not known; the policy runs it again while the row is still selected");
        }

        // A purge deletes the object at its own key (a trash key, or the original key of an object quarantined in
        // place, both recorded as its trash key too), so whether that key still holds it settles it on any store:
        // no tags are read.
        if (IsInPlace(action) && action.Kind != ActionKind.Purge)
        {
            return await SettleInPlaceAsync(store, action, cancellationToken);
        }

        var original = action.Kind == ActionKind.Purge ? null : await store.StatAsync(action.Key, cancellationToken);
        var trash = action.TrashKey is null ? null : await store.StatAsync(action.TrashKey, cancellationToken);
        switch (action.Kind)
        {
            case ActionKind.Delete:
                return original is null ? SettledAction.Done(action.Id) : SettledAction.Skipped(action.Id, $"{From}: still at its key, not deleted");
            case ActionKind.Purge:
                return trash is null ? SettledAction.Done(action.Id) : SettledAction.Skipped(action.Id, $"{From}: still in the trash, not purged");
            case ActionKind.Quarantine when trash is null:
                return SettledAction.Skipped(action.Id, original is null
                    ? $"{From}: neither at its key nor in the trash (removed by someone else)"
                    : $"{From}: still at its key, never moved");
            case ActionKind.Quarantine when original is null:
                return SettledAction.Done(action.Id);
            case ActionKind.Quarantine when SameObject(original.Value, trash.Value):
                return SettledAction.Skipped(action.Id, $"{From}: still at its key (the move did not complete){await RemoveLeftoverAsync(store, action, cancellationToken)}");
            case ActionKind.Quarantine:
                return SettledAction.Done(action.Id) with { Error = $"{From}: the trash holds it; another object has been written at its key since" };
            case ActionKind.Restore when trash is null:
                return original is null
                    ? SettledAction.Failed(action.Id, $"{From}: neither in the trash nor at its key")
                    : SettledAction.Done(action.Id);
            case ActionKind.Restore when original is null:
                return SettledAction.Skipped(action.Id, $"{From}: still in the trash, not restored");
            case ActionKind.Restore when SameObject(original.Value, trash.Value):
                return SettledAction.Done(action.Id) with { Error = $"{From}: restored{await RemoveLeftoverAsync(store, action, cancellationToken)}" };
            default:
                return SettledAction.Failed(action.Id, $"{From}: an object has reappeared at the original key; it is kept and this one stays in the trash");
        }
    }

    /// <summary>Removes the trash copy of an object that is (back) at its key, the same object; says what became of it.</summary>
    private static async Task<string> RemoveLeftoverAsync(IObjectStore store, ActionRecord action, CancellationToken cancellationToken)
    {
        try
        {
            var errors = await store.DeleteAsync([action.TrashKey!], cancellationToken);
            return errors.Count == 0
                ? "; its leftover copy in the trash was removed"
                : $"; its leftover copy in the trash could not be removed ({errors[0].Error}) and goes with the next purge";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return $"; its leftover copy in the trash could not be removed ({e.Message}) and goes with the next purge";
        }
    }

    /// <summary>
    /// Whether two objects are copies of one another, by <see cref="StoredObject.IsUnchangedSince"/>: same size, and the
    /// same ETag where both have one (S3's CopyObject keeps a single-part object's ETag), otherwise the same modification
    /// time (a filesystem rename keeps it; a new write at the key does not). A multipart upload's copy has another ETag,
    /// so it counts as different: both are kept, which loses nothing.
    /// </summary>
    private static bool SameObject(StoredObject a, StoredObject b) => a.IsUnchangedSince(b);

    /// <summary>The key a quarantined object gets: <c>{trash prefix}{run id}/{original key}</c>.</summary>
    /// <param name="trashPrefix">The trash prefix, ending in <c>/</c>.</param>
    /// <param name="runId">The run.</param>
    /// <param name="key">The original key.</param>
    /// <returns>The trash key.</returns>
    public static string TrashKey(string trashPrefix, string runId, string key) => $"{trashPrefix}{runId}/{key}";

    private static bool StopRequested(GateRun run, CancellationToken cancellationToken) =>
        run.Stopping.IsCancellationRequested || cancellationToken.IsCancellationRequested;

    /// <summary>
    /// <paramref name="objects"/> in batches of the store's <see cref="IObjectStore.MaxDeleteBatch"/>, in order, each
    /// through the commit step as the commit <paramref name="commitFor"/> builds from the batch, the time it starts and
    /// its index (0, 1, …). Once the run is told to stop, no further batch starts: its objects count as not started.
    /// </summary>
    private async Task CommitInBatchesAsync<T>(GateRun run, IObjectStore store, IReadOnlyList<T> objects, GateTotals totals,
        Func<T[], DateTimeOffset, int, Commit> commitFor, CancellationToken cancellationToken)
    {
        var index = 0;
        foreach (var batch in objects.Chunk(store.MaxDeleteBatch))
        {
            if (StopRequested(run, cancellationToken))
            {
                totals.Stopped = true;
                totals.GroupsNotStarted += batch.Length;
                continue;
            }

            await CommitAsync(run, commitFor(batch, Clock.GetUtcNow(), index++), totals, cancellationToken);
        }
    }

    /// <summary>One sub-batch of a policy's groups: re-read, classify, then the commit step with the references as protection.</summary>
    private async Task RemoveSubBatchAsync(GateRun run, GroupRemoval removal, List<PlannedGroup> batch, int index, GateTotals totals, CancellationToken cancellationToken)
    {
        Dictionary<string, List<StoredObject>> current;
        var rereadStart = Clock.GetTimestamp();
        try
        {
            current = await GroupRecheck.RereadAsync(removal, batch, ListingPageKeys, StatParallelism, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            totals.Stopped = true;
            totals.GroupsNotStarted += batch.Count;
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await FailSubBatchAsync(run, removal, batch, index, e, totals);
            return;
        }

        var now = timeProvider.GetUtcNow();
        var actions = new List<ActionRecord>();
        var seen = new Dictionary<string, StoredObject>(StringComparer.Ordinal);
        foreach (var group in batch)
        {
            var objects = current[group.GroupKey];
            foreach (var item in objects)
            {
                seen[item.Key] = item;
            }

            string? groupSkip = null;
            if (objects.Count > 0)
            {
                var newest = objects.Max(o => o.LastModified);
                if (OrphanRule.Classify(false, newest, now, removal.MinAge) == GroupVerdictKind.TooYoung)
                {
                    groupSkip = string.Create(CultureInfo.InvariantCulture,
                        $"young now: the group holds an object modified {newest:O}, within {Duration.Format(removal.MinAge)}");
                    totals.GroupsSkipped++;
                    Log.GroupSkipped(logger, run.RunId, group.GroupKey, groupSkip);
                }
            }

            foreach (var planned in group.Objects)
            {
                var skip = groupSkip;
                string? evidence = null;
                if (skip is null)
                {
                    if (!seen.TryGetValue(planned.Key, out var now2))
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

                var trashKey = removal.Plan.Action == ActionKind.Quarantine ? QuarantineKey(removal.Store, removal.TrashPrefix, run.RunId, planned.Key) : null;
                actions.Add(new ActionRecord(0, run.RunId, removal.Plan.Policy, removal.Store.Name, removal.Plan.Action, planned.Key, planned.Size, group.GroupKey,
                    skip is null ? group.Reason : $"{group.Reason}; skipped: {skip}", evidence, trashKey,
                    skip is null ? ActionOutcome.Pending : ActionOutcome.Skipped, skip, now));
            }
        }

        var protection = removal.Rechecked.Count == 0 ? null : new GroupReferences(removal, batch);
        await CommitAsync(run, new Commit(removal.Store, removal.Plan.Action, actions, seen, protection, index) { Reread = Clock.GetElapsedTime(rereadStart) }, totals, cancellationToken);
    }

    /// <summary>A sub-batch the store could not be re-read for fails alone: every planned object is recorded as failed with the error.</summary>
    private async Task FailSubBatchAsync(GateRun run, GroupRemoval removal, List<PlannedGroup> batch, int index, Exception e, GateTotals totals)
    {
        var error = $"store '{removal.Store.Name}': re-reading the sub-batch's {batch.Count} groups ('{ObjectKey.Printable(batch[0].GroupKey)}' to " +
                    $"'{ObjectKey.Printable(batch[^1].GroupKey)}') before acting failed: {e.Message}; nothing was touched";
        Log.SubBatchFailed(logger, run.RunId, index, error);
        var now = timeProvider.GetUtcNow();
        var actions = batch.SelectMany(g => g.Objects.Select(o => new ActionRecord(0, run.RunId, removal.Plan.Policy, removal.Store.Name, removal.Plan.Action,
            o.Key, o.Size, g.GroupKey, g.Reason, null, null, ActionOutcome.Failed, error, now))).ToList();
        foreach (var action in actions)
        {
            Fail(run, action, error, totals);
        }

        if (!run.DryRun)
        {
            await state.RecordIntentAsync(actions, CancellationToken.None);
        }
    }

    /// <summary>
    /// The commit step, the same for every path: a dry run counts; otherwise record intent, act (with the protection
    /// checked immediately before the objects are removed), and record every outcome whatever ends the step.
    /// </summary>
    /// <remarks>
    /// Outcomes are written in a <c>finally</c> with no cancellation token. An action whose store request was never
    /// sent is settled as skipped (the run stopped) or failed (the error that stopped it); one whose request was in
    /// flight when the hard stop came stays pending, to be settled from the store's state later.
    /// </remarks>
    private async Task CommitAsync(GateRun run, Commit commit, GateTotals totals, CancellationToken cancellationToken)
    {
        foreach (var skipped in commit.Actions.Where(a => a.Outcome == ActionOutcome.Skipped))
        {
            totals.ObjectsSkipped++;
        }

        if (run.DryRun)
        {
            var planned = commit.Actions.Where(a => a.Outcome == ActionOutcome.Pending).ToList();
            var protectedNow = commit.Protection is null ? new Dictionary<string, string>() : await commit.Protection.FindProtectedAsync(planned, cancellationToken);
            CountProtected(run, planned.Where(a => protectedNow.ContainsKey(a.Key)), protectedNow, totals);
            foreach (var action in planned.Where(a => !protectedNow.ContainsKey(a.Key)))
            {
                totals.ObjectsDone++;
                totals.BytesDone += action.Size;
            }

            return;
        }

        var intentStart = Clock.GetTimestamp();
        var recorded = await state.RecordIntentAsync(commit.Actions, cancellationToken);
        var actStart = Clock.GetTimestamp();
        var step = new Step(this, run, commit, recorded.Where(a => a.Outcome == ActionOutcome.Pending).ToList(), totals);
        Exception? failure = null;
        var outcomesStart = 0L;
        try
        {
            switch (commit.Kind)
            {
                case ActionKind.Quarantine when commit.Store is IObjectTagging { QuarantinesByTag: true } tagging:
                    await TagAsync(step, tagging, cancellationToken);
                    break;
                case ActionKind.Restore when commit.Store is IObjectTagging tagging && step.Acting.Any(IsInPlace):
                    await UntagAsync(step, tagging, [.. step.Acting.Where(IsInPlace)], cancellationToken);
                    await MoveAsync(step, [.. step.Acting.Where(a => !IsInPlace(a))], toTrash: false, cancellationToken);
                    break;
                case ActionKind.Quarantine when commit.Store is IObjectCopy copier:
                    await CopyThenDeleteAsync(step, copier, cancellationToken);
                    break;
                case ActionKind.Quarantine:
                    // Each move is its own store request: re-checked a few groups at a time, so that the window
                    // spans one query and at most MovesPerRecheck moves, not the sub-batch's thousand.
                    foreach (var chunk in WholeGroupChunks(step.Acting, MovesPerRecheck))
                    {
                        await MoveAsync(step, await ProtectAsync(step, chunk, cancellationToken), toTrash: true, cancellationToken);
                        step.CloseWindow(chunk.Count);
                    }

                    break;
                case ActionKind.Restore:
                    await MoveAsync(step, step.Acting, toTrash: false, cancellationToken);
                    break;
                default:
                    await DeleteAsync(step, await ProtectAsync(step, step.Acting, cancellationToken), cancellationToken);
                    break;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            totals.Stopped = true;
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            foreach (var action in step.Acting.Where(a => !step.Settled.ContainsKey(a.Id)))
            {
                if (step.Sent.ContainsKey(action.Id))
                {
                    totals.ObjectsPending++;
                }
                else if (failure is null)
                {
                    step.Skip(action, "not acted on: the run was stopped before this object's store request");
                }
                else
                {
                    step.Fail(action, $"not acted on: {failure.Message}");
                }
            }

            outcomesStart = Clock.GetTimestamp();
            await state.RecordOutcomesAsync([.. step.Settled.Values], timeProvider.GetUtcNow(), CancellationToken.None);
        }

        Log.SubBatchTimings(logger, run.RunId, commit.Index, commit.Actions.Count, commit.Reread.TotalMilliseconds, Clock.GetElapsedTime(intentStart, actStart).TotalMilliseconds,
            step.ProtectionTime.TotalMilliseconds, (Clock.GetElapsedTime(actStart, outcomesStart) - step.ProtectionTime).TotalMilliseconds, Clock.GetElapsedTime(outcomesStart).TotalMilliseconds);
        step.CloseWindow(step.Acting.Count);
        foreach (var (objects, window) in step.Windows)
        {
            totals.AddRecheckWindow(window.TotalMilliseconds);
            Log.RecheckWindow(logger, run.RunId, commit.Index, objects, window.TotalMilliseconds);
        }

        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>Consecutive runs of whole groups (the actions are in key order), each of at most <paramref name="objects"/> objects unless one group alone has more.</summary>
    private static IEnumerable<List<ActionRecord>> WholeGroupChunks(IReadOnlyList<ActionRecord> actions, int objects)
    {
        var chunk = new List<ActionRecord>();
        foreach (var group in actions.GroupBy(a => a.GroupKey, StringComparer.Ordinal))
        {
            var members = group.ToList();
            if (chunk.Count > 0 && chunk.Count + members.Count > objects)
            {
                yield return chunk;
                chunk = [];
            }

            chunk.AddRange(members);
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }

    /// <summary>
    /// The protection check (the start of the re-check window): the actions protected now are settled as skipped;
    /// returns the rest, to be acted on at once.
    /// </summary>
    private async Task<IReadOnlyList<ActionRecord>> ProtectAsync(Step step, IReadOnlyList<ActionRecord> acting, CancellationToken cancellationToken)
    {
        if (step.Commit.Protection is null || acting.Count == 0)
        {
            return acting;
        }

        step.StartWindow();
        var protectionStart = Clock.GetTimestamp();
        var protectedNow = await step.Commit.Protection.FindProtectedAsync(acting, cancellationToken);
        step.AddProtectionTime(Clock.GetElapsedTime(protectionStart));
        var skipped = acting.Where(a => protectedNow.ContainsKey(a.Key)).ToList();
        foreach (var action in skipped)
        {
            step.Skip(action, protectedNow[action.Key], count: false);
        }

        CountProtected(step.Run, skipped, protectedNow, step.Totals);
        return acting.Where(a => !protectedNow.ContainsKey(a.Key)).ToList();
    }

    private void CountProtected(GateRun run, IEnumerable<ActionRecord> skipped, IReadOnlyDictionary<string, string> reasons, GateTotals totals)
    {
        var groups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var action in skipped)
        {
            totals.ObjectsSkipped++;
            if (groups.Add(action.GroupKey))
            {
                totals.GroupsSkipped++;
                Log.GroupSkipped(logger, run.RunId, action.GroupKey, reasons[action.Key]);
            }
        }
    }

    /// <summary>Deletes in batches of <see cref="IObjectStore.MaxDeleteBatch"/> (a purge deletes the trash keys, recorded as the actions' keys).</summary>
    private async Task DeleteAsync(Step step, IReadOnlyList<ActionRecord> acting, CancellationToken cancellationToken)
    {
        var store = step.Commit.Store;
        foreach (var batch in acting.Chunk(store.MaxDeleteBatch))
        {
            var errors = await DeleteKeysAsync(step, batch, batch.Select(a => a.Key).ToList(), cancellationToken);
            foreach (var action in batch)
            {
                if (errors.TryGetValue(action.Key, out var error))
                {
                    step.Fail(action, error);
                }
                else
                {
                    step.Succeed(action);
                }
            }
        }
    }

    /// <summary>One delete request for <paramref name="keys"/> (the keys of <paramref name="actions"/>, or their trash keys); returns the failed keys with their error.</summary>
    private static async Task<Dictionary<string, string>> DeleteKeysAsync(Step step, IReadOnlyList<ActionRecord> actions, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var store = step.Commit.Store;
        foreach (var action in actions)
        {
            step.MarkSent(action);
        }

        IReadOnlyList<KeyError> errors;
        try
        {
            errors = await store.DeleteAsync(keys, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            errors = keys.Select(k => new KeyError(k, e.Message)).ToList();
        }

        return errors.ToDictionary(e => e.Key, e => $"store '{store.Name}': delete failed: {e.Error}", StringComparer.Ordinal);
    }

    /// <summary>
    /// Quarantine by copy: copies every object to its trash key in parallel (nothing is removed yet), then the
    /// protection check, then one delete of the originals. A protected object's trash copy is removed again; so is
    /// that of an original the store could not delete.
    /// </summary>
    private async Task CopyThenDeleteAsync(Step step, IObjectCopy copier, CancellationToken cancellationToken)
    {
        var store = step.Commit.Store;
        var copied = new ConcurrentBag<ActionRecord>();
        await Parallel.ForEachAsync(step.Acting, new ParallelOptions { MaxDegreeOfParallelism = CopyParallelism, CancellationToken = cancellationToken }, async (action, token) =>
        {
            step.MarkSent(action);
            var source = step.Commit.Current![action.Key];
            try
            {
                await copier.CopyAsync(source, action.TrashKey!, token);
                copied.Add(action);
            }
            catch (ObjectNotFoundException)
            {
                step.Fail(action, $"store '{store.Name}': copy to the trash answered 404 (not found) for an object the re-read had just listed; recorded as failed, not as gone: nothing was moved");
            }
            catch (ObjectChangedException)
            {
                step.Skip(action, "changed since the re-check (the copy's ETag condition failed); nothing was moved");
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                step.Fail(action, $"store '{store.Name}': copy to the trash failed: {e.Message}; nothing was moved");
            }
        });

        var inOrder = copied.OrderBy(a => a.Id).ToList();
        var removing = await ProtectAsync(step, inOrder, cancellationToken);
        var failed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var batch in removing.Chunk(store.MaxDeleteBatch))
        {
            foreach (var (key, error) in await DeleteKeysAsync(step, batch, batch.Select(a => a.Key).ToList(), cancellationToken))
            {
                failed[key] = error;
            }
        }

        // Trash copies of objects that stay where they are: protected now, or not deleted.
        var leftovers = inOrder.Where(a => step.Settled.ContainsKey(a.Id) || failed.ContainsKey(a.Key)).ToList();
        var notRemoved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var batch in leftovers.Chunk(store.MaxDeleteBatch))
        {
            foreach (var (trashKey, error) in await DeleteKeysAsync(step, [], batch.Select(a => a.TrashKey!).ToList(), CancellationToken.None))
            {
                notRemoved[trashKey] = error;
            }
        }

        string Copy(ActionRecord action) => notRemoved.TryGetValue(action.TrashKey!, out var error)
            ? $"; its copy at '{ObjectKey.Printable(action.TrashKey!)}' could not be removed ({error}) and goes with the next purge"
            : "; its copy in the trash was removed";
        foreach (var action in removing)
        {
            if (failed.TryGetValue(action.Key, out var error))
            {
                step.Fail(action, $"{error}; the original stays{Copy(action)}");
            }
            else
            {
                step.Succeed(action);
            }
        }

        foreach (var action in inOrder.Where(a => step.Settled.TryGetValue(a.Id, out var s) && s.Outcome == ActionOutcome.Skipped))
        {
            step.Settle(step.Settled[action.Id] with { Error = step.Settled[action.Id].Error + Copy(action) });
        }
    }

    /// <summary>Moves in parallel: to the trash (quarantine on a store without <see cref="IObjectCopy"/>) or back from it (restore).</summary>
    private async Task MoveAsync(Step step, IReadOnlyList<ActionRecord> acting, bool toTrash, CancellationToken cancellationToken)
    {
        var store = step.Commit.Store;
        await Parallel.ForEachAsync(acting, new ParallelOptions { MaxDegreeOfParallelism = MoveParallelism, CancellationToken = cancellationToken }, async (action, token) =>
        {
            var source = toTrash ? action.Key : action.TrashKey!;
            var destination = toTrash ? action.TrashKey! : action.Key;
            step.MarkSent(action);
            try
            {
                await store.MoveAsync(source, destination, token);
                step.Succeed(action);
            }
            catch (ObjectExistsException)
            {
                step.Fail(action, toTrash
                    ? "the trash already holds an object at this run's trash key; nothing moved"
                    : "an object has reappeared at the original key; it is kept and this one stays in the trash");
            }
            catch (ObjectNotFoundException)
            {
                // Quarantine: someone else removed it first; nothing lost. Restore: either an earlier restore
                // brought it back (skipped), or the trash copy is gone (purged): that restore failed.
                if (toTrash || await store.StatAsync(action.Key, token) is not null)
                {
                    step.Skip(action, toTrash ? "gone before it could be moved" : "already restored");
                }
                else
                {
                    step.Fail(action, "not in the trash any more (purged?); nothing to restore");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                step.Fail(action, $"store '{store.Name}': move failed: {e.Message}");
            }
        });
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

    internal static string Evidence(StoredObject item) => item.ETag is { } etag
        ? string.Create(CultureInfo.InvariantCulture, $"size={item.Size} etag={etag}")
        : string.Create(CultureInfo.InvariantCulture, $"size={item.Size} mtime={item.LastModified.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");

    /// <summary>Whether each group's key is after the one before (one pass over the stream).</summary>
    private static bool InKeyOrder(IEnumerable<PlannedGroup> groups)
    {
        string? previous = null;
        foreach (var group in groups)
        {
            if (previous is not null && ObjectKey.Comparer.Compare(previous, group.GroupKey) >= 0)
            {
                return false;
            }

            previous = group.GroupKey;
        }

        return true;
    }

    /// <summary>Groups in key order, in sub-batches of about <paramref name="batchObjects"/> objects and at most <see cref="MaxGroupsPerRecheck"/> groups; a larger group is a sub-batch of its own.</summary>
    private static IEnumerable<List<PlannedGroup>> Chunk(IEnumerable<PlannedGroup> groups, int batchObjects)
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

    /// <summary>What one commit step acts on.</summary>
    /// <param name="Store">The store.</param>
    /// <param name="Kind">The action.</param>
    /// <param name="Actions">The actions to record: pending ones to act on, skipped ones to record only.</param>
    /// <param name="Current">The objects as just re-read, by key (what a copy is conditioned on); <see langword="null"/> for restore and purge.</param>
    /// <param name="Protection">Checked immediately before the objects are removed; <see langword="null"/> for none.</param>
    /// <param name="Index">The sub-batch's number in its run part, for the logs.</param>
    private sealed record Commit(IObjectStore Store, ActionKind Kind, List<ActionRecord> Actions, IReadOnlyDictionary<string, StoredObject>? Current, IProtection? Protection, int Index)
    {
        /// <summary>For a restore: the run that quarantined each object, by key, where known.</summary>
        public IReadOnlyDictionary<string, string>? QuarantinedBy { get; init; }

        /// <summary>How long the store's re-read of the sub-batch took before this commit (zero where there is none), for the timing event.</summary>
        public TimeSpan Reread { get; init; }
    }

    /// <summary>
    /// One commit step in progress: the outcomes settled so far, which actions had a store request sent, and the
    /// re-check window. Safe to use from the parallel moves and copies.
    /// </summary>
    private sealed class Step(DestructiveGate gate, GateRun run, Commit commit, List<ActionRecord> acting, GateTotals totals)
    {
        private readonly Lock _sync = new();
        private long _windowStart;
        private long _lastSent;
        private long _protectionTicks;

        public GateRun Run { get; } = run;

        public Commit Commit { get; } = commit;

        public List<ActionRecord> Acting { get; } = acting;

        public GateTotals Totals { get; } = totals;

        public ConcurrentDictionary<long, SettledAction> Settled { get; } = new();

        public ConcurrentDictionary<long, bool> Sent { get; } = new();

        /// <summary>The windows closed so far, each with the objects its protection check covered.</summary>
        public List<(int Objects, TimeSpan Window)> Windows { get; } = [];

        public void StartWindow() => _windowStart = gate.Clock.GetTimestamp();

        /// <summary>The time spent in protection checks so far (catalog queries).</summary>
        public TimeSpan ProtectionTime => TimeSpan.FromTicks(Interlocked.Read(ref _protectionTicks));

        public void AddProtectionTime(TimeSpan time) => Interlocked.Add(ref _protectionTicks, time.Ticks);

        /// <summary>
        /// Ends the open window, if any: from the protection check's start to the last removing request sent (none
        /// without a protection check or without a removal after it).
        /// </summary>
        /// <param name="objects">The objects its protection check covered.</param>
        public void CloseWindow(int objects)
        {
            lock (_sync)
            {
                if (_windowStart != 0 && _lastSent >= _windowStart)
                {
                    Windows.Add((objects, gate.Clock.GetElapsedTime(_windowStart, _lastSent)));
                }

                _windowStart = 0;
                _lastSent = 0;
            }
        }

        public void MarkSent(ActionRecord action)
        {
            Sent[action.Id] = true;
            if (_windowStart != 0)
            {
                var now = gate.Clock.GetTimestamp();
                lock (_sync)
                {
                    _lastSent = Math.Max(_lastSent, now);
                }
            }
        }

        public void Settle(SettledAction settled) => Settled[settled.ActionId] = settled;

        public void Succeed(ActionRecord action)
        {
            Settle(SettledAction.Done(action.Id));
            lock (_sync)
            {
                gate.Succeed(Run, action, Totals);
            }
        }

        public void Fail(ActionRecord action, string error)
        {
            Settle(SettledAction.Failed(action.Id, error));
            lock (_sync)
            {
                gate.Fail(Run, action, error, Totals);
            }
        }

        public void Skip(ActionRecord action, string reason, bool count = true)
        {
            Settle(SettledAction.Skipped(action.Id, reason));
            if (count)
            {
                lock (_sync)
                {
                    Totals.ObjectsSkipped++;
                }
            }
        }
    }
}
