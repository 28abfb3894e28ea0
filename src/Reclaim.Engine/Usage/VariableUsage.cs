using System.Diagnostics;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Planning;
using Reclaim.Core.References;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Planning;

namespace Reclaim.Engine.Usage;

/// <summary>
/// One value of a layout variable under one policy (<c>reclaim usage --by org</c>): what the groups holding that value
/// store, what of it some reference keeps, and what the policy would reclaim. Objects and bytes are whole numbers, 0
/// or more; <see cref="Objects"/> − referenced − reclaimable are the objects of groups too young to go yet.
/// </summary>
/// <param name="Policy">The policy whose layout has the variable.</param>
/// <param name="Store">Its store.</param>
/// <param name="Value">The variable's value, as it appears in the keys.</param>
/// <param name="Groups">Groups holding the value.</param>
/// <param name="Objects">Their objects.</param>
/// <param name="Bytes">Their bytes.</param>
/// <param name="ReferencedObjects">Objects of groups some reference (or keep row) renders to.</param>
/// <param name="ReferencedBytes">Their bytes.</param>
/// <param name="ReclaimableObjects">Objects of groups the policy proposes: unreferenced and past the grace period (orphans) or <c>max_age</c> (retention).</param>
/// <param name="ReclaimableBytes">Their bytes.</param>
/// <param name="SavingPerMonth">Reclaimable bytes × the store's <c>price_per_gb_month</c> (GB = 2^30 bytes), rounded to cents; <see langword="null"/> when unpriced.</param>
public sealed record VariableUsageRow(
    string Policy,
    string Store,
    string Value,
    long Groups,
    long Objects,
    long Bytes,
    long ReferencedObjects,
    long ReferencedBytes,
    long ReclaimableObjects,
    long ReclaimableBytes,
    decimal? SavingPerMonth);

/// <summary>The report of <c>reclaim usage --by VARIABLE</c>.</summary>
/// <param name="By">The variable.</param>
/// <param name="Rows">One row per policy and value, most reclaimable bytes first (then most bytes, then policy and value in ordinal order).</param>
/// <param name="Warnings">What makes a number less than it seems (a policy whose references query returned nothing: a plan would refuse it).</param>
public sealed record VariableUsageReport(string By, IReadOnlyList<VariableUsageRow> Rows, IReadOnlyList<string> Warnings);

/// <summary>
/// Computes <see cref="VariableUsageReport"/>: for each selected <c>orphans</c> or <c>retention</c> policy whose layout
/// has the variable, reads its references (or keep) query into a <see cref="ReferenceSet"/>, lists the layout's
/// prefix with sizes, and classifies each group as the planner does (<see cref="OrphanRule"/>), before guards.
/// </summary>
/// <remarks>Memory: the reference set, one group's totals at a time (keys arrive in order) and one row per value.</remarks>
/// <param name="timeProvider">The clock the grace period is measured against.</param>
/// <param name="store">The store of a policy, by name.</param>
/// <param name="catalog">The catalog of a policy's protecting query, with the plan's parameters bound (retention's <c>@cutoff</c>).</param>
/// <param name="price">The store's price per GB-month, by name, or <see langword="null"/>.</param>
public sealed class VariableUsage(TimeProvider timeProvider, Func<string, IObjectStore> store, Func<PolicyConfig, QueryConfig, DateTimeOffset, ICatalog> catalog, Func<string, decimal?> price)
{
    /// <summary>The variables <c>--by</c> accepts: those of the <c>orphans</c> and <c>retention</c> policies' layouts, in config and layout order, each once.</summary>
    /// <param name="policies">The policies.</param>
    /// <returns>The variables' names.</returns>
    public static IReadOnlyList<string> Variables(IEnumerable<PolicyConfig> policies) =>
        [.. policies.OfType<LayoutPolicy>().SelectMany(p => p.Layout.Variables).Distinct(StringComparer.Ordinal)];

    /// <summary>The report for <paramref name="variable"/> over <paramref name="policies"/>.</summary>
    /// <param name="policies">Candidate policies (those of another type, or whose layout lacks the variable, are passed over).</param>
    /// <param name="variable">A layout variable's name (ordinal).</param>
    /// <param name="trashPrefix">The trash prefix: never counted.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The report.</returns>
    /// <exception cref="UsageException">No candidate policy's layout has the variable; the message names the variables the layouts have.</exception>
    /// <exception cref="CatalogException">A references or keep query fails.</exception>
    public async Task<VariableUsageReport> ReportAsync(IReadOnlyList<PolicyConfig> policies, string variable, string trashPrefix, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var layered = policies.OfType<LayoutPolicy>().ToList();
        var selected = layered.Where(p => p.Layout.Variables.Contains(variable, StringComparer.Ordinal)).ToList();
        if (selected.Count == 0)
        {
            var known = Variables(layered);
            throw new UsageException(known.Count == 0
                ? $"--by {variable}: no orphans or retention policy has a layout to group by"
                : $"--by {variable}: no policy's layout has the variable '{variable}' (the layouts have: {string.Join(", ", known)})");
        }

        var rows = new List<VariableUsageRow>();
        var warnings = new List<string>();
        var now = timeProvider.GetUtcNow();
        foreach (var policy in selected)
        {
            rows.AddRange(await PolicyAsync(policy, variable, trashPrefix, now, warnings, progress, cancellationToken));
        }

        rows.Sort((a, b) =>
        {
            var order = b.ReclaimableBytes.CompareTo(a.ReclaimableBytes);
            order = order != 0 ? order : b.Bytes.CompareTo(a.Bytes);
            order = order != 0 ? order : string.CompareOrdinal(a.Policy, b.Policy);
            return order != 0 ? order : string.CompareOrdinal(a.Value, b.Value);
        });
        return new VariableUsageReport(variable, rows, warnings);
    }

    private async Task<IEnumerable<VariableUsageRow>> PolicyAsync(
        LayoutPolicy policy, string variable, string trashPrefix, DateTimeOffset now, List<string> warnings, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var layout = policy.Layout;
        var index = layout.Variables.ToList().IndexOf(variable);
        var retention = policy is RetentionPolicy;
        var threshold = policy.AgeThreshold;
        var references = new ReferenceSet();
        long read = 0;
        long unrenderable = 0;
        var queries = policy.ProtectingQueries;
        foreach (var query in queries)
        {
            var (r, u) = await ReferenceLoader.LoadAsync(layout, query.Query, catalog(policy, query, now), references, cancellationToken);
            read += r;
            unrenderable += u;
        }

        references.Seal();
        if (!retention && read - unrenderable <= 0)
        {
            warnings.Add($"policy '{policy.Name}': the references query returned no row that renders to a key: a plan would refuse it (refuse_empty_references), and every group counts as reclaimable here");
        }

        var totals = new Dictionary<string, Totals>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        long scanned = 0;
        long scannedBytes = 0;
        string? group = null;
        long groupObjects = 0;
        long groupBytes = 0;
        var newest = DateTimeOffset.MinValue;

        void Close()
        {
            if (group is null)
            {
                return;
            }

            var value = layout.ExtractValues(group)[index];
            if (!totals.TryGetValue(value, out var t))
            {
                totals[value] = t = new Totals();
            }

            t.Groups++;
            t.Objects += groupObjects;
            t.Bytes += groupBytes;
            switch (OrphanRule.Classify(references.Contains(group), newest, now, threshold))
            {
                case GroupVerdictKind.Referenced:
                    t.ReferencedObjects += groupObjects;
                    t.ReferencedBytes += groupBytes;
                    break;
                case GroupVerdictKind.Orphaned:
                    t.ReclaimableObjects += groupObjects;
                    t.ReclaimableBytes += groupBytes;
                    break;
            }
        }

        await foreach (var item in store(policy.Store).ListAsync(layout.FixedPrefix, cancellationToken))
        {
            scanned++;
            scannedBytes += item.Size;
            if (progress is not null && scanned % 10000 == 0)
            {
                progress.Report(new ScanProgress(policy.Name, scanned, scannedBytes, read, clock.Elapsed));
            }

            if (ObjectKey.IsUnder(item.Key, trashPrefix) || layout.MatchGroup(item.Key) is not { } key)
            {
                continue;
            }

            if (!string.Equals(key, group, StringComparison.Ordinal))
            {
                Close();
                (group, groupObjects, groupBytes, newest) = (key, 0, 0, DateTimeOffset.MinValue);
            }

            groupObjects++;
            groupBytes += item.Size;
            newest = item.LastModified > newest ? item.LastModified : newest;
        }

        Close();
        var perGb = price(policy.Store);
        return totals.Select(p => new VariableUsageRow(policy.Name, policy.Store, p.Key, p.Value.Groups, p.Value.Objects, p.Value.Bytes,
            p.Value.ReferencedObjects, p.Value.ReferencedBytes, p.Value.ReclaimableObjects, p.Value.ReclaimableBytes,
            perGb is { } gb ? Math.Round(p.Value.ReclaimableBytes / (decimal)(1L << 30) * gb, 2) : null));
    }

    private sealed class Totals
    {
        public long Groups { get; set; }

        public long Objects { get; set; }

        public long Bytes { get; set; }

        public long ReferencedObjects { get; set; }

        public long ReferencedBytes { get; set; }

        public long ReclaimableObjects { get; set; }

        public long ReclaimableBytes { get; set; }
    }
}
