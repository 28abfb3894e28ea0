using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Plan verification: a plan (a file, or one just made) is applied only as the current config would make it — every
/// policy still defined as when it was planned (<see cref="PolicyDefinition"/>), its action, store, layout and groups
/// what that policy makes, and the guards evaluated again on what it actually proposes.
/// </summary>
/// <param name="config">The current config.</param>
internal sealed class PlanVerifier(ReclaimConfig config)
{
    private ReclaimConfig Config => config;

    /// <summary>Checks <paramref name="plan"/> against the config and evaluates its guards again (in place).</summary>
    /// <param name="plan">A plan.</param>
    /// <exception cref="PlanFileException">
    /// The plan names a policy the config lacks or defines differently now, or its action or groups are not what
    /// that policy makes (an edited or damaged plan file).
    /// </exception>
    public void Verify(Plan plan)
    {
        foreach (var policyPlan in plan.Policies)
        {
            var policy = Config.Policies.FirstOrDefault(p => string.Equals(p.Name, policyPlan.Policy, StringComparison.Ordinal))
                ?? throw new PlanFileException($"the plan's policy '{policyPlan.Policy}' is not in {Config.Path}");
            policy = Effective(policy, policyPlan);
            if (!string.Equals(PolicyDefinition.Fingerprint(policy), policyPlan.Definition, StringComparison.Ordinal))
            {
                throw new PlanFileException($"policy '{policy.Name}' has changed in {Config.Path} since the plan was made; make a new plan");
            }

            CheckPlanMatchesPolicy(policyPlan, policy);
        }

        ReevaluateGuards(plan);
    }

    /// <summary>The policy as its plan was made: with the plan's <c>max_age</c> override, if it has one.</summary>
    /// <typeparam name="T">The policy's type.</typeparam>
    /// <param name="policy">The configured policy.</param>
    /// <param name="policyPlan">Its plan.</param>
    /// <returns>The policy the plan was made from.</returns>
    public static T Effective<T>(T policy, PolicyPlan policyPlan)
        where T : PolicyConfig =>
        policy is RetentionPolicy retention && policyPlan.MaxAgeOverride is { } maxAge && maxAge > TimeSpan.Zero ? (T)(PolicyConfig)(retention with { MaxAge = maxAge }) : policy;

    /// <summary>
    /// Refuses a policy's plan whose parts the definition's fingerprint does not cover but the gate acts on: the
    /// action, and each group's key, values and objects, which must be what the layout makes of those objects. An
    /// edited or damaged plan file could otherwise name a referenced folder under an orphan's values (the re-check
    /// looks the values up), or an unmatched or trash key.
    /// </summary>
    /// <exception cref="PlanFileException">Something does not match; nothing has been touched.</exception>
    private void CheckPlanMatchesPolicy(PolicyPlan policyPlan, PolicyConfig policy)
    {
        if (policy is not LayoutPolicy layoutPolicy)
        {
            // A row's objects are rendered again from its columns at apply time, and the row is looked up in the
            // catalog again: the plan file's keys are not trusted. Only the action and store must agree.
            if (policyPlan.Action != policy.Action || !string.Equals(policyPlan.Store, policy.Store, StringComparison.Ordinal) ||
                policyPlan.Rows.Any(r => r.Columns is null))
            {
                throw new PlanFileException($"the plan's policy '{policy.Name}' does not match {Config.Path} (action, store or rows): the plan file was edited or damaged; make a new plan");
            }

            return;
        }

        var layout = layoutPolicy.Layout;
        string Mismatch(string what) => $"the plan's policy '{policy.Name}' {what}: the plan file was edited or damaged; make a new plan";
        if (policyPlan.Action != policy.Action || !string.Equals(policyPlan.Store, policy.Store, StringComparison.Ordinal) ||
            !string.Equals(policyPlan.Layout, layout.Template, StringComparison.Ordinal))
        {
            throw new PlanFileException(Mismatch(
                $"says {Name(policyPlan.Action)} in store '{policyPlan.Store}' by layout '{policyPlan.Layout}', " +
                $"but {Config.Path} says {Name(policy.Action)} in store '{policy.Store}' by layout '{layout.Template}'"));
        }

        foreach (var group in policyPlan.Groups)
        {
            string? problem = null;
            if (group.GroupKey is null || group.Values is null || group.Objects is null)
            {
                throw new PlanFileException(Mismatch("has a group without its key, values or objects"));
            }

            try
            {
                if (!layout.ExtractValues(group.GroupKey).AsSpan().SequenceEqual(group.Values))
                {
                    problem = $"its values ({string.Join(", ", group.Values.Select(v => $"'{ObjectKey.Printable(v ?? "null")}'"))}) are not the key's";
                }
            }
            catch (ArgumentException)
            {
                problem = $"the layout '{layout.Template}' makes no such group";
            }

            problem ??= group.Objects
                .Where(o => ObjectKey.Validate(o.Key) is not null || ObjectKey.IsUnder(o.Key, Config.Trash.Prefix) ||
                            !string.Equals(layout.MatchGroup(o.Key), group.GroupKey, StringComparison.Ordinal))
                .Select(o => $"its object '{ObjectKey.Printable(o.Key ?? "null")}' is not in that group by the layout '{layout.Template}'")
                .FirstOrDefault();
            if (problem is not null)
            {
                throw new PlanFileException(Mismatch($"has the group '{ObjectKey.Printable(group.GroupKey)}', but {problem}"));
            }
        }

        static string Name(ActionKind action) => action.ToString().ToLowerInvariant();
    }

    /// <summary>
    /// Evaluates the guards again, under the current config, on what the plan file actually proposes (its groups
    /// and their objects), so an edited verdict or total in the file cannot pass a guard. A grace period the
    /// plan accepted with <c>--force</c> stays accepted.
    /// </summary>
    private void ReevaluateGuards(Plan plan)
    {
        foreach (var policyPlan in plan.Policies)
        {
            var forced = policyPlan.Guards.Any(g => g.Guard == GuardEvaluator.MinAgeFloor && g.Passed);
            var kept = policyPlan.Guards.Where(g => g.Guard == RecordsPlanner.ObjectsGuard && !g.Passed).ToList();
            var totals = policyPlan.Totals;
            totals.GroupsOrphaned = Math.Max(totals.GroupsOrphaned, policyPlan.Groups.Count + policyPlan.Rows.Count);
            totals.ObjectsOrphaned = Math.Max(totals.ObjectsOrphaned, policyPlan.Groups.Sum(g => (long)g.Objects.Count) + policyPlan.Rows.Sum(r => (long)r.Objects.Count));
            totals.GroupsScanned = Math.Max(totals.GroupsScanned, totals.GroupsOrphaned);
            policyPlan.Guards.Clear();
            policyPlan.Guards.AddRange(kept);
            var policy = Config.Policies.First(p => string.Equals(p.Name, policyPlan.Policy, StringComparison.Ordinal));
            GuardEvaluator.EvaluatePolicy(policyPlan, policy.Guards ?? Config.Guards, forced);
        }

        plan.Guards.Clear();
        GuardEvaluator.EvaluatePlan(plan, Config.Guards);
    }
}
