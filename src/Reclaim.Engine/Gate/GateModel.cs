using Reclaim.Core.Catalogs;
using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;

namespace Reclaim.Engine.Gate;

/// <summary>The run on whose behalf the gate acts.</summary>
/// <param name="RunId">The run id (already recorded in state).</param>
/// <param name="Actor">Who asked.</param>
/// <param name="DryRun">When true the gate re-checks and counts but records nothing and touches nothing.</param>
public sealed record GateRun(string RunId, string Actor, bool DryRun)
{
    /// <summary>
    /// The soft stop (Ctrl+C, SIGTERM, a server shutting down): once it is cancelled no new sub-batch starts, while
    /// the sub-batches in flight finish and record their outcomes. The gate methods' own cancellation token is the
    /// hard stop: it abandons the store requests in flight. Default: never cancelled.
    /// </summary>
    public CancellationToken Stopping { get; init; }

    /// <summary>
    /// Test seam of <see cref="DestructiveGate.RemoveGroupsAsync"/>: awaited when each sub-batch starts (with its
    /// number, 0-based in key order, and its groups), before its re-read and so before its re-check query, which waits
    /// for it. A test holds the sub-batches after the k-th here, commits references for their groups, and releases
    /// them, without depending on how quickly the store goes. <see langword="null"/> (the default, and always outside
    /// tests): nothing is called and nothing is allocated.
    /// </summary>
    internal Func<int, IReadOnlyList<PlannedGroup>, CancellationToken, ValueTask>? BeforeSubBatch { get; init; }
}

/// <summary>Everything the gate needs to remove the groups one policy proposed.</summary>
/// <param name="Plan">The policy's plan (refused plans are refused again by the gate).</param>
/// <param name="Store">The store.</param>
/// <param name="Catalog">The catalog the references (orphans) or keep rows (retention) come from (of a list, the first query's; see <see cref="Queries"/>); <see langword="null"/> when the policy has no such query.</param>
/// <param name="ReferenceQuery">The references or keep query, re-run for just each batch's groups; <see langword="null"/> with <paramref name="Catalog"/>.</param>
/// <param name="Layout">The layout (renders re-checked references).</param>
/// <param name="MinAge">The age a group must have (grace period, or retention's max_age), re-applied to what the store holds now.</param>
/// <param name="TrashPrefix">The trash prefix for quarantine, ending in <c>/</c>.</param>
public sealed record GroupRemoval(
    PolicyPlan Plan,
    IObjectStore Store,
    ICatalog? Catalog,
    string? ReferenceQuery,
    Layout Layout,
    TimeSpan MinAge,
    string TrashPrefix)
{
    /// <summary>
    /// Every protecting query of the policy (a list of <c>references:</c> or <c>keep:</c>), each with its catalog, in
    /// config order; a group a row of any of them renders to is protected. Empty: <see cref="Catalog"/> and
    /// <see cref="ReferenceQuery"/> alone.
    /// </summary>
    public IReadOnlyList<ProtectingQuery> Queries { get; init; } = [];

    /// <summary>The queries the gate re-checks: <see cref="Queries"/>, or the single <see cref="ReferenceQuery"/> on <see cref="Catalog"/>.</summary>
    internal IReadOnlyList<ProtectingQuery> Rechecked =>
        Queries.Count > 0 ? Queries : Catalog is not null && ReferenceQuery is not null ? [new ProtectingQuery(Catalog, ReferenceQuery)] : [];
}

/// <summary>One protecting query and the catalog it runs on (with a retention policy's <c>@cutoff</c> bound).</summary>
/// <param name="Catalog">The catalog.</param>
/// <param name="Query">The SELECT, its columns named like the layout's variables.</param>
public sealed record ProtectingQuery(ICatalog Catalog, string Query);

/// <summary>
/// Objects removed because something asked for exactly them (a deletion request, a record's files), not because a
/// reference join found them orphaned.
/// </summary>
/// <param name="Policy">The policy (or queue) on whose behalf.</param>
/// <param name="Store">The store.</param>
/// <param name="Action">Delete or quarantine.</param>
/// <param name="TrashPrefix">The trash prefix, ending in <c>/</c>: never a target.</param>
/// <param name="Keys">Single objects to remove; a missing one is recorded as already gone.</param>
/// <param name="Prefixes">Folders to empty, each ending in <c>/</c>, never empty: every object listed under it just before acting.</param>
/// <param name="GroupKey">What the request is about (a request id, a row id), recorded with each action.</param>
/// <param name="Reason">Why, in words (recorded with each action).</param>
/// <param name="Protections">
/// The store's protections (<see cref="StoreProtections"/>), asked for each sub-batch as its protection check:
/// after its intent is recorded, immediately before it acts. A protected object's action is recorded as skipped with
/// the policy that protects it, and the object is not touched. <see langword="null"/> when nothing protects the store.
/// </param>
public sealed record RequestedRemoval(
    string Policy,
    IObjectStore Store,
    ActionKind Action,
    string TrashPrefix,
    IReadOnlyList<string> Keys,
    IReadOnlyList<string> Prefixes,
    string GroupKey,
    string Reason,
    StoreProtections? Protections = null);

/// <summary>
/// A check the gate makes immediately before it acts on a sub-batch, after recording the intent (and, on a store
/// that quarantines by copy, after copying): the last word on what is protected now. The time from the start of
/// this check to the store request that removes the objects is the re-check window the gate measures and bounds.
/// </summary>
public interface IProtection
{
    /// <summary>Finds the objects among <paramref name="acting"/> that must not be removed now.</summary>
    /// <param name="acting">The actions about to be acted on (their key, group and size as recorded).</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The keys of the protected objects, each with why (recorded as the reason its action was skipped).</returns>
    /// <exception cref="Core.Catalogs.CatalogException">The catalog could not be read: the sub-batch is not acted on and the run stops.</exception>
    Task<IReadOnlyDictionary<string, string>> FindProtectedAsync(IReadOnlyList<ActionRecord> acting, CancellationToken cancellationToken);
}

/// <summary>What the gate did, added up. Objects and bytes are counts, 0 or more.</summary>
/// <remarks>Not thread-safe: the gate adds one sub-batch's totals into the run's under a lock.</remarks>
public sealed class GateTotals
{
    private readonly List<double> _windowsMs = [];

    /// <summary>Objects deleted, quarantined, restored or purged.</summary>
    public long ObjectsDone { get; set; }

    /// <summary>Bytes of <see cref="ObjectsDone"/>.</summary>
    public long BytesDone { get; set; }

    /// <summary>Objects not acted on because the re-check found a reason.</summary>
    public long ObjectsSkipped { get; set; }

    /// <summary>Groups skipped whole (referenced now, or a young object now).</summary>
    public long GroupsSkipped { get; set; }

    /// <summary>Of <see cref="ObjectsSkipped"/>, objects of an explicit removal a store protection kept (<see cref="RequestedRemoval.Protections"/>).</summary>
    public long ObjectsProtected { get; set; }

    /// <summary>Up to 10 protected objects and what protects each.</summary>
    public List<(string Key, ProtectedBy By)> SampleProtected { get; } = [];

    /// <summary>Objects the store failed on.</summary>
    public long ObjectsFailed { get; set; }

    /// <summary>
    /// Objects whose store request was in flight when the run was cancelled hard: their actions stay pending and
    /// are settled from the store's state by the next command that touches the run.
    /// </summary>
    public long ObjectsPending { get; set; }

    /// <summary>Groups (or objects of a request, a restore, a purge) not started because the run was asked to stop first.</summary>
    public long GroupsNotStarted { get; set; }

    /// <summary>Whether the run was asked to stop (<see cref="GateRun.Stopping"/>) before all its work started.</summary>
    public bool Stopped { get; set; }

    /// <summary>Up to 10 failures, <c>key: error</c>.</summary>
    public List<string> SampleErrors { get; } = [];

    /// <summary>
    /// The re-check window of each sub-batch acted on, in milliseconds, in the order the sub-batches finished: from
    /// the start of its references (or keep) query to the last store request that removed its objects being sent.
    /// </summary>
    public IReadOnlyList<double> RecheckWindowsMs => _windowsMs;

    /// <summary>The median of <see cref="RecheckWindowsMs"/>, or <see langword="null"/> when no sub-batch was re-checked.</summary>
    public double? RecheckWindowMedianMs
    {
        get
        {
            if (_windowsMs.Count == 0)
            {
                return null;
            }

            var sorted = _windowsMs.Order().ToList();
            var middle = sorted.Count / 2;
            return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        }
    }

    /// <summary>The largest of <see cref="RecheckWindowsMs"/>, or <see langword="null"/> when no sub-batch was re-checked.</summary>
    public double? RecheckWindowMaxMs => _windowsMs.Count == 0 ? null : _windowsMs.Max();

    /// <summary>Records one sub-batch's re-check window.</summary>
    /// <param name="milliseconds">The window, 0 or more.</param>
    public void AddRecheckWindow(double milliseconds) => _windowsMs.Add(milliseconds);

    /// <summary>Adds another total into this one.</summary>
    /// <param name="other">The other totals.</param>
    public void Add(GateTotals other)
    {
        ObjectsDone += other.ObjectsDone;
        BytesDone += other.BytesDone;
        ObjectsSkipped += other.ObjectsSkipped;
        GroupsSkipped += other.GroupsSkipped;
        ObjectsFailed += other.ObjectsFailed;
        ObjectsProtected += other.ObjectsProtected;
        ObjectsPending += other.ObjectsPending;
        GroupsNotStarted += other.GroupsNotStarted;
        Stopped |= other.Stopped;
        _windowsMs.AddRange(other._windowsMs);
        foreach (var error in other.SampleErrors)
        {
            if (SampleErrors.Count < 10)
            {
                SampleErrors.Add(error);
            }
        }

        foreach (var kept in other.SampleProtected)
        {
            if (SampleProtected.Count < 10)
            {
                SampleProtected.Add(kept);
            }
        }
    }
}

/// <summary>A guard refused; nothing was touched (exit code 3).</summary>
/// <param name="message">Which guard and the numbers.</param>
public sealed class GuardRefusedException(string message) : Exception(message);

/// <summary>One quarantined object to bring back.</summary>
/// <param name="Key">The original key.</param>
/// <param name="TrashKey">Where it lies in the trash.</param>
/// <param name="Size">Its size in bytes, as recorded.</param>
/// <param name="Policy">The policy that quarantined it.</param>
/// <param name="QuarantineRunId">
/// The run that quarantined it, or <see langword="null"/> when not known. An object quarantined in place whose tag
/// names another run now (restored, then quarantined again) is left to that run; a moved object's run is in its trash key.
/// </param>
public sealed record QuarantinedObject(string Key, string TrashKey, long Size, string Policy, string? QuarantineRunId = null);
