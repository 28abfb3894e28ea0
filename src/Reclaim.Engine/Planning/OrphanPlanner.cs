using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
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
/// when the store can list keys alone (<see cref="IKeyListing"/>). A store that lists several key ranges at once
/// (<see cref="IPartitionedListing"/>, S3) is listed that way, split where the layout allows; one with a snapshot
/// (<see cref="ISnapshotListing"/>, an S3 Inventory) is listed from it, and aged at the snapshot's time.
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

    /// <summary>
    /// Listed batches' worth of unreferenced groups the join may hand ahead to the thread that reads their objects'
    /// metadata and decides them: 16 (at most 16 × <see cref="ListingBatchKeys"/> groups). Beyond it the join waits.
    /// The groups go over in one hand-off per listed batch, not one per group: waking the other thread is what costs.
    /// </summary>
    public const int UnreferencedBufferBatches = 16;

    /// <summary>How many proposed group keys a plan shows as a sample: 10.</summary>
    public const int SampleSize = 10;

    /// <summary>Receives a line with the planner's phase timings, for <c>--verbose</c>; may be <see langword="null"/>.</summary>
    public Action<string>? Timing { get; init; }

    /// <summary>Plans one policy whose protecting queries all run on <paramref name="catalog"/>.</summary>
    /// <param name="policy">An <c>orphans</c> or <c>retention</c> policy.</param>
    /// <param name="store">Its store.</param>
    /// <param name="catalog">The catalog of its references (orphans) or keep queries (retention); <see langword="null"/> for a retention policy without one.</param>
    /// <param name="trashPrefix">The trash prefix (never a candidate).</param>
    /// <param name="maxGroupsKept">Most proposed objects to keep with their details (the plan's <c>max_delete_count</c> + 1).</param>
    /// <param name="progress">Receives progress about twice a second; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <returns>The policy's plan, without guard verdicts.</returns>
    /// <exception cref="CatalogException">A references query fails.</exception>
    /// <exception cref="InvalidOperationException">The store listed keys out of order.</exception>
    public Task<PolicyPlan> PlanAsync(PolicyConfig policy, IObjectStore store, ICatalog? catalog, string trashPrefix, long maxGroupsKept, IProgress<ScanProgress>? progress, CancellationToken cancellationToken) =>
        PlanAsync(policy, store, catalog is null ? null : _ => catalog, trashPrefix, maxGroupsKept, progress, cancellationToken);

    /// <summary>Plans one policy.</summary>
    /// <param name="policy">An <c>orphans</c> policy.</param>
    /// <param name="store">Its store.</param>
    /// <param name="catalogs">The catalog each of its references (orphans) or keep queries (retention) runs on; <see langword="null"/> for a retention policy without one.</param>
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
        Func<QueryConfig, ICatalog>? catalogs,
        string trashPrefix,
        long maxGroupsKept,
        IProgress<ScanProgress>? progress,
        CancellationToken cancellationToken)
    {
        var layout = policy.Layout ?? throw new ArgumentException("an orphans policy needs a layout", nameof(policy));
        var retention = policy.Type == "retention";
        var queries = ProtectingQueries.Of(policy);
        if (!retention && queries.Count == 0)
        {
            throw new ArgumentException("an orphans policy needs references", nameof(policy));
        }

        var threshold = retention ? policy.MaxAge ?? throw new ArgumentException("a retention policy needs max_age", nameof(policy)) : policy.MinAge;
        var clock = Stopwatch.StartNew();
        var now = timeProvider.GetUtcNow();

        // A store planned from a snapshot (an S3 Inventory) is aged at the snapshot's time: it knows nothing newer.
        var snapshot = store is ISnapshotListing snapshots ? await snapshots.OpenSnapshotAsync(layout.FixedPrefix, cancellationToken) : null;
        if (snapshot is not null && snapshot.TakenAt < now)
        {
            now = snapshot.TakenAt;
        }

        var plan = new PolicyPlan
        {
            Policy = policy.Name,
            Type = policy.Type,
            Store = policy.Store,
            Action = policy.Action,
            Layout = layout.Template,
            MinAge = threshold,
            ReferencesRequired = queries.Count > 0,
            Definition = PolicyDefinition.Fingerprint(policy),
        };
        var totals = plan.Totals;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        var references = new ReferenceSet();
        var referencesTask = queries.Count == 0 || catalogs is null
            ? Task.CompletedTask
            : Task.Run(() => ReadReferencesAsync(layout, queries, catalogs, references, totals, linked.Token), linked.Token);

        var pool = new ConcurrentQueue<ListedBatch>();
        var channel = Channel.CreateBounded<ListedBatch>(new BoundedChannelOptions(ListingBufferKeys / ListingBatchKeys) { SingleReader = true, SingleWriter = true });
        long listedMs = 0;
        var listingTask = Task.Run(
            async () =>
            {
                await ListAsync(store, snapshot?.Objects, new KeyClassifier(layout, trashPrefix, store.Name), pool, channel.Writer, linked.Token);
                listedMs = clock.ElapsedMilliseconds;
            },
            linked.Token);

        // Groups no reference covers go to their own thread, which reads their objects' metadata (a stat per file on
        // a filesystem store) and decides them, in listing order, while the join goes on.
        var unreferenced = Channel.CreateBounded<List<UnreferencedGroup>>(new BoundedChannelOptions(UnreferencedBufferBatches) { SingleReader = true, SingleWriter = true });
        var decideTask = Task.Run(() => DecideAsync(unreferenced, store, layout, policy, now, plan, maxGroupsKept, linked.Token), linked.Token);

        try
        {
            await referencesTask;
            references.Seal();
            var referencesMs = clock.ElapsedMilliseconds;

            // A group is decided at its first key: a referenced group's keys are only counted; an unreferenced group's
            // keys are kept, as strings, for the deciding thread. No batch is held past its own loop.
            UnreferencedGroupBuilder? open = null;
            var closed = new List<UnreferencedGroup>();
            var lastReport = clock.Elapsed;
            await foreach (var batch in channel.Reader.ReadAllAsync(linked.Token))
            {
                open = Join(batch, references, totals, open, closed);
                pool.Enqueue(batch);
                if (closed.Count > 0)
                {
                    await unreferenced.Writer.WriteAsync(closed, linked.Token);
                    closed = [];
                }

                if (progress is not null && clock.Elapsed - lastReport > TimeSpan.FromMilliseconds(500))
                {
                    lastReport = clock.Elapsed;
                    progress.Report(new ScanProgress(policy.Name, totals.ObjectsScanned, totals.BytesScanned, totals.ReferencesRead, clock.Elapsed));
                }
            }

            if (open is not null)
            {
                closed.Add(open.Build());
            }

            if (closed.Count > 0)
            {
                await unreferenced.Writer.WriteAsync(closed, linked.Token);
            }

            unreferenced.Writer.Complete();
            var joinedMs = clock.ElapsedMilliseconds;
            var (bytesRead, vanished) = await decideTask;
            totals.BytesScanned += bytesRead;
            totals.GroupsScanned -= vanished;
            await listingTask;
            Timing?.Invoke(
                $"references sealed at {referencesMs} ms ({references.Count} distinct), listing done at {listedMs} ms, join done at {joinedMs} ms, unreferenced groups decided at {clock.ElapsedMilliseconds} ms; " +
                $"process so far: {GC.GetTotalAllocatedBytes() >> 20} MB allocated, heap {GC.GetGCMemoryInfo().HeapSizeBytes >> 20} MB, committed {GC.GetGCMemoryInfo().TotalCommittedBytes >> 20} MB, working set {Environment.WorkingSet >> 20} MB, GCs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} (gen 0/1/2) pausing {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms, " +
                $"{System.Runtime.JitInfo.GetCompiledMethodCount()} methods compiled in {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0} ms");
        }
        catch (Exception e)
        {
            await linked.CancelAsync();
            unreferenced.Writer.TryComplete();
            await Task.WhenAll(referencesTask, listingTask, decideTask).ContinueWith(static _ => { }, TaskScheduler.Default);
            if (e is ChannelClosedException { InnerException: { } failure })
            {
                // The deciding thread failed and closed its channel: its failure is the one to report.
                ExceptionDispatchInfo.Capture(failure).Throw();
            }

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

    /// <summary>
    /// Joins one listed batch against the references: counts every key, and collects the keys of groups no reference
    /// covers, closing each such group into <paramref name="closed"/> when the next group starts.
    /// </summary>
    /// <returns>The unreferenced group still open at the batch's end (its keys may go on in the next batch), if any.</returns>
    private static UnreferencedGroupBuilder? Join(ListedBatch batch, ReferenceSet references, PolicyTotals totals, UnreferencedGroupBuilder? open, List<UnreferencedGroup> closed)
    {
        references.ContainsFingerprints(batch.GroupFingerprints.AsSpan(0, batch.GroupCount), batch.GroupReferenced);
        long inTrash = 0, scanned = 0, unmatched = 0, groups = 0, referenced = 0, bytes = 0;
        var group = 0;
        var metadata = batch.Metadata;
        for (var i = 0; i < batch.Count; i++)
        {
            var groupLength = batch.GroupLengths[i];
            if (groupLength == KeyClassifier.InTrash)
            {
                inTrash++;
                continue;
            }

            scanned++;
            if (metadata is not null)
            {
                bytes += metadata[i].Size;
            }

            if (groupLength == KeyClassifier.Unmatched)
            {
                unmatched++;
                continue;
            }

            if (batch.StartsGroup[i])
            {
                if (open is not null)
                {
                    closed.Add(open.Build());
                    open = null;
                }

                groups++;
                if (batch.GroupReferenced[group++])
                {
                    referenced++;
                }
                else
                {
                    open = new UnreferencedGroupBuilder(new string(batch.Keys[i][..groupLength]));
                }
            }

            open?.Add(batch, i);
        }

        totals.ObjectsInTrash += inTrash;
        totals.ObjectsScanned += scanned;
        totals.ObjectsUnmatched += unmatched;
        totals.GroupsScanned += groups;
        totals.GroupsReferenced += referenced;
        totals.BytesScanned += bytes;
        return open;
    }

    /// <summary>
    /// Reads every protecting query of the policy into one set (a group any of them renders to is referenced), in
    /// config order; with more than one, each query's rows are counted apart (<see cref="PolicyTotals.Queries"/>) so
    /// that the guards judge each.
    /// </summary>
    private static async Task ReadReferencesAsync(Layout layout, IReadOnlyList<QueryConfig> queries, Func<QueryConfig, ICatalog> catalogs, ReferenceSet references, PolicyTotals totals, CancellationToken cancellationToken)
    {
        foreach (var query in queries)
        {
            var (read, unrenderable) = await ReferenceLoader.LoadAsync(layout, query.Query, catalogs(query), references, cancellationToken);
            totals.ReferencesRead += read;
            totals.ReferencesUnrenderable += unrenderable;
            if (queries.Count > 1)
            {
                totals.Queries.Add(new QueryRows(query.Catalog, read, unrenderable));
            }
        }
    }

    /// <summary>
    /// Lists the store into the channel, classifying each key on the way (<see cref="KeyClassifier"/>): this side
    /// runs while the references are still being read, so the join that follows only looks fingerprints up.
    /// </summary>
    private static async Task ListAsync(IObjectStore store, IAsyncEnumerable<StoredObject>? snapshot, KeyClassifier classifier, ConcurrentQueue<ListedBatch> pool, ChannelWriter<ListedBatch> writer, CancellationToken cancellationToken)
    {
        try
        {
            if (snapshot is null && store is IKeyListing keys)
            {
                ListedBatch? filling = null;
                KeyBatch Next()
                {
                    filling = ListedBatch.Rent(pool, withMetadata: false);
                    return filling.Keys;
                }

                await foreach (var listed in keys.ListKeyBatchesAsync(classifier.Prefix, Next, cancellationToken))
                {
                    var batch = filling!;
                    if (!ReferenceEquals(listed, batch.Keys))
                    {
                        throw new InvalidOperationException($"store '{store.Name}' listed into a batch it was not given");
                    }

                    classifier.Classify(batch);
                    await writer.WriteAsync(batch, cancellationToken);
                }
            }
            else
            {
                // A store that lists several ranges at once (S3) splits the key space where the layout says it can:
                // at the folder of its first variable (orgs/ -> orgs/<org>/) when one follows, else by sampling.
                var batch = ListedBatch.Rent(pool, withMetadata: true);
                var listing = snapshot ?? (store is IPartitionedListing partitioned
                    ? partitioned.ListPartitionedAsync(classifier.Prefix, classifier.Split, cancellationToken)
                    : store.ListAsync(classifier.Prefix, cancellationToken));
                await foreach (var item in listing.WithCancellation(cancellationToken))
                {
                    batch.Add(item);
                    if (batch.Keys.IsFull)
                    {
                        classifier.Classify(batch);
                        await writer.WriteAsync(batch, cancellationToken);
                        batch = ListedBatch.Rent(pool, withMetadata: true);
                    }
                }

                if (batch.Count > 0)
                {
                    classifier.Classify(batch);
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

    /// <summary>
    /// Reads the metadata of each unreferenced group's objects (when the listing did not have it) and decides the
    /// group: too young, or proposed. Owns the plan's proposed groups and their totals until it returns.
    /// </summary>
    /// <returns>Bytes of the objects it read metadata for, and how many groups had vanished since they were listed.</returns>
    private static async Task<(long BytesRead, long Vanished)> DecideAsync(
        Channel<List<UnreferencedGroup>> unreferenced,
        IObjectStore store,
        Layout layout,
        PolicyConfig policy,
        DateTimeOffset now,
        PolicyPlan plan,
        long maxObjectsKept,
        CancellationToken cancellationToken)
    {
        try
        {
            var totals = plan.Totals;
            long bytesRead = 0;
            long vanished = 0;
            var threshold = Duration.Format(plan.MinAge);
            string? reason = null;
            var reasonAgeSeconds = long.MinValue;
            await foreach (var groups in unreferenced.Reader.ReadAllAsync(cancellationToken))
            {
                foreach (var group in groups)
                {
                    var objects = new List<StoredObject>(group.Known?.Length ?? group.Keys!.Length);
                    if (group.Known is { } known)
                    {
                        objects.AddRange(known);
                    }
                    else
                    {
                        foreach (var key in group.Keys!)
                        {
                            if (await store.StatAsync(key, cancellationToken) is { } found)
                            {
                                objects.Add(found);
                                bytesRead += found.Size;
                            }
                        }
                    }

                    if (objects.Count == 0)
                    {
                        // Everything vanished since it was listed: nothing to decide.
                        vanished++;
                        continue;
                    }

                    var newest = DateTimeOffset.MinValue;
                    long bytes = 0;
                    foreach (var item in objects)
                    {
                        newest = item.LastModified > newest ? item.LastModified : newest;
                        bytes += item.Size;
                    }

                    switch (OrphanRule.Classify(false, newest, now, plan.MinAge))
                    {
                        case GroupVerdictKind.TooYoung:
                            totals.GroupsTooYoung++;
                            break;
                        case GroupVerdictKind.Orphaned:
                            totals.GroupsOrphaned++;
                            totals.ObjectsOrphaned += objects.Count;
                            totals.BytesReclaimable += bytes;
                            if (totals.ObjectsOrphaned <= maxObjectsKept)
                            {
                                // Groups written together are often of one age: their reason is made once.
                                var ageSeconds = (long)Math.Floor((now - newest).TotalSeconds);
                                if (ageSeconds != reasonAgeSeconds)
                                {
                                    var age = Duration.Format(TimeSpan.FromSeconds(ageSeconds));
                                    reason = policy.Type == "retention"
                                        ? $"older than max_age {threshold} (newest object {age} old){(plan.ReferencesRequired ? "; not kept by the keep query" : string.Empty)}"
                                        : $"no reference renders to the group; newest object {age} old (min_age {threshold})";
                                    reasonAgeSeconds = ageSeconds;
                                }

                                plan.Groups.Add(new PlannedGroup(group.Key, layout.ExtractValues(group.Key), objects, newest, reason!));
                            }

                            break;
                        default:
                            throw new UnreachableException();
                    }
                }
            }

            return (bytesRead, vanished);
        }
        catch (Exception e)
        {
            unreferenced.Writer.TryComplete(e);
            throw;
        }
    }

    /// <summary>A group no reference covers: its key, and its objects' keys (or, when the listing had it, their metadata).</summary>
    private sealed record UnreferencedGroup(string Key, string[]? Keys, StoredObject[]? Known);

    /// <summary>
    /// Listed keys, with their metadata when the listing had it (a store without <see cref="IKeyListing"/>), and per
    /// key what <see cref="KeyClassifier"/> found: the group key's length (or why there is none), whether the key
    /// starts a new group, and, per group started, the group key's fingerprint.
    /// </summary>
    private sealed class ListedBatch(KeyBatch keys, StoredObject[]? metadata)
    {
        public KeyBatch Keys { get; } = keys;

        public StoredObject[]? Metadata { get; } = metadata;

        public int Count => Keys.Count;

        public int[] GroupLengths { get; } = new int[keys.Capacity];

        public bool[] StartsGroup { get; } = new bool[keys.Capacity];

        /// <summary>How many keys start a group: the first <see cref="GroupCount"/> entries of <see cref="GroupFingerprints"/> are theirs, in order.</summary>
        public int GroupCount { get; set; }

        public ulong[] GroupFingerprints { get; } = new ulong[keys.Capacity];

        /// <summary>Per group of <see cref="GroupFingerprints"/>, whether a reference covers it (filled by the join).</summary>
        public bool[] GroupReferenced { get; } = new bool[keys.Capacity];

        /// <summary>An empty batch: one the join has finished with, or a new one.</summary>
        public static ListedBatch Rent(ConcurrentQueue<ListedBatch> pool, bool withMetadata)
        {
            if (!pool.TryDequeue(out var batch))
            {
                return new ListedBatch(new KeyBatch(ListingBatchKeys), withMetadata ? new StoredObject[ListingBatchKeys] : null);
            }

            batch.Keys.Clear();
            Array.Clear(batch.StartsGroup);
            batch.GroupCount = 0;
            return batch;
        }

        public void Add(StoredObject item)
        {
            Metadata![Keys.Count] = item;
            Keys.Add(item.Key);
        }
    }

    /// <summary>
    /// Classifies listed keys in listing order: checks the order (each key after the one before, in
    /// <see cref="ObjectKey.Compare(ReadOnlySpan{char}, ReadOnlySpan{char})"/> order), puts aside the trash and
    /// keys the layout does not match, and finds each key's group, fingerprinting a group once, at its first key.
    /// </summary>
    private sealed class KeyClassifier(Layout layout, string trashPrefix, string storeName)
    {
        /// <summary>A key under the trash prefix.</summary>
        public const int InTrash = -2;

        /// <summary>A key the layout does not match.</summary>
        public const int Unmatched = -1;

        // Copies, not references into batches: the join hands batches back for reuse. The previous key is copied
        // once per batch (its last key); a folder layout's group key once per group.
        private char[] _previous = new char[256];
        private int _previousLength = -1;
        private char[] _group = new char[256];
        private int _groupLength = -1;

        public string Prefix => layout.FixedPrefix;

        /// <summary>
        /// How a partitioned listing may split the keys under <see cref="Prefix"/>: at the folders right after it when
        /// the layout has a <c>/</c> after its first variable (<c>orgs/{org}/uploads/{asset}/</c>), else by sampling.
        /// </summary>
        public ListingSplit Split => layout.Template.AsSpan(layout.FixedPrefix.Length).Contains('/') ? ListingSplit.FirstFolder : ListingSplit.Sampled;

        /// <exception cref="InvalidOperationException">A key is not after the one before.</exception>
        public void Classify(ListedBatch batch)
        {
            var keys = batch.Keys;
            for (var i = 0; i < batch.Count; i++)
            {
                var key = keys[i];
                var previous = i > 0 ? keys[i - 1] : _previousLength >= 0 ? _previous.AsSpan(0, _previousLength) : default;
                if ((i > 0 || _previousLength >= 0) && ObjectKey.Compare(key, previous) <= 0)
                {
                    throw new InvalidOperationException($"store '{storeName}' listed '{ObjectKey.Printable(key.ToString())}' after '{ObjectKey.Printable(previous.ToString())}': keys out of order; nothing is planned");
                }

                var length = ObjectKey.IsUnder(key, trashPrefix) ? InTrash : layout.MatchGroupLength(key);
                batch.GroupLengths[i] = length;
                if (length < 0)
                {
                    continue;
                }

                var groupKey = key[..length];
                if (layout.IsFolder)
                {
                    if (_groupLength >= 0 && groupKey.SequenceEqual(_group.AsSpan(0, _groupLength)))
                    {
                        continue;
                    }

                    _groupLength = Copy(groupKey, ref _group);
                }

                // In an object layout each key is its own group, and keys only increase: every key starts one.
                batch.StartsGroup[i] = true;
                batch.GroupFingerprints[batch.GroupCount++] = KeyFingerprint.Of(groupKey);
            }

            if (batch.Count > 0)
            {
                _previousLength = Copy(keys[batch.Count - 1], ref _previous);
            }
        }

        private static int Copy(ReadOnlySpan<char> from, ref char[] to)
        {
            if (from.Length > to.Length)
            {
                to = new char[Math.Max(from.Length, to.Length * 2)];
            }

            from.CopyTo(to);
            return from.Length;
        }
    }

    /// <summary>Collects an unreferenced group's objects as the join reads them: their keys, or their metadata when the listing had it.</summary>
    private sealed class UnreferencedGroupBuilder(string key)
    {
        // Most groups of an object layout hold one object: lists only from the second one on.
        private string? _onlyKey;
        private List<string>? _keys;
        private List<StoredObject>? _known;

        public void Add(ListedBatch batch, int index)
        {
            if (batch.Metadata is { } metadata)
            {
                (_known ??= []).Add(metadata[index]);
                return;
            }

            // An object layout's group key is the object's own key: keep one string for both.
            var objectKey = batch.Keys[index];
            var keyString = objectKey.Length == key.Length ? key : new string(objectKey);
            if (_onlyKey is null && _keys is null)
            {
                _onlyKey = keyString;
                return;
            }

            _keys ??= [_onlyKey!];
            _keys.Add(keyString);
        }

        public UnreferencedGroup Build() =>
            _known is not null ? new(key, null, [.. _known]) : new(key, _keys is not null ? [.. _keys] : [_onlyKey!], null);
    }
}
