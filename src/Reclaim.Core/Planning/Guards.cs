using System.Globalization;

namespace Reclaim.Core.Planning;

/// <summary>
/// Thresholds that refuse one policy (or, for <see cref="MaxDeleteCount"/>, the plan) rather than do damage. A
/// refused policy is refused alone: the other policies of the plan go on. The whole model is in
/// <c>docs/safety.md</c>; each key is described with an example in <c>docs/configuration.md</c>.
/// </summary>
/// <param name="MaxDeleteFraction">
/// Per policy: refuse when the plan removes more than this share of the groups scanned, in (0, 1]. Default 0.10.
/// Applies only once the policy scans at least <paramref name="MinGroupsForFraction"/> groups.
/// </param>
/// <param name="MaxDeleteCount">Per plan: refuse when the policies that pass their own guards remove more objects than this, 1 or more. Default 100000.</param>
/// <param name="RefuseEmptyReferences">
/// Refuse an <c>orphans</c> policy whose references query returns no rows, or only rows that render to no key:
/// with nothing referenced every group would look orphaned. Default on. Does not apply to a <c>retention</c>
/// policy's <c>keep</c> query (see <paramref name="RefuseEmptyKeep"/>).
/// </param>
/// <param name="MinAgeFloor">A grace period below this needs <c>--force</c>. Default 1 hour.</param>
/// <param name="MinGroupsForFraction">
/// The fewest groups (rows, for a <c>records</c> policy with a <c>scope</c>) a policy must scan before
/// <paramref name="MaxDeleteFraction"/> applies, 1 or more; below it only <paramref name="MaxDeleteCount"/> does (one
/// stale group out of one is 100 %, and says nothing about the catalog). Default 20.
/// </param>
/// <param name="RefuseEmptyKeep">
/// Refuse a <c>retention</c> policy whose keep query returns no rows (or only rows that render to no key). Default
/// off: an empty keep set is normal (no job in progress keeps nothing), and <c>max_age</c> alone decides.
/// </param>
public sealed record GuardOptions(
    double MaxDeleteFraction,
    long MaxDeleteCount,
    bool RefuseEmptyReferences,
    TimeSpan MinAgeFloor,
    long MinGroupsForFraction = GuardOptions.DefaultMinGroupsForFraction,
    bool RefuseEmptyKeep = false)
{
    /// <summary>The default of <see cref="MinGroupsForFraction"/>: 20 groups.</summary>
    public const long DefaultMinGroupsForFraction = 20;

    /// <summary>The defaults: 10 %, 100000 objects, refuse empty references, 1 h floor, 20 groups before the fraction applies, empty keep allowed.</summary>
    public static GuardOptions Default { get; } = new(0.10, 100_000, true, TimeSpan.FromHours(1));
}

/// <summary>Evaluates guards over plans. Pure: no I/O.</summary>
public static class GuardEvaluator
{
    /// <summary>Guard name: the references query returned no rows.</summary>
    public const string RefuseEmptyReferences = "refuse_empty_references";

    /// <summary>Guard name: the keep query of a retention policy returned no rows.</summary>
    public const string RefuseEmptyKeep = "refuse_empty_keep";

    /// <summary>Guard name: the share of groups removed.</summary>
    public const string MaxDeleteFraction = "max_delete_fraction";

    /// <summary>Guard name: the number of objects removed by the plan.</summary>
    public const string MaxDeleteCount = "max_delete_count";

    /// <summary>Guard name: a grace period below the floor without <c>--force</c>.</summary>
    public const string MinAgeFloor = "min_age_floor";

    /// <summary>Adds the per-policy verdicts to <paramref name="policy"/>.</summary>
    /// <param name="policy">A finished policy plan.</param>
    /// <param name="options">The thresholds.</param>
    /// <param name="force">Whether <c>--force</c> was given (allows a grace period below the floor; nothing else).</param>
    public static void EvaluatePolicy(PolicyPlan policy, GuardOptions options, bool force)
    {
        var totals = policy.Totals;
        if (policy.ReferencesRequired)
        {
            EvaluateEmptyQuery(policy, options);
        }

        if (policy.FractionGuarded)
        {
            var fraction = totals.GroupsScanned == 0 ? 0 : (double)totals.GroupsOrphaned / totals.GroupsScanned;
            policy.Guards.Add(
                totals.GroupsScanned < options.MinGroupsForFraction
                ? new GuardVerdict(MaxDeleteFraction, true,
                    Invariant($"{totals.GroupsOrphaned} of {totals.GroupsScanned} groups ({fraction:P1}); fewer than min_groups_for_fraction {options.MinGroupsForFraction} scanned, so only max_delete_count applies"))
                : fraction > options.MaxDeleteFraction
                ? new GuardVerdict(MaxDeleteFraction, false,
                    Invariant($"the plan removes {totals.GroupsOrphaned} of {totals.GroupsScanned} groups ({fraction:P1}), more than max_delete_fraction {options.MaxDeleteFraction:P1}"))
                : new GuardVerdict(MaxDeleteFraction, true,
                    Invariant($"{totals.GroupsOrphaned} of {totals.GroupsScanned} groups ({fraction:P1}) within {options.MaxDeleteFraction:P1}")));
        }

        // A records policy selects rows, not ages: no grace period to hold to the floor.
        if (policy.Type != PolicyKind.Records && policy.MinAge < options.MinAgeFloor)
        {
            policy.Guards.Add(force
                ? new GuardVerdict(MinAgeFloor, true, Invariant($"min_age {Duration.Format(policy.MinAge)} is below the floor {Duration.Format(options.MinAgeFloor)}; allowed by --force"))
                : new GuardVerdict(MinAgeFloor, false, Invariant($"min_age {Duration.Format(policy.MinAge)} is below min_age_floor {Duration.Format(options.MinAgeFloor)}: uploads whose row is not written yet could be removed; pass --force to accept")));
        }
    }

    /// <summary>
    /// An empty references query is implausible (everything would look orphaned) and refuses by default; an empty
    /// keep query is normal (nothing in progress) and refuses only when the policy opts in.
    /// </summary>
    private static void EvaluateEmptyQuery(PolicyPlan policy, GuardOptions options)
    {
        var totals = policy.Totals;
        var keep = policy.Type == PolicyKind.Retention;
        var (guard, refuse, query) = keep
            ? (RefuseEmptyKeep, options.RefuseEmptyKeep, "keep")
            : (RefuseEmptyReferences, options.RefuseEmptyReferences, "references");

        // Rows that render to no key (all NULL, empty, a '/' in a one-segment value) protect nothing: a query
        // returning only those is as empty as one returning no rows. Of a list, each query is judged on its own: one
        // application's table read empty is implausible whatever the others return.
        var rendered = totals.ReferencesRead - totals.ReferencesUnrenderable;
        var empty = totals.ReferencesRead == 0
            ? Invariant($"the {query} query returned no rows")
            : rendered <= 0
            ? Invariant($"the {query} query returned {totals.ReferencesRead} rows but none renders to a key the layout can match (NULL, empty, or a '/' inside a one-segment value)")
            : null;
        for (var i = 0; empty is null && i < totals.Queries.Count; i++)
        {
            var part = totals.Queries[i];
            var which = Invariant($"the {query} query {i + 1} of {totals.Queries.Count} (catalog '{part.Catalog}')");
            empty = part.Read == 0
                ? $"{which} returned no rows"
                : part.Read - part.Unrenderable <= 0
                ? Invariant($"{which} returned {part.Read} rows but none renders to a key the layout can match (NULL, empty, or a '/' inside a one-segment value)")
                : null;
        }
        if (empty is null)
        {
            if (refuse)
            {
                policy.Guards.Add(new GuardVerdict(guard, true, Invariant($"{totals.ReferencesRead} {(keep ? "keep rows" : "references")} read")));
            }

            return;
        }

        if (!refuse)
        {
            if (keep)
            {
                // Recorded as a passing verdict so that a plan shows why an idle keep query did not stop it.
                policy.Guards.Add(new GuardVerdict(guard, true,
                    $"{empty}: nothing is kept, and groups older than max_age go (an empty keep set is normal; set guards.refuse_empty_keep: true on the policy to refuse instead)"));
            }

            return;
        }

        var hint = rendered <= 0 && totals.ReferencesRead > 0
            ? "check that the query's columns are named like the layout's variables and hold the values the keys use, "
            : "check the catalog and query, ";
        policy.Guards.Add(keep
            ? new GuardVerdict(guard, false,
                $"{empty}: with nothing kept every group older than max_age would go; {hint}or set guards.refuse_empty_keep: false on the policy")
            : new GuardVerdict(guard, false,
                $"{empty}: with nothing referenced every group would look orphaned; {hint}or set guards.refuse_empty_references: false"));
    }

    /// <summary>
    /// Adds the whole-plan verdicts to <paramref name="plan"/>. Only the policies that pass their own guards count
    /// towards <c>max_delete_count</c>: a refused policy removes nothing.
    /// </summary>
    /// <param name="plan">A plan whose policies are evaluated.</param>
    /// <param name="options">The thresholds.</param>
    public static void EvaluatePlan(Plan plan, GuardOptions options)
    {
        var objects = plan.ObjectsAccepted;
        plan.Guards.Add(objects > options.MaxDeleteCount
            ? new GuardVerdict(MaxDeleteCount, false, Invariant($"the plan removes {objects} objects, more than max_delete_count {options.MaxDeleteCount}"))
            : new GuardVerdict(MaxDeleteCount, true, Invariant($"{objects} objects within {options.MaxDeleteCount}")));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
