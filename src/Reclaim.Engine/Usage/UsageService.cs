using System.Diagnostics;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Planning;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.Usage;

/// <summary>Usage: objects and bytes by prefix and store, what they cost, what the policies would reclaim, and usage by a layout variable.</summary>
/// <param name="workspace">The config's stores.</param>
/// <param name="timeProvider">The clock of the dry runs.</param>
/// <param name="planning">Plans the policies for what they would reclaim.</param>
internal sealed class UsageService(Workspace workspace, TimeProvider timeProvider, PlanMaker planning)
{
    private ReclaimConfig Config => workspace.Config;

    /// <summary>
    /// Objects and bytes by prefix: each key counts under its first <paramref name="depth"/> segments (or its
    /// folder, when it has fewer). The trash is reported as its own prefix.
    /// </summary>
    /// <param name="storeName">One store, or <see langword="null"/> for every store.</param>
    /// <param name="depth">Segments, 1 or more.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>One row per store and prefix, in key order. Memory grows with the number of distinct prefixes, not objects.</returns>
    public async Task<IReadOnlyList<UsageRow>> UsageAsync(string? storeName, int depth, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        if (storeName is not null && !Config.Stores.ContainsKey(storeName))
        {
            throw new UsageException($"no store named '{storeName}' in {Config.Path}");
        }

        var rows = new List<UsageRow>();
        foreach (var name in storeName is null ? Config.Stores.Keys.ToList() : [storeName])
        {
            var store = workspace.Store(name);
            var byPrefix = new SortedDictionary<string, UsageRow>(ObjectKey.Comparer);
            var clock = Stopwatch.StartNew();
            long scanned = 0;
            long bytes = 0;
            await foreach (var item in store.ListAsync(string.Empty, cancellationToken))
            {
                scanned++;
                bytes += item.Size;
                var prefix = ObjectKey.IsUnder(item.Key, Config.Trash.Prefix) ? Config.Trash.Prefix : PrefixAtDepth(item.Key, depth);
                byPrefix[prefix] = byPrefix.TryGetValue(prefix, out var row)
                    ? row with
                    {
                        Objects = row.Objects + 1,
                        Bytes = row.Bytes + item.Size,
                        Oldest = item.LastModified < row.Oldest ? item.LastModified : row.Oldest,
                        Newest = item.LastModified > row.Newest ? item.LastModified : row.Newest,
                    }
                    : new UsageRow(name, prefix, 1, item.Size, item.LastModified, item.LastModified);
                if (progress is not null && scanned % 10000 == 0)
                {
                    progress.Report(new ScanProgress(name, scanned, bytes, 0, clock.Elapsed));
                }
            }

            rows.AddRange(byPrefix.Values);
        }

        return rows;
    }

    /// <summary>
    /// The usage report: <see cref="UsageAsync(string?, int, IProgress{ScanProgress}?, CancellationToken)"/>'s prefixes, per-store totals
    /// with their monthly cost where <c>price_per_gb_month</c> is set, and, when <paramref name="reclaimable"/>,
    /// a dry run of every policy on those stores with what it would remove and save per month.
    /// </summary>
    /// <param name="storeName">One store, or <see langword="null"/> for every store.</param>
    /// <param name="depth">Prefix depth in segments, 1 or more.</param>
    /// <param name="reclaimable">Whether to plan the policies (a full dry run: as long as <c>reclaim plan</c>).</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The report.</returns>
    public async Task<UsageReport> UsageReportAsync(string? storeName, int depth, bool reclaimable, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var prefixes = await UsageAsync(storeName, depth, progress, cancellationToken);
        var stores = prefixes.GroupBy(r => r.Store, StringComparer.Ordinal).Select(g =>
        {
            var bytes = g.Sum(r => r.Bytes);
            var price = Config.Stores[g.Key].PricePerGbMonth;
            return new UsageStore(g.Key, g.Sum(r => r.Objects), bytes, price, Cost(bytes, price), Config.Stores[g.Key].Costs?.Provider);
        }).ToList();
        var savings = new List<UsageReclaimable>();
        if (reclaimable)
        {
            var names = Config.Policies
                .Where(p => PlanMaker.IsPlanned(p) && (storeName is null || p.Store == storeName))
                .Select(p => p.Name).ToList();
            if (names.Count > 0)
            {
                var plan = await planning.PlanAsync(names, force: false, PlanOptions.None, progress, cancellationToken);
                savings.AddRange(plan.Policies.Select(p => new UsageReclaimable(p.Policy, p.Store, p.Totals.ObjectsOrphaned, p.Totals.BytesReclaimable,
                    Cost(p.Totals.BytesReclaimable, Config.Stores[p.Store].PricePerGbMonth), p.Refused, p.Cost,
                    p.Cost is { } cost ? StorageCosts.Warnings(cost) : [])));
            }
        }

        return new UsageReport(prefixes, stores, savings);
    }

    /// <summary>
    /// Objects and bytes, referenced and reclaimable, per value of one layout variable (<c>reclaim usage --by org</c>),
    /// over every <c>orphans</c> and <c>retention</c> policy (of <paramref name="storeName"/>, when given) whose layout
    /// has it; see <see cref="VariableUsage"/>.
    /// </summary>
    /// <param name="storeName">One store, or <see langword="null"/> for every store.</param>
    /// <param name="variable">The variable, for example <c>org</c>.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The report, most reclaimable bytes first.</returns>
    /// <exception cref="UsageException">No such store, or no policy's layout has the variable (the message names those the layouts have).</exception>
    /// <exception cref="CatalogException">A references or keep query fails.</exception>
    public Task<VariableUsageReport> UsageByAsync(string? storeName, string variable, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        if (storeName is not null && !Config.Stores.ContainsKey(storeName))
        {
            throw new UsageException($"no store named '{storeName}' in {Config.Path}");
        }

        var policies = planning.Select([]).Where(p => storeName is null || string.Equals(p.Store, storeName, StringComparison.Ordinal)).ToList();
        var usage = new VariableUsage(timeProvider, workspace.Store, (policy, query, start) => policy is LayoutPolicy layoutPolicy ? planning.ProtectingCatalog(layoutPolicy, query, start) : workspace.Catalog(query.Catalog), store => Config.Stores[store].PricePerGbMonth);
        return usage.ReportAsync(policies, variable, Config.Trash.Prefix, progress, cancellationToken);
    }

    private static decimal? Cost(long bytes, decimal? pricePerGbMonth) =>
        pricePerGbMonth is { } price ? Math.Round(bytes / (decimal)(1L << 30) * price, 2) : null;

    private static string PrefixAtDepth(string key, int depth)
    {
        var position = -1;
        for (var i = 0; i < depth; i++)
        {
            var next = key.IndexOf('/', position + 1);
            if (next < 0)
            {
                return position < 0 ? "(root)" : key[..(position + 1)];
            }

            position = next;
        }

        return key[..(position + 1)];
    }
}
