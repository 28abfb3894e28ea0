using System.Globalization;
using Reclaim.Core;
using Reclaim.Core.Planning;
using Reclaim.Core.References;
using Reclaim.Core.State;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Two-sighting confirmation (a policy's <c>confirm_after</c>): of the groups a plan found orphaned, only those also
/// orphaned in a plan made at least <c>confirm_after</c> before stay proposed; the others are held (kept, counted in
/// <see cref="PolicyTotals.GroupsUnconfirmed"/>) and their first sighting is recorded. It protects against a lagging
/// read replica and an application that writes its row late, at the cost of one more plan.
/// </summary>
public static class SightingConfirmation
{
    /// <summary>Records this plan's sightings and removes the groups not confirmed yet from <paramref name="policyPlan"/>.</summary>
    /// <param name="policyPlan">An orphans or retention policy's plan, before its guards are evaluated.</param>
    /// <param name="sightings">The state's sightings; <see langword="null"/> when the state keeps none (every group is then held).</param>
    /// <param name="confirmAfter">The policy's <c>confirm_after</c>, positive.</param>
    /// <param name="now">The plan's time.</param>
    /// <param name="cancellationToken">Cancels the state's write.</param>
    /// <returns>A task.</returns>
    public static async Task ApplyAsync(PolicyPlan policyPlan, ISightings? sightings, TimeSpan confirmAfter, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policyPlan);
        var fingerprints = policyPlan.Groups.Select(g => KeyFingerprint.Of(g.GroupKey)).ToList();
        var first = sightings is null
            ? fingerprints.Distinct().ToDictionary(f => f, _ => now)
            : await sightings.SightAsync(policyPlan.Policy, fingerprints, now, cancellationToken);
        var totals = policyPlan.Totals;

        // The groups are read as a stream (a large plan's are spooled on disk) and the confirmed ones written to a new
        // sequence held the same way.
        var kept = policyPlan.Groups.CreateEmpty();
        long held = 0;
        var latest = DateTimeOffset.MinValue;
        var i = 0;
        foreach (var group in policyPlan.Groups)
        {
            var seen = first[fingerprints[i++]];
            if (now - seen >= confirmAfter)
            {
                kept.Add(group with { Reason = $"{group.Reason}; confirmed: orphaned since a plan {Duration.Format(now - seen)} before (confirm_after {Duration.Format(confirmAfter)})" });
                continue;
            }

            held++;
            latest = seen > latest ? seen : latest;
            totals.GroupsOrphaned--;
            totals.ObjectsOrphaned -= group.Objects.Count;
            totals.BytesReclaimable -= group.Bytes;
        }

        if (held == 0)
        {
            return;
        }

        totals.GroupsUnconfirmed += held;
        policyPlan.Groups = kept;
        policyPlan.Warnings.Add(string.Create(CultureInfo.InvariantCulture,
            $"{held} orphaned groups are held by confirm_after {Duration.Format(confirmAfter)}: orphaned in no plan at least that long before; the first plan from {(latest + confirmAfter).UtcDateTime:yyyy-MM-dd HH:mm:ss}Z on proposes those still orphaned"));
    }
}
