using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;

namespace Reclaim.Engine.Gate;

/// <summary>The gate's reads for a sub-batch of groups: the store again (before intent), the catalog again (just before acting).</summary>
internal static class GroupRecheck
{
    /// <summary>
    /// What the store holds now for each group of <paramref name="batch"/> (groups in key order): by one range
    /// listing from the first group through the last when the store can (<see cref="IRangeListing"/>) and the range
    /// is dense enough, otherwise a listing per folder group or a stat per object, <paramref name="parallelism"/> at a time.
    /// </summary>
    /// <remarks>
    /// The range takes in every key between the sub-batch's groups too (referenced groups, unmatched keys), so its
    /// cost is about the planned objects times the share of scanned objects per proposed one (from the plan's totals),
    /// in pages of <paramref name="pageKeys"/>. It is used when those pages are no more than the requests a group-by-group
    /// re-read makes (one per folder group, or one per object): at 10 % orphans, ten pages instead of a thousand HEADs.
    /// </remarks>
    /// <returns>Every group key of the batch, with the objects found under it (possibly none).</returns>
    public static async Task<Dictionary<string, List<StoredObject>>> RereadAsync(GroupRemoval removal, List<PlannedGroup> batch, int pageKeys, int parallelism, CancellationToken cancellationToken)
    {
        var byGroup = batch.ToDictionary(g => g.GroupKey, _ => new List<StoredObject>(), StringComparer.Ordinal);
        if (removal.Store is IRangeListing ranges && RangePays(removal, batch, pageKeys))
        {
            await foreach (var item in ranges.ListRangeAsync(new KeyRange(batch[0].GroupKey, batch[^1].GroupKey), cancellationToken))
            {
                if (removal.Layout.MatchGroup(item.Key) is { } group && byGroup.TryGetValue(group, out var objects))
                {
                    objects.Add(item);
                }
            }

            return byGroup;
        }

        await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (group, token) =>
        {
            var objects = byGroup[group.GroupKey];
            if (removal.Layout.IsFolder)
            {
                await foreach (var item in removal.Store.ListAsync(group.GroupKey, token))
                {
                    objects.Add(item);
                }

                return;
            }

            foreach (var planned in group.Objects)
            {
                if (await removal.Store.StatAsync(planned.Key, token) is { } found)
                {
                    objects.Add(found);
                }
            }
        });
        return byGroup;
    }

    private static bool RangePays(GroupRemoval removal, List<PlannedGroup> batch, int pageKeys)
    {
        var objects = batch.Sum(g => (long)g.Objects.Count);
        var totals = removal.Plan.Totals;
        var scannedPerProposed = Math.Max(1.0, (double)totals.ObjectsScanned / Math.Max(1, totals.ObjectsOrphaned));
        var pages = Math.Ceiling(objects * scannedPerProposed / pageKeys);
        var requests = removal.Layout.IsFolder ? batch.Count : objects;
        return pages <= requests;
    }
}

/// <summary>
/// The protection of a sub-batch of groups: its policy's references (orphans) or keep (retention) query, run again
/// for just the groups about to be acted on. A group some row renders to now is protected whole.
/// </summary>
/// <param name="removal">The policy's removal (catalog, query, layout).</param>
/// <param name="batch">The sub-batch's groups (their values are the query's parameters).</param>
internal sealed class GroupReferences(GroupRemoval removal, IReadOnlyList<PlannedGroup> batch) : IProtection
{
    /// <inheritdoc/>
    public async Task<IReadOnlyDictionary<string, string>> FindProtectedAsync(IReadOnlyList<ActionRecord> acting, CancellationToken cancellationToken)
    {
        var acted = acting.Select(a => a.GroupKey).ToHashSet(StringComparer.Ordinal);
        var groups = batch.Where(g => acted.Contains(g.GroupKey)).ToList();
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var query in removal.Rechecked)
        {
            // A group one query of a list found is protected already: the next ones are asked only about the rest.
            foreach (var part in groups.Where(g => !referenced.Contains(g.GroupKey)).Chunk(DestructiveGate.MaxGroupsPerRecheck))
            {
                var rows = await query.Catalog.FindAsync(query.Query, removal.Layout.Variables, part.Select(g => g.Values).ToList(), cancellationToken);
                foreach (var row in rows)
                {
                    if (removal.Layout.Render(row) is { } key)
                    {
                        referenced.Add(key);
                    }
                }
            }
        }

        var reason = removal.Plan.Type == PolicyKind.Retention
            ? "kept now: the catalog's re-check found a keep row for the group"
            : "referenced now: the catalog's re-check found a reference to the group";
        return acting.Where(a => referenced.Contains(a.GroupKey)).ToDictionary(a => a.Key, _ => reason, StringComparer.Ordinal);
    }
}

/// <summary>
/// The store's protections (<see cref="StoreProtections"/>) as an explicit removal's protection check: each key is
/// mapped to its group by each protecting policy's layout and looked up again; what protects a kept object is added
/// to <paramref name="totals"/> (<see cref="GateTotals.ObjectsProtected"/>, <see cref="GateTotals.SampleProtected"/>).
/// </summary>
/// <param name="protections">The store's protections.</param>
/// <param name="totals">The removal's totals.</param>
internal sealed class StoreProtectionCheck(StoreProtections protections, GateTotals totals) : IProtection
{
    /// <inheritdoc/>
    public async Task<IReadOnlyDictionary<string, string>> FindProtectedAsync(IReadOnlyList<ActionRecord> acting, CancellationToken cancellationToken)
    {
        var found = await protections.FindAsync([.. acting.Select(a => a.Key)], cancellationToken);
        foreach (var (key, by) in found)
        {
            totals.ObjectsProtected++;
            if (totals.SampleProtected.Count < 10)
            {
                totals.SampleProtected.Add((key, by));
            }
        }

        return found.ToDictionary(f => f.Key, f => f.Value.Reason, StringComparer.Ordinal);
    }
}
