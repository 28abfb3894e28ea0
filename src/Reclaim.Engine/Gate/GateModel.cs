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
public sealed record GateRun(string RunId, string Actor, bool DryRun);

/// <summary>Everything the gate needs to remove the groups one policy proposed.</summary>
/// <param name="Plan">The policy's plan (refused plans are refused again by the gate).</param>
/// <param name="Store">The store.</param>
/// <param name="Catalog">The catalog the references (orphans) or keep rows (retention) come from; <see langword="null"/> when the policy has no such query.</param>
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
    string TrashPrefix);

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
/// The store's protections (<see cref="StoreProtections"/>), asked for each sub-batch immediately before its intent
/// is recorded: a protected object is recorded as skipped with the policy that protects it and is not touched.
/// <see langword="null"/> when nothing protects the store.
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

/// <summary>What the gate did, added up. Objects and bytes are counts, 0 or more.</summary>
public sealed class GateTotals
{
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

    /// <summary>Up to 10 failures, <c>key: error</c>.</summary>
    public List<string> SampleErrors { get; } = [];

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
public sealed record QuarantinedObject(string Key, string TrashKey, long Size, string Policy);

/// <summary>Helpers for the outcome of actions.</summary>
internal static class Outcomes
{
    public static (long, ActionOutcome, string?, string?) Done(long id, string? evidence = null) => (id, ActionOutcome.Done, null, evidence);

    public static (long, ActionOutcome, string?, string?) Failed(long id, string error) => (id, ActionOutcome.Failed, error, null);
}
