using Reclaim.Core.State;
using Reclaim.Core.Storage;

namespace Reclaim.Core.Planning;

/// <summary>One group a policy proposes to remove, with every object it holds at planning time.</summary>
/// <param name="GroupKey">The group's key (a folder prefix ending in <c>/</c>, or the object's key).</param>
/// <param name="Values">The layout variables' values for this group, in the layout's order (for the gate's re-check).</param>
/// <param name="Objects">The group's objects, in key order.</param>
/// <param name="Newest">The newest object's modification time, UTC.</param>
/// <param name="Reason">Why the policy proposes it, in words.</param>
public sealed record PlannedGroup(string GroupKey, string[] Values, IReadOnlyList<StoredObject> Objects, DateTimeOffset Newest, string Reason)
{
    /// <summary>The group's bytes.</summary>
    public long Bytes => Objects.Sum(o => o.Size);
}

/// <summary>One row a <c>records</c> policy selected, with the objects its templates render to at planning time.</summary>
/// <param name="Columns">The row's columns as text (SQL NULL is <see langword="null"/>), by name.</param>
/// <param name="Keys">Single keys the templates rendered.</param>
/// <param name="Prefixes">Folder prefixes (ending in <c>/</c>) the templates rendered.</param>
/// <param name="Objects">The objects found for those keys and prefixes.</param>
/// <param name="Reason">Why, in words.</param>
public sealed record PlannedRow(
    IReadOnlyDictionary<string, string?> Columns,
    IReadOnlyList<string> Keys,
    IReadOnlyList<string> Prefixes,
    IReadOnlyList<StoredObject> Objects,
    string Reason)
{
    /// <summary>The row's bytes.</summary>
    public long Bytes => Objects.Sum(o => o.Size);
}

/// <summary>Counters of one policy's plan. Objects and bytes are whole numbers, 0 or more.</summary>
public sealed class PolicyTotals
{
    /// <summary>Objects listed under the policy's prefix (trash excluded).</summary>
    public long ObjectsScanned { get; set; }

    /// <summary>Bytes of the listed objects whose size was read (referenced groups on a filesystem are not stat'ed).</summary>
    public long BytesScanned { get; set; }

    /// <summary>Groups found: objects whose key matched the layout, grouped.</summary>
    public long GroupsScanned { get; set; }

    /// <summary>Groups some reference renders to: kept.</summary>
    public long GroupsReferenced { get; set; }

    /// <summary>Unreferenced groups whose newest object is younger than the grace period: kept.</summary>
    public long GroupsTooYoung { get; set; }

    /// <summary>Groups proposed for removal.</summary>
    public long GroupsOrphaned { get; set; }

    /// <summary>
    /// Orphaned groups held by <c>confirm_after</c>: orphaned now, but in no plan at least that long before; kept (not
    /// in <see cref="GroupsOrphaned"/>), and proposed at the first plan that long after their first sighting.
    /// </summary>
    public long GroupsUnconfirmed { get; set; }

    /// <summary>Objects in the proposed groups.</summary>
    public long ObjectsOrphaned { get; set; }

    /// <summary>Bytes in the proposed groups.</summary>
    public long BytesReclaimable { get; set; }

    /// <summary>Objects whose key did not match the layout: never touched.</summary>
    public long ObjectsUnmatched { get; set; }

    /// <summary>Objects under the trash prefix: never candidates.</summary>
    public long ObjectsInTrash { get; set; }

    /// <summary>Rows the references query returned.</summary>
    public long ReferencesRead { get; set; }

    /// <summary>Rows that rendered to no key the layout can match (a NULL, an empty value, a '/' in a one-segment variable).</summary>
    public long ReferencesUnrenderable { get; set; }

    /// <summary>Wall time of planning, milliseconds.</summary>
    public long DurationMs { get; set; }

    /// <summary>
    /// For a policy with a list of references (or keep) queries: each query's rows, in config order (the guards judge
    /// each: one returning nothing is implausible on its own). Empty for a single query: <see cref="ReferencesRead"/> is its count.
    /// </summary>
    public List<QueryRows> Queries { get; init; } = [];
}

/// <summary>The rows one references (or keep) query of a list returned.</summary>
/// <param name="Catalog">The catalog it ran on.</param>
/// <param name="Read">Rows read, 0 or more.</param>
/// <param name="Unrenderable">Of those, rows that rendered to no key the layout can match.</param>
public sealed record QueryRows(string Catalog, long Read, long Unrenderable);

/// <summary>A guard's verdict on one policy (or the whole plan).</summary>
/// <param name="Guard">The guard's config key (<c>max_delete_fraction</c>, <c>max_delete_count</c>, <c>refuse_empty_references</c>, <c>refuse_empty_keep</c>, <c>min_age_floor</c>).</param>
/// <param name="Passed">Whether the guard lets the policy proceed.</param>
/// <param name="Message">The numbers behind the verdict, in words.</param>
public sealed record GuardVerdict(string Guard, bool Passed, string Message);

/// <summary>What one policy proposes at one moment.</summary>
public sealed class PolicyPlan
{
    /// <summary>The policy's name.</summary>
    public required string Policy { get; init; }

    /// <summary>The policy's kind, written in plan files as the config's <c>type:</c> spells it (<c>orphans</c>).</summary>
    public required PolicyKind Type { get; init; }

    /// <summary>The store the policy acts on.</summary>
    public required string Store { get; init; }

    /// <summary>What the policy does to a group: delete or quarantine.</summary>
    public required ActionKind Action { get; init; }

    /// <summary>The layout template.</summary>
    public required string Layout { get; init; }

    /// <summary>A fingerprint of the policy's definition; <c>apply</c> refuses a plan whose policy has changed since.</summary>
    public required string Definition { get; init; }

    /// <summary>The age a group must reach before the policy proposes it: the grace period (orphans) or <c>max_age</c> (retention).</summary>
    public TimeSpan MinAge { get; init; }

    /// <summary>
    /// For a retention policy planned with another <c>max_age</c> than its config's for this run only (the bulk
    /// cleanup route's <c>retention_days</c>): that age, which <see cref="MinAge"/> then is; <see langword="null"/>
    /// when the config's <c>max_age</c> applied.
    /// </summary>
    public TimeSpan? MaxAgeOverride { get; set; }

    /// <summary>
    /// Whether the policy has a references (orphans) or keep (retention) query, whose empty result the guards judge
    /// (<c>refuse_empty_references</c>, <c>refuse_empty_keep</c>). A retention policy without <c>keep</c> has none.
    /// </summary>
    public bool ReferencesRequired { get; init; } = true;

    /// <summary>Counters.</summary>
    public PolicyTotals Totals { get; init; } = new();

    /// <summary>
    /// The groups proposed for removal, in key order (orphans, retention), read as a stream: the planner holds a bounded
    /// number in memory and spools the rest to disk (<see cref="PlannedGroups"/>).
    /// </summary>
    public PlannedGroups Groups { get; set; } = [];

    /// <summary>
    /// The rows selected (records), in query order, read as a stream: the planner and the plan file's reader hold a
    /// bounded number in memory and spool the rest to disk (<see cref="SpooledSequence{T}"/>); read them in order,
    /// from the start, as often as needed. Empty and held in memory by default.
    /// </summary>
    public SpooledSequence<PlannedRow> Rows { get; set; } = [];

    /// <summary>
    /// Whether <c>max_delete_fraction</c> applies: always for layouts; for a records policy only when a
    /// <c>scope</c> query gives the population the rows are a share of.
    /// </summary>
    public bool FractionGuarded { get; init; } = true;

    /// <summary>The guards' verdicts.</summary>
    public List<GuardVerdict> Guards { get; init; } = [];

    /// <summary>Notes worth an operator's attention that refuse nothing (for example unrenderable references).</summary>
    public List<string> Warnings { get; init; } = [];

    /// <summary>
    /// What the plan saves and costs on the store's provider (its <c>provider:</c>): bytes saving now and after the
    /// minimum storage duration, the sweep's requests; <see langword="null"/> when the store names no provider.
    /// </summary>
    public PolicyCost? Cost { get; set; }

    /// <summary>Whether some guard refused this policy.</summary>
    public bool Refused => Guards.Any(g => !g.Passed);
}

/// <summary>The actions a set of policies proposes at one moment (README, "Plans"). A dry run is a plan not applied.</summary>
public sealed class Plan
{
    /// <summary>The plan file's format version.</summary>
    public const int FormatVersion = 1;

    /// <summary>When the plan was made, UTC.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The config file it was made from (absolute path).</summary>
    public required string ConfigPath { get; init; }

    /// <summary>The policies' plans, in config order.</summary>
    public List<PolicyPlan> Policies { get; init; } = [];

    /// <summary>Verdicts of guards over the whole plan (<c>max_delete_count</c>).</summary>
    public List<GuardVerdict> Guards { get; init; } = [];

    /// <summary>Whether any guard, of a policy or of the plan, refused.</summary>
    public bool Refused => Guards.Any(g => !g.Passed) || Policies.Any(p => p.Refused);

    /// <summary>
    /// Whether nothing of the plan may be applied: a guard of the whole plan refused, or every policy was refused.
    /// Otherwise the policies that passed their guards are applied and the refused ones are skipped, each alone.
    /// </summary>
    public bool RefusedEntirely => Guards.Any(g => !g.Passed) || (Policies.Count > 0 && Policies.All(p => p.Refused));

    /// <summary>Objects the plan's policies propose, refused ones included.</summary>
    public long ObjectsProposed => Policies.Sum(p => p.Totals.ObjectsOrphaned);

    /// <summary>Bytes the plan's policies propose, refused ones included.</summary>
    public long BytesProposed => Policies.Sum(p => p.Totals.BytesReclaimable);

    /// <summary>Objects of the policies that passed their own guards: what applying the plan would remove.</summary>
    public long ObjectsAccepted => Policies.Where(p => !p.Refused).Sum(p => p.Totals.ObjectsOrphaned);

    /// <summary>Bytes of the policies that passed their own guards.</summary>
    public long BytesAccepted => Policies.Where(p => !p.Refused).Sum(p => p.Totals.BytesReclaimable);
}
