using Reclaim.Core.Planning;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;

namespace Reclaim.Engine.Runs;

/// <summary>What a run's summary in state says (<see cref="RunSummary"/>), made from the gate's totals and the plan.</summary>
internal static class RunSummaries
{
    /// <summary>
    /// The run's summary as recorded: what the gate did, and for a plan's policies what the plan found and why
    /// the rest was kept (referenced or kept by query, too young, unmatched), with a sample of keys.
    /// </summary>
    /// <param name="totals">The run's totals.</param>
    /// <param name="parts">Totals per policy (per store for a restore or purge).</param>
    /// <param name="plan">The plan the run applied, or <see langword="null"/>.</param>
    /// <param name="durationMs">How long the run took, in milliseconds, or <see langword="null"/>.</param>
    /// <returns>The summary's JSON.</returns>
    public static string Of(GateTotals totals, IReadOnlyDictionary<string, GateTotals> parts, Plan? plan = null, long? durationMs = null) => new RunSummary
    {
        Refused = plan is { Refused: true } ? RefusalReasons(plan) : null,
        ObjectsDone = totals.ObjectsDone,
        BytesDone = totals.BytesDone,
        ObjectsSkipped = totals.ObjectsSkipped,
        GroupsSkipped = totals.GroupsSkipped,
        ObjectsFailed = totals.ObjectsFailed,
        SampleErrors = [.. totals.SampleErrors],
        ObjectsPending = totals.ObjectsPending > 0 ? totals.ObjectsPending : null,
        NotStarted = totals.Stopped ? totals.GroupsNotStarted : null,
        RecheckWindowMs = totals.RecheckWindowsMs.Count == 0 ? null : new RecheckWindowSummary
        {
            SubBatches = totals.RecheckWindowsMs.Count,
            Median = Math.Round(totals.RecheckWindowMedianMs!.Value, 3),
            Max = Math.Round(totals.RecheckWindowMaxMs!.Value, 3),
        },
        DurationMs = durationMs,
        Parts = parts.ToDictionary(p => p.Key, p =>
        {
            var planned = plan?.Policies.FirstOrDefault(x => x.Policy == p.Key);
            return new RunPartSummary
            {
                ObjectsDone = p.Value.ObjectsDone,
                BytesDone = p.Value.BytesDone,
                ObjectsSkipped = p.Value.ObjectsSkipped,
                ObjectsFailed = p.Value.ObjectsFailed,
                Refused = planned?.Refused == true ? [.. planned.Guards.Where(g => !g.Passed).Select(g => $"{g.Guard}: {g.Message}")] : null,
                Planned = planned is null ? null : new PlannedPartSummary
                {
                    Type = planned.Type,
                    ObjectsScanned = planned.Totals.ObjectsScanned,
                    GroupsScanned = planned.Totals.GroupsScanned,
                    GroupsProposed = planned.Totals.GroupsOrphaned,
                    KeptReferenced = planned.Totals.GroupsReferenced,
                    KeptTooYoung = planned.Totals.GroupsTooYoung,
                    ObjectsUnmatched = planned.Totals.ObjectsUnmatched,
                    PlanDurationMs = planned.Totals.DurationMs,
                    Sample = [.. planned.Groups.Take(5).Select(g => g.GroupKey).Concat(planned.Rows.Take(5).Select(r => "row " + RecordsPlanner.Label(r.Columns)))],
                },
            };
        }, StringComparer.Ordinal),
    }.ToJson();

    /// <summary>
    /// Every refusing verdict of a plan, one line each: <c>guard: message</c> for the plan's own guards and
    /// <c>policy 'NAME': guard: message</c> for a policy's; empty when nothing was refused.
    /// </summary>
    /// <param name="plan">A plan with its verdicts.</param>
    /// <returns>The lines, plan guards first, then the policies in plan order.</returns>
    public static IReadOnlyList<string> RefusalReasons(Plan plan) =>
    [
        .. plan.Guards.Where(g => !g.Passed).Select(g => $"{g.Guard}: {g.Message}"),
        .. plan.Policies.SelectMany(p => p.Guards.Where(g => !g.Passed).Select(g => $"policy '{p.Policy}': {g.Guard}: {g.Message}")),
    ];
}
