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
            await ReadRunsAsync(ranges, removal, batch, byGroup, pageKeys, cancellationToken);
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

    /// <summary>
    /// Reads the sub-batch's range in requests that skip what lies between its groups where that costs no extra
    /// request: each request starts at the first group not yet read to its end (S3's <c>StartAfter</c>), and reads at
    /// most a page. Once the first request has shown how the sub-batch's groups lie among the other keys — runs of
    /// keys in its groups, gaps of other keys — and a run with its gap spans about a page or more (orphans that come
    /// in clusters: a deleted tenant's objects), each request asks for about one run's keys
    /// (<see cref="KeyRange.PageKeys"/>) and the next one starts at the next group: one request a run, about as many
    /// as full pages would need (at most a third more), without reading the gaps. Otherwise requests are full pages, each from the next group on, so
    /// a gap of a page or more is skipped for nothing.
    /// </summary>
    /// <remarks>
    /// Every key of every group of the sub-batch is listed from the live store, and kept once: the next request starts
    /// at the first group not seen to its end (a per-object group ends with its one key, a folder group at the first
    /// key past it), and a folder group that a request stopped inside is read again whole (what was read of it is
    /// dropped). A request stops only once it has finished a group, so a group larger than the request size is read
    /// in several pages of one listing, and the re-read always moves on. Keys between the groups are the only ones
    /// not read: they are in no group of the sub-batch, and the re-read ignored them before too.
    /// </remarks>
    private static async Task ReadRunsAsync(IRangeListing ranges, GroupRemoval removal, List<PlannedGroup> batch, Dictionary<string, List<StoredObject>> byGroup, int pageKeys, CancellationToken cancellationToken)
    {
        var folders = removal.Layout.IsFolder;
        var runs = new RunShape();
        var next = 0;
        while (next < batch.Count)
        {
            var start = next;
            var limit = runs.RequestKeys(pageKeys);
            byGroup[batch[start].GroupKey].Clear();
            var read = 0;
            var stopped = false;
            runs.StartRequest();
            await foreach (var item in ranges.ListRangeAsync(new KeyRange(batch[start].GroupKey, batch[^1].GroupKey) { PageKeys = limit }, cancellationToken))
            {
                read++;

                // Groups the listing has passed are read to their end (or gone).
                while (next < batch.Count && Passed(item.Key, batch[next].GroupKey, folders))
                {
                    next++;
                }

                var inGroup = removal.Layout.MatchGroup(item.Key) is { } group && byGroup.TryGetValue(group, out var objects) && Add(objects, item);
                runs.Observe(inGroup);
                if (inGroup && !folders && next < batch.Count && string.Equals(batch[next].GroupKey, item.Key, StringComparison.Ordinal))
                {
                    // A per-object group's one key: the group is complete.
                    next++;
                }

                // Stop when every group is read, or once the request's keys are read and a group has been finished
                // (so the next request starts further on).
                if (next >= batch.Count || (read >= limit && next > start))
                {
                    stopped = true;
                    break;
                }
            }

            runs.EndRequest(limit == pageKeys);

            if (!stopped)
            {
                // The listing reached the range's end: every group left is read (or gone).
                break;
            }
        }

        static bool Add(List<StoredObject> objects, StoredObject item)
        {
            objects.Add(item);
            return true;
        }
    }

    /// <summary>Whether a listing in key order that has reached <paramref name="key"/> has read every key of the group <paramref name="groupKey"/>.</summary>
    private static bool Passed(string key, string groupKey, bool folder) => folder
        ? ObjectKey.Comparer.Compare(key, groupKey) > 0 && !key.StartsWith(groupKey, StringComparison.Ordinal)
        : ObjectKey.Comparer.Compare(key, groupKey) > 0;

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

/// <summary>
/// How a sub-batch's groups lie among the other keys, as its re-read has seen them: runs of keys in its groups and
/// the gaps of other keys between them, and from that how many keys the next request asks for.
/// </summary>
/// <remarks>
/// A gap is measured where a run follows it within one request; a gap still open when a full page ends counts with
/// the length read (at least that long); one a shorter request ends in is not counted, since that request stopped
/// early by design. Nothing is assumed of what lies between two requests.
/// </remarks>
internal sealed class RunShape
{
    private long _runKeys;
    private long _gapKeys;
    private int _runs;
    private int _gaps;
    private int _longestRun;
    private int _run;
    private int _gap;
    private bool _inRun;

    /// <summary>
    /// Starts a request, from the first group not yet read. After a request that ended in a run, that run is taken to
    /// go on (a run longer than the request asked for then makes the next ones ask for more); after one that ended in
    /// a gap, nothing is assumed of what lies between the two.
    /// </summary>
    public void StartRequest()
    {
        if (!_inRun)
        {
            _run = 0;
        }

        _gap = 0;
    }

    /// <summary>Counts one listed key, in one of the sub-batch's groups or not.</summary>
    /// <param name="inGroup">Whether the key is in one of the sub-batch's groups.</param>
    public void Observe(bool inGroup)
    {
        if (inGroup)
        {
            if (!_inRun)
            {
                if (_gap > 0)
                {
                    CountGap();
                }

                _runs++;
                _run = 0;
                _inRun = true;
            }

            _runKeys++;
            _longestRun = Math.Max(_longestRun, ++_run);
        }
        else
        {
            _inRun = false;
            _gap++;
        }
    }

    /// <summary>Ends a request; <paramref name="fullPage"/> when it asked for a full page, so that a gap it ended in counts with the length read.</summary>
    /// <param name="fullPage">Whether the request asked for the store's largest page.</param>
    public void EndRequest(bool fullPage)
    {
        if (fullPage && _gap > 0 && _runs > 0)
        {
            CountGap();
        }

        _gap = 0;
    }

    /// <summary>
    /// The keys the next request asks for: <paramref name="pageKeys"/> (a full page) until a run and a gap have both
    /// been seen, and while the average run with its gap spans less than three quarters of a page (reading by runs,
    /// one request a run, would then take more than a third more requests than reading pages); otherwise the longest
    /// run seen and a quarter more, so that the next run most likely fits in one request and little of the gap after
    /// it is read.
    /// </summary>
    /// <param name="pageKeys">A full page, the store's largest (1000 on S3).</param>
    /// <returns>From 1 to <paramref name="pageKeys"/>.</returns>
    public int RequestKeys(int pageKeys)
    {
        if (_runs == 0 || _gaps == 0)
        {
            return pageKeys;
        }

        var period = ((double)_runKeys / _runs) + ((double)_gapKeys / _gaps);
        return period * 4 < pageKeys * 3 ? pageKeys : Math.Clamp(_longestRun + Math.Max(2, _longestRun / 4), 1, pageKeys);
    }

    private void CountGap()
    {
        _gaps++;
        _gapKeys += _gap;
        _gap = 0;
    }
}
