using System.Diagnostics;
using System.Threading.Channels;
using Reclaim.Core;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.References;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Plans an <c>orphans</c> policy: streams the references query into a <see cref="ReferenceSet"/> while the
/// store's listing streams in parallel, then walks the listing once, group by group (keys arrive in ordinal
/// order, so a folder group's objects are contiguous). Metadata is read only for groups no reference covers
/// when the store can list keys alone (<see cref="IKeyListing"/>).
/// </summary>
/// <remarks>
/// Memory: the reference set (8–16 bytes per reference), a bounded listing buffer
/// (<see cref="ListingBufferKeys"/> keys), the current group, and the proposed groups up to the plan's
/// <c>max_delete_count</c> (beyond it only counts are kept: the guard refuses such a plan anyway).
/// </remarks>
public sealed class OrphanPlanner(TimeProvider timeProvider)
{
    /// <summary>
    /// Keys the listing may run ahead of the reference read: 524288 (512 batches of <see cref="ListingBatchKeys"/>),
    /// about 40 MB of keys at most; beyond it the listing waits, so memory stays bounded at any store size.
    /// </summary>
    public const int ListingBufferKeys = 1 << 19;

    /// <summary>Keys handed from the listing to the planner at a time: 1024 (one channel operation per batch, not per key).</summary>
    public const int ListingBatchKeys = 1 << 10;

    /// <summary>How many proposed group keys a plan shows as a sample: 10.</summary>
    public const int SampleSize = 10;

    /// <summary>Receives a line with the planner's phase timings, for <c>--verbose</c>; may be <see langword="null"/>.</summary>
    public Action<string>? Timing { get; init; }

    /// <summary>Plans one policy.</summary>
    /// <param name="policy">An <c>orphans</c> policy.</param>
    /// <param name="store">Its store.</param>
    /// <param name="catalog">The catalog of its references (orphans) or keep query (retention); <see langword="null"/> for a retention policy without one.</param>
    /// <param name="trashPrefix">The trash prefix (never a candidate).</param>
    /// <param name="maxGroupsKept">Most proposed objects to keep with their details (the plan's <c>max_delete_count</c> + 1).</param>
    /// <param name="progress">Receives progress about twice a second; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <returns>The policy's plan, without guard verdicts.</returns>
    /// <exception cref="CatalogException">The references query fails.</exception>
    /// <exception cref="InvalidOperationException">The store listed keys out of order.</exception>
    public async Task<PolicyPlan> PlanAsync(
        PolicyConfig policy,
        IObjectStore store,
        ICatalog? catalog,
        string trashPrefix,
        long maxGroupsKept,
        IProgress<ScanProgress>? progress,
        CancellationToken cancellationToken)
    {
        var layout = policy.Layout ?? throw new ArgumentException("an orphans policy needs a layout", nameof(policy));
        var retention = policy.Type == "retention";
        var query = retention ? policy.Keep : policy.References ?? throw new ArgumentException("an orphans policy needs references", nameof(policy));
        var threshold = retention ? policy.MaxAge ?? throw new ArgumentException("a retention policy needs max_age", nameof(policy)) : policy.MinAge;
        var clock = Stopwatch.StartNew();
        var now = timeProvider.GetUtcNow();
        var plan = new PolicyPlan
        {
            Policy = policy.Name,
            Type = policy.Type,
            Store = policy.Store,
            Action = policy.Action,
            Layout = layout.Template,
            MinAge = threshold,
            ReferencesRequired = query is not null,
            Definition = PolicyDefinition.Fingerprint(policy),
        };
        var totals = plan.Totals;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        var references = new ReferenceSet();
        var referencesTask = query is null || catalog is null
            ? Task.CompletedTask
            : Task.Run(() => ReadReferencesAsync(layout, query.Query, catalog, references, totals, linked.Token), linked.Token);

        var channel = Channel.CreateBounded<ListedBatch>(new BoundedChannelOptions(ListingBufferKeys / ListingBatchKeys) { SingleReader = true, SingleWriter = true });
        var listingTask = Task.Run(() => ListAsync(store, layout.FixedPrefix, channel.Writer, linked.Token), linked.Token);

        try
        {
            await referencesTask;
            references.Seal();
            var referencesMs = clock.ElapsedMilliseconds;

            var group = new GroupBuffer();
            string? previousKey = null;
            var lastReport = clock.Elapsed;
            await foreach (var batch in channel.Reader.ReadAllAsync(linked.Token))
            {
            for (var i = 0; i < batch.Count; i++)
            {
                var entry = new ListedEntry(batch.Keys[i], batch.Metadata?[i]);
                if (previousKey is not null && ObjectKey.Comparer.Compare(entry.Key, previousKey) <= 0)
                {
                    throw new InvalidOperationException($"store '{store.Name}' listed '{ObjectKey.Printable(entry.Key)}' after '{ObjectKey.Printable(previousKey)}': keys out of order; nothing is planned");
                }

                previousKey = entry.Key;
                if (ObjectKey.IsUnder(entry.Key, trashPrefix))
                {
                    totals.ObjectsInTrash++;
                    continue;
                }

                totals.ObjectsScanned++;
                if (entry.Metadata is { } known)
                {
                    totals.BytesScanned += known.Size;
                }

                var groupKey = layout.MatchGroup(entry.Key);
                if (groupKey is null)
                {
                    totals.ObjectsUnmatched++;
                    continue;
                }

                if (group.Key is not null && !string.Equals(group.Key, groupKey, StringComparison.Ordinal))
                {
                    await CloseGroupAsync(group, layout, references, policy, store, now, plan, maxGroupsKept, linked.Token);
                }

                group.Add(groupKey, entry);
                if (progress is not null && clock.Elapsed - lastReport > TimeSpan.FromMilliseconds(500))
                {
                    lastReport = clock.Elapsed;
                    progress.Report(new ScanProgress(policy.Name, totals.ObjectsScanned, totals.BytesScanned, totals.ReferencesRead, clock.Elapsed));
                }
            }
            }

            if (group.Key is not null)
            {
                await CloseGroupAsync(group, layout, references, policy, store, now, plan, maxGroupsKept, linked.Token);
            }

            await listingTask;
            Timing?.Invoke($"references sealed at {referencesMs} ms ({references.Count} distinct), listing and join done at {clock.ElapsedMilliseconds} ms");
        }
        catch
        {
            await linked.CancelAsync();
            await Task.WhenAll(referencesTask, listingTask).ContinueWith(static _ => { }, TaskScheduler.Default);
            throw;
        }

        if (totals.ReferencesUnrenderable > 0)
        {
            plan.Warnings.Add($"{totals.ReferencesUnrenderable} of {totals.ReferencesRead} references render to no key the layout '{layout.Template}' can match (NULL, empty, or a '/' inside a one-segment value): they protect nothing");
        }

        totals.DurationMs = (long)clock.Elapsed.TotalMilliseconds;
        progress?.Report(new ScanProgress(policy.Name, totals.ObjectsScanned, totals.BytesScanned, totals.ReferencesRead, clock.Elapsed));
        return plan;
    }

    private static async Task ReadReferencesAsync(Layout layout, string query, ICatalog catalog, ReferenceSet references, PolicyTotals totals, CancellationToken cancellationToken)
    {
        if (catalog is IReferenceReader reader)
        {
            (totals.ReferencesRead, totals.ReferencesUnrenderable) = await reader.ReadReferencesAsync(query, layout, references, cancellationToken);
            return;
        }

        long read = 0;
        long unrenderable = 0;
        await foreach (var row in catalog.ReadAsync(query, layout.Variables, cancellationToken))
        {
            read++;
            if (layout.RenderFingerprint(row) is not { } fingerprint)
            {
                unrenderable++;
                continue;
            }

            references.AddFingerprint(fingerprint);
        }

        totals.ReferencesRead = read;
        totals.ReferencesUnrenderable = unrenderable;
    }

    private static async Task ListAsync(IObjectStore store, string prefix, ChannelWriter<ListedBatch> writer, CancellationToken cancellationToken)
    {
        try
        {
            var keysOnly = store is IKeyListing;
            var batch = ListedBatch.Create(keysOnly);
            var entries = store is IKeyListing keys ? KeysOnly(keys.ListKeysAsync(prefix, cancellationToken)) : WithMetadata(store.ListAsync(prefix, cancellationToken));
            await foreach (var entry in entries)
            {
                batch.Add(entry);
                if (batch.Count == ListingBatchKeys)
                {
                    await writer.WriteAsync(batch, cancellationToken);
                    batch = ListedBatch.Create(keysOnly);
                }
            }

            if (batch.Count > 0)
            {
                await writer.WriteAsync(batch, cancellationToken);
            }

            writer.Complete();
        }
        catch (Exception e)
        {
            writer.Complete(e);
            throw;
        }
    }

    private static async IAsyncEnumerable<ListedEntry> KeysOnly(IAsyncEnumerable<string> keys)
    {
        await foreach (var key in keys)
        {
            yield return new ListedEntry(key, null);
        }
    }

    private static async IAsyncEnumerable<ListedEntry> WithMetadata(IAsyncEnumerable<StoredObject> objects)
    {
        await foreach (var item in objects)
        {
            yield return new ListedEntry(item.Key, item);
        }
    }

    private static async Task CloseGroupAsync(
        GroupBuffer group,
        Layout layout,
        ReferenceSet references,
        PolicyConfig policy,
        IObjectStore store,
        DateTimeOffset now,
        PolicyPlan plan,
        long maxObjectsKept,
        CancellationToken cancellationToken)
    {
        var totals = plan.Totals;
        var groupKey = group.Key!;
        totals.GroupsScanned++;
        if (references.Contains(groupKey))
        {
            totals.GroupsReferenced++;
            group.Clear();
            return;
        }

        // Metadata only for groups no reference covers.
        var objects = new List<StoredObject>(group.Entries.Count);
        foreach (var entry in group.Entries)
        {
            if (entry.Metadata is { } known)
            {
                objects.Add(known);
                continue;
            }

            var stat = await store.StatAsync(entry.Key, cancellationToken);
            if (stat is { } found)
            {
                objects.Add(found);
                totals.BytesScanned += found.Size;
            }
        }

        group.Clear();
        if (objects.Count == 0)
        {
            // Everything vanished since it was listed: nothing to decide.
            totals.GroupsScanned--;
            return;
        }

        var newest = objects.Max(o => o.LastModified);
        switch (OrphanRule.Classify(false, newest, now, plan.MinAge))
        {
            case GroupVerdictKind.TooYoung:
                totals.GroupsTooYoung++;
                return;
            case GroupVerdictKind.Orphaned:
                totals.GroupsOrphaned++;
                totals.ObjectsOrphaned += objects.Count;
                var bytes = objects.Sum(o => o.Size);
                totals.BytesReclaimable += bytes;
                if (totals.ObjectsOrphaned <= maxObjectsKept)
                {
                    var age = Duration.Format(TimeSpan.FromSeconds(Math.Floor((now - newest).TotalSeconds)));
                    var reason = policy.Type == "retention"
                        ? $"older than max_age {Duration.Format(plan.MinAge)} (newest object {age} old){(plan.ReferencesRequired ? "; not kept by the keep query" : string.Empty)}"
                        : $"no reference renders to the group; newest object {age} old (min_age {Duration.Format(plan.MinAge)})";
                    plan.Groups.Add(new PlannedGroup(groupKey, layout.ExtractValues(groupKey), objects, newest, reason));
                }

                return;
            default:
                throw new UnreachableException();
        }
    }

    private readonly record struct ListedEntry(string Key, StoredObject? Metadata);

    /// <summary>Up to <see cref="ListingBatchKeys"/> listed keys, with their metadata when the listing had it (8 bytes a key otherwise).</summary>
    private sealed class ListedBatch(string[] keys, StoredObject[]? metadata)
    {
        public string[] Keys { get; } = keys;

        public StoredObject[]? Metadata { get; } = metadata;

        public int Count { get; private set; }

        public static ListedBatch Create(bool keysOnly) =>
            new(new string[ListingBatchKeys], keysOnly ? null : new StoredObject[ListingBatchKeys]);

        public void Add(ListedEntry entry)
        {
            Keys[Count] = entry.Key;
            if (Metadata is not null)
            {
                Metadata[Count] = entry.Metadata!.Value;
            }

            Count++;
        }
    }

    private sealed class GroupBuffer
    {
        public string? Key { get; private set; }

        public List<ListedEntry> Entries { get; } = [];

        public void Add(string groupKey, ListedEntry entry)
        {
            Key ??= groupKey;
            Entries.Add(entry);
        }

        public void Clear()
        {
            Key = null;
            Entries.Clear();
        }
    }
}
