using Reclaim.Core.Catalogs;
using Reclaim.Core.Layouts;
using Reclaim.Core.Records;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Gate;

/// <summary>One query that protects objects of a store: a policy's references or keep rows, rendered by its layout.</summary>
/// <param name="Policy">The policy's name.</param>
/// <param name="Kind"><c>references</c> (an <c>orphans</c> or <c>queue</c> policy) or <c>keep</c> (a <c>retention</c> policy).</param>
/// <param name="Layout">The policy's layout: maps an object's key to its group and renders the query's rows.</param>
/// <param name="Catalog">The catalog's name.</param>
/// <param name="Query">The SELECT, whose columns are named like <paramref name="Layout"/>'s variables.</param>
/// <param name="MaxAge">A retention policy's <c>max_age</c>: a keep query naming <c>@cutoff</c> is run with it bound to the check's time minus this; otherwise <see langword="null"/>.</param>
public sealed record StoreProtection(string Policy, string Kind, Layout Layout, string Catalog, string Query, TimeSpan? MaxAge = null);

/// <summary>Why an object must not be removed: a row of a protecting query renders to its group.</summary>
/// <param name="Policy">The protecting policy.</param>
/// <param name="Kind"><c>references</c> or <c>keep</c>.</param>
/// <param name="Catalog">The catalog the row is in.</param>
/// <param name="Group">The object's group under that policy's layout (a folder ending in <c>/</c>, or the key itself).</param>
public sealed record ProtectedBy(string Policy, string Kind, string Catalog, string Group)
{
    /// <summary>Who protects it: <c>policy 'P' (references): a row of catalog 'C' renders to 'G'</c>.</summary>
    public string Source => $"policy '{Policy}' ({Kind}): a row of catalog '{Catalog}' renders to '{ObjectKey.Printable(Group)}'";

    /// <summary>The reason as recorded with a skipped action: <c>protected by </c> and <see cref="Source"/>.</summary>
    public string Reason => $"protected by {Source}";
}

/// <summary>
/// The rows a <c>records</c> policy is removing objects for. A records row is itself usually one of the rows its
/// store's references render from (an <c>orphans</c> policy names every live row), and a references query returns
/// only the layout's columns, so a row cannot be told apart from another that renders to the same group: the check
/// counts instead. A group is protected when more rows of a protecting query render to it than rows being removed
/// (still selected by the records query at this moment) name an object in it.
/// </summary>
public sealed class DeletingRows
{
    private readonly IReadOnlyList<(IReadOnlyList<string> Keys, IReadOnlyList<string> Prefixes)> _rows;
    private readonly Func<int, CancellationToken, Task<bool>> _stillSelected;
    private readonly Dictionary<int, bool> _selected = [];
    private readonly Dictionary<Layout, Dictionary<string, List<int>>> _byGroup = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, List<int>> _byPrefix = new(StringComparer.Ordinal);
    private readonly string[] _prefixes;

    /// <summary>Creates the set.</summary>
    /// <param name="rows">Each row's objects: keys, and folder prefixes ending in <c>/</c>.</param>
    /// <param name="stillSelected">Whether the row at an index is still selected by the policy's query now (asked at most once per row, when a group it names is protected by some row).</param>
    /// <remarks>Not thread-safe: one records policy's rows are applied one after another.</remarks>
    public DeletingRows(IReadOnlyList<(IReadOnlyList<string> Keys, IReadOnlyList<string> Prefixes)> rows, Func<int, CancellationToken, Task<bool>> stillSelected)
    {
        _rows = rows;
        _stillSelected = stillSelected;
        for (var i = 0; i < rows.Count; i++)
        {
            foreach (var prefix in rows[i].Prefixes)
            {
                Add(_byPrefix, prefix, i);
            }
        }

        _prefixes = [.. _byPrefix.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Rows still selected now that name an object in <paramref name="group"/> of <paramref name="layout"/>: a key in
    /// the group, a prefix holding the group, or (folder layouts) a prefix inside it. Indexed: each row's keys are
    /// grouped once per layout, and prefixes are looked up by the group's ancestors and by a range of the sorted prefixes.
    /// </summary>
    internal async Task<int> CountNamingAsync(Layout layout, string group, CancellationToken cancellationToken)
    {
        var naming = new HashSet<int>();
        if (ByGroup(layout).TryGetValue(group, out var byKey))
        {
            naming.UnionWith(byKey);
        }

        for (var slash = group.IndexOf('/', StringComparison.Ordinal); slash >= 0; slash = group.IndexOf('/', slash + 1))
        {
            if (_byPrefix.TryGetValue(group[..(slash + 1)], out var holding))
            {
                naming.UnionWith(holding);
            }
        }

        if (layout.IsFolder)
        {
            var first = Array.BinarySearch(_prefixes, group, StringComparer.Ordinal);
            for (var i = first < 0 ? ~first : first; i < _prefixes.Length && _prefixes[i].StartsWith(group, StringComparison.Ordinal); i++)
            {
                naming.UnionWith(_byPrefix[_prefixes[i]]);
            }
        }

        var count = 0;
        foreach (var row in naming)
        {
            if (!_selected.TryGetValue(row, out var selected))
            {
                _selected[row] = selected = await _stillSelected(row, cancellationToken);
            }

            count += selected ? 1 : 0;
        }

        return count;
    }

    private Dictionary<string, List<int>> ByGroup(Layout layout)
    {
        if (!_byGroup.TryGetValue(layout, out var index))
        {
            _byGroup[layout] = index = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            for (var i = 0; i < _rows.Count; i++)
            {
                foreach (var key in _rows[i].Keys)
                {
                    if (layout.MatchGroup(key) is { } group)
                    {
                        Add(index, group, i);
                    }
                }
            }
        }

        return index;
    }

    private static void Add(Dictionary<string, List<int>> index, string key, int row)
    {
        if (!index.TryGetValue(key, out var rows))
        {
            index[key] = rows = [];
        }

        rows.Add(row);
    }
}

/// <summary>
/// The protections of one store: every references and keep query of the policies on it (an <c>orphans</c> policy's
/// <c>references</c>, a <c>retention</c> policy's <c>keep</c>, a <c>queue</c> policy's <c>references</c>). The gate asks
/// it, for each sub-batch of an explicit removal (a deletion request, a records row), immediately before recording
/// intent, which of the objects a row still protects: each key is mapped to its group by each policy's layout, and
/// the query is re-run for just those groups (<see cref="ICatalog.FindAsync"/>). A key a layout does not match is
/// not protected by that policy.
/// </summary>
/// <remarks>
/// This is the first invariant of docs/safety.md for the explicit paths ("Explicit removals"): referenced means
/// untouchable, whoever asks. A catalog that cannot be read throws: the caller treats the sub-batch as failed and
/// touches nothing, never "nothing protected".
/// </remarks>
public sealed class StoreProtections
{
    /// <summary>Groups looked up by one catalog query: 200 (small enough for SQLite's expression depth limit of 1000 with two-variable layouts).</summary>
    public const int MaxGroupsPerQuery = 200;

    private readonly Func<string, ICatalog> _catalogs;
    private readonly TimeProvider _clock;
    private readonly DeletingRows? _deleting;

    private StoreProtections(string store, IReadOnlyList<StoreProtection> entries, Func<string, ICatalog> catalogs, TimeProvider clock, DeletingRows? deleting)
    {
        Store = store;
        Entries = entries;
        _catalogs = catalogs;
        _clock = clock;
        _deleting = deleting;
    }

    /// <summary>The store's name.</summary>
    public string Store { get; }

    /// <summary>The protecting queries, in config order.</summary>
    public IReadOnlyList<StoreProtection> Entries { get; }

    /// <summary>Whether nothing protects the store's objects (no policy on it has a references or keep query).</summary>
    public bool IsEmpty => Entries.Count == 0;

    /// <summary>The protections of <paramref name="store"/> under <paramref name="config"/>.</summary>
    /// <param name="config">The config.</param>
    /// <param name="store">A store's name.</param>
    /// <param name="catalogs">Opens a catalog by name (the workspace's).</param>
    /// <param name="clock">The time of each check: a retention keep query's <c>@cutoff</c> is that time minus the policy's <c>max_age</c>, as for a run starting then.</param>
    /// <returns>The protections; empty when no policy on the store has a query.</returns>
    public static StoreProtections Of(ReclaimConfig config, string store, Func<string, ICatalog> catalogs, TimeProvider clock)
    {
        var entries = new List<StoreProtection>();
        foreach (var policy in config.Policies.Where(p => string.Equals(p.Store, store, StringComparison.Ordinal)))
        {
            var (layout, kind, maxAge) = policy switch
            {
                RetentionPolicy retention => (retention.Layout, "keep", retention.MaxAge),
                LayoutPolicy orphans => (orphans.Layout, "references", (TimeSpan?)null),
                QueuePolicy { Layout: { } queueLayout } => (queueLayout, "references", null),
                _ => (null, "references", null),
            };
            if (layout is null)
            {
                continue;
            }

            // Every query of a list protects: a group some row of any of them renders to is protected.
            foreach (var query in Planning.ProtectingQueries.Of(policy))
            {
                entries.Add(new StoreProtection(policy.Name, kind, layout, query.Catalog, query.Query, maxAge));
            }
        }

        return new StoreProtections(store, entries, catalogs, clock, null);
    }

    /// <summary>Only the protection of one policy (a queue policy's own <c>references</c>, checked before a request runs).</summary>
    /// <param name="policy">The policy's name.</param>
    /// <returns>The protections of that policy alone (empty when it has none).</returns>
    public StoreProtections Only(string policy) =>
        new(Store, [.. Entries.Where(e => string.Equals(e.Policy, policy, StringComparison.Ordinal))], _catalogs, _clock, _deleting);

    /// <summary>
    /// These protections for a records policy removing <paramref name="rows"/>: a group is protected only by rows beyond
    /// those being removed (see <see cref="DeletingRows"/>).
    /// </summary>
    /// <param name="rows">The rows being removed.</param>
    /// <returns>The protections, counting.</returns>
    public StoreProtections Deleting(DeletingRows rows) => new(Store, Entries, _catalogs, _clock, rows);

    /// <summary>
    /// Which of <paramref name="keys"/> are protected now, and by which policy (the first, in config order).
    /// </summary>
    /// <param name="keys">Object keys of one sub-batch (any number; looked up <see cref="MaxGroupsPerQuery"/> groups per query).</param>
    /// <param name="cancellationToken">Cancels the queries.</param>
    /// <returns>The protected keys with why; a key absent is not protected.</returns>
    /// <exception cref="CatalogException">A protecting query failed: treat every key as protected (touch nothing).</exception>
    public async Task<IReadOnlyDictionary<string, ProtectedBy>> FindAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, ProtectedBy>(StringComparer.Ordinal);
        var asked = new HashSet<(string, string, string, TimeSpan?)>();
        foreach (var entry in Entries)
        {
            // Two policies with the same query and layout (a queue's references and an orphans policy's, say) protect
            // the same objects: the query runs once, and the first of them is named.
            if (!asked.Add((entry.Catalog, entry.Query, entry.Layout.Template, entry.MaxAge)))
            {
                continue;
            }

            var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var key in keys)
            {
                if (!found.ContainsKey(key) && entry.Layout.MatchGroup(key) is { } group)
                {
                    if (!groups.TryGetValue(group, out var members))
                    {
                        groups[group] = members = [];
                    }

                    members.Add(key);
                }
            }

            if (groups.Count == 0)
            {
                continue;
            }

            var rows = await RowsByGroupAsync(entry, [.. groups.Keys], cancellationToken);
            foreach (var (group, count) in rows)
            {
                var removing = _deleting is null ? 0 : await _deleting.CountNamingAsync(entry.Layout, group, cancellationToken);
                if (count > removing)
                {
                    foreach (var key in groups[group])
                    {
                        found[key] = new ProtectedBy(entry.Policy, entry.Kind, entry.Catalog, group);
                    }
                }
            }
        }

        return found;
    }

    /// <summary>How many rows of the entry's query render to each of <paramref name="groups"/> (groups with none are absent).</summary>
    private async Task<Dictionary<string, int>> RowsByGroupAsync(StoreProtection entry, IReadOnlyList<string> groups, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var catalog = _catalogs(entry.Catalog);
        if (entry.MaxAge is { } maxAge && RecordTemplate.Parameters(entry.Query).Contains(ReclaimEngine.CutoffParameter, StringComparer.Ordinal))
        {
            catalog = catalog is IParameterizedCatalog parameterized
                ? parameterized.WithParameters(new Dictionary<string, object?>(StringComparer.Ordinal) { [ReclaimEngine.CutoffParameter] = ReclaimEngine.Cutoff(_clock.GetUtcNow(), maxAge) })
                : throw new CatalogException($"policy '{entry.Policy}': catalog '{entry.Catalog}' cannot bind @{ReclaimEngine.CutoffParameter}");
        }

        foreach (var part in groups.Chunk(MaxGroupsPerQuery))
        {
            var tuples = part.Select(entry.Layout.ExtractValues).ToList();
            foreach (var row in await catalog.FindAsync(entry.Query, entry.Layout.Variables, tuples, cancellationToken))
            {
                if (entry.Layout.Render(row) is { } group)
                {
                    counts[group] = counts.GetValueOrDefault(group) + 1;
                }
            }
        }

        return counts;
    }
}
