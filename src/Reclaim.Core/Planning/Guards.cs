using System.Globalization;

namespace Reclaim.Core.Planning;

/// <summary>
/// Thresholds that refuse a whole policy or plan rather than do damage (SPEC "guards"; SAFETY invariant 4).
/// </summary>
/// <param name="MaxDeleteFraction">Per policy: refuse when the plan removes more than this share of the groups scanned, 0..1. Default 0.10.</param>
/// <param name="MaxDeleteCount">Per plan: refuse when the plan removes more objects than this. Default 100000.</param>
/// <param name="RefuseEmptyReferences">Refuse a policy whose references query returns no rows, or only rows that render to no key. Default on.</param>
/// <param name="MinAgeFloor">A grace period below this needs <c>--force</c>. Default 1 hour.</param>
public sealed record GuardOptions(double MaxDeleteFraction, long MaxDeleteCount, bool RefuseEmptyReferences, TimeSpan MinAgeFloor)
{
    /// <summary>The defaults named in SPEC: 10 %, 100000 objects, refuse empty references, 1 h floor.</summary>
    public static GuardOptions Default { get; } = new(0.10, 100_000, true, TimeSpan.FromHours(1));
}

/// <summary>Evaluates guards over plans. Pure: no I/O.</summary>
public static class GuardEvaluator
{
    /// <summary>Guard name: the references query returned no rows.</summary>
    public const string RefuseEmptyReferences = "refuse_empty_references";

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
        if (options.RefuseEmptyReferences && policy.ReferencesRequired)
        {
            // Rows that render to no key (all NULL, empty, a '/' in a one-segment value) protect nothing: a query
            // returning only those is as empty as one returning no rows.
            var rendered = totals.ReferencesRead - totals.ReferencesUnrenderable;
            policy.Guards.Add(totals.ReferencesRead == 0
                ? new GuardVerdict(RefuseEmptyReferences, false,
                    "the references query returned no rows: with nothing referenced every group would look orphaned; " +
                    "check the catalog and query, or set guards.refuse_empty_references: false")
                : rendered <= 0
                ? new GuardVerdict(RefuseEmptyReferences, false,
                    Invariant($"the references query returned {totals.ReferencesRead} rows but none renders to a key the layout can match ") +
                    "(NULL, empty, or a '/' inside a one-segment value): with nothing referenced every group would look orphaned; " +
                    "check that the query's columns are named like the layout's variables and hold the values the keys use, " +
                    "or set guards.refuse_empty_references: false")
                : new GuardVerdict(RefuseEmptyReferences, true, Invariant($"{totals.ReferencesRead} references read")));
        }

        if (policy.FractionGuarded)
        {
            var fraction = totals.GroupsScanned == 0 ? 0 : (double)totals.GroupsOrphaned / totals.GroupsScanned;
            policy.Guards.Add(fraction > options.MaxDeleteFraction
                ? new GuardVerdict(MaxDeleteFraction, false,
                    Invariant($"the plan removes {totals.GroupsOrphaned} of {totals.GroupsScanned} groups ({fraction:P1}), more than max_delete_fraction {options.MaxDeleteFraction:P1}"))
                : new GuardVerdict(MaxDeleteFraction, true,
                    Invariant($"{totals.GroupsOrphaned} of {totals.GroupsScanned} groups ({fraction:P1}) within {options.MaxDeleteFraction:P1}")));
        }

        // A records policy selects rows, not ages: no grace period to hold to the floor.
        if (policy.Type != "records" && policy.MinAge < options.MinAgeFloor)
        {
            policy.Guards.Add(force
                ? new GuardVerdict(MinAgeFloor, true, Invariant($"min_age {Duration.Format(policy.MinAge)} is below the floor {Duration.Format(options.MinAgeFloor)}; allowed by --force"))
                : new GuardVerdict(MinAgeFloor, false, Invariant($"min_age {Duration.Format(policy.MinAge)} is below min_age_floor {Duration.Format(options.MinAgeFloor)}: uploads whose row is not written yet could be removed; pass --force to accept")));
        }
    }

    /// <summary>Adds the whole-plan verdicts to <paramref name="plan"/>.</summary>
    /// <param name="plan">A plan whose policies are evaluated.</param>
    /// <param name="options">The thresholds.</param>
    public static void EvaluatePlan(Plan plan, GuardOptions options)
    {
        var objects = plan.ObjectsProposed;
        plan.Guards.Add(objects > options.MaxDeleteCount
            ? new GuardVerdict(MaxDeleteCount, false, Invariant($"the plan removes {objects} objects, more than max_delete_count {options.MaxDeleteCount}"))
            : new GuardVerdict(MaxDeleteCount, true, Invariant($"{objects} objects within {options.MaxDeleteCount}")));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
