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
    /// about 2 bytes per key char (some 25 MB for keys of 24 chars) at most; beyond it the listing waits, so memory
    /// stays bounded at any store size.
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
        long listedMs = 0;
        var listingTask = Task.Run(
            async () =>
            {
                await ListAsync(store, layout.FixedPrefix, channel.Writer, linked.Token);
                listedMs = clock.ElapsedMilliseconds;
            },
            linked.Token);

        try
        {
            await referencesTask;
            references.Seal();
            var referencesMs = clock.ElapsedMilliseconds;

            var group = new GroupBuffer();
            ListedBatch? previousBatch = null;
            var previousIndex = 0;
            var lastReport = clock.Elapsed;
            await foreach (var batch in channel.Reader.ReadAllAsync(linked.Token))
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    var key = batch.Keys[i];
                    if (previousBatch is not null && ObjectKey.Compare(key, previousBatch.Keys[previousIndex]) <= 0)
                    {
                        throw new InvalidOperationException($"store '{store.Name}' listed '{ObjectKey.Printable(batch.Keys.GetString(i))}' after '{ObjectKey.Printable(previousBatch.Keys.GetString(previousIndex))}': keys out of order; nothing is planned");
                    }

                    previousBatch = batch;
                    previousIndex = i;
                    if (ObjectKey.IsUnder(key, trashPrefix))
                    {
                        totals.ObjectsInTrash++;
                        continue;
                    }

                    totals.ObjectsScanned++;
                    if (batch.Metadata is { } metadata)
                    {
                        totals.BytesScanned += metadata[i].Size;
                    }

                    var groupLength = layout.MatchGroupLength(key);
                    if (groupLength < 0)
                    {
                        totals.ObjectsUnmatched++;
                        continue;
                    }

                    if (!group.IsEmpty && !group.Is(key[..groupLength]))
                    {
                        await CloseGroupAsync(group, layout, references, policy, store, now, plan, maxGroupsKept, linked.Token);
                    }

                    group.Add(batch.Keys[i][..groupLength], batch, i);
                }

                if (progress is not null && clock.Elapsed - lastReport > TimeSpan.FromMilliseconds(500))
                {
                    lastReport = clock.Elapsed;
                    progress.Report(new ScanProgress(policy.Name, totals.ObjectsScanned, totals.BytesScanned, totals.ReferencesRead, clock.Elapsed));
                }
            }

            if (!group.IsEmpty)
            {
                await CloseGroupAsync(group, layout, references, policy, store, now, plan, maxGroupsKept, linked.Token);
            }

            await listingTask;
            Timing?.Invoke(
                $"references sealed at {referencesMs} ms ({references.Count} distinct), listing done at {listedMs} ms, join done at {clock.ElapsedMilliseconds} ms; " +
                $"process so far: {GC.GetTotalAllocatedBytes() >> 20} MB allocated, GCs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} (gen 0/1/2), " +
                $"{System.Runtime.JitInfo.GetCompiledMethodCount()} methods compiled in {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0} ms");
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
            if (store is IKeyListing keys)
            {
                await foreach (var batch in keys.ListKeyBatchesAsync(prefix, ListingBatchKeys, cancellationToken))
                {
                    await writer.WriteAsync(new ListedBatch(batch, null), cancellationToken);
                }
            }
            else
            {
                var batch = ListedBatch.WithMetadata();
                await foreach (var item in store.ListAsync(prefix, cancellationToken))
                {
                    batch.Add(item);
                    if (batch.Keys.IsFull)
                    {
                        await writer.WriteAsync(batch, cancellationToken);
                        batch = ListedBatch.WithMetadata();
                    }
                }

                if (batch.Count > 0)
                {
                    await writer.WriteAsync(batch, cancellationToken);
                }
            }

            writer.Complete();
        }
        catch (Exception e)
        {
            writer.Complete(e);
            throw;
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
        totals.GroupsScanned++;
        if (references.Contains(group.Key))
        {
            totals.GroupsReferenced++;
            group.Clear();
            return;
        }

        // Strings and metadata only for groups no reference covers.
        var groupKey = group.Key.ToString();
        var objects = new List<StoredObject>(group.Count);
        for (var i = 0; i < group.Count; i++)
        {
            var (batch, index) = group[i];
            if (batch.Metadata is { } metadata)
            {
                objects.Add(metadata[index]);
                continue;
            }

            var stat = await store.StatAsync(batch.Keys.GetString(index), cancellationToken);
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

    /// <summary>Listed keys, with their metadata when the listing had it (a store without <see cref="IKeyListing"/>).</summary>
    private sealed class ListedBatch(KeyBatch keys, StoredObject[]? metadata)
    {
        public KeyBatch Keys { get; } = keys;

        public StoredObject[]? Metadata { get; } = metadata;

        public int Count => Keys.Count;

        public static ListedBatch WithMetadata() => new(new KeyBatch(ListingBatchKeys), new StoredObject[ListingBatchKeys]);

        public void Add(StoredObject item)
        {
            Metadata![Keys.Count] = item;
            Keys.Add(item.Key);
        }
    }

    /// <summary>The objects of the group being read: its key (kept as chars) and where each object sits in the listing.</summary>
    private sealed class GroupBuffer
    {
        private readonly List<(ListedBatch Batch, int Index)> _entries = [];
        private char[] _key = new char[256];
        private int _keyLength = -1;

        public bool IsEmpty => _keyLength < 0;

        public ReadOnlySpan<char> Key => _key.AsSpan(0, _keyLength);

        public int Count => _entries.Count;

        public (ListedBatch Batch, int Index) this[int index] => _entries[index];

        public bool Is(ReadOnlySpan<char> groupKey) => groupKey.SequenceEqual(Key);

        public void Add(ReadOnlySpan<char> groupKey, ListedBatch batch, int index)
        {
            if (IsEmpty)
            {
                if (groupKey.Length > _key.Length)
                {
                    _key = new char[Math.Max(groupKey.Length, _key.Length * 2)];
                }

                groupKey.CopyTo(_key);
                _keyLength = groupKey.Length;
            }

            _entries.Add((batch, index));
        }

        public void Clear()
        {
            _keyLength = -1;
            _entries.Clear();
        }
    }
}
