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
/// Plans a layout policy (<c>orphans</c>, and <c>retention</c> with its keep query): streams the references query
/// into a <see cref="ReferenceSet"/> while the store's listing streams in parallel, then walks the listing once,
/// group by group (keys arrive in ordinal order, so a folder group's objects are contiguous) with
/// <see cref="ReferenceJoin"/>. Metadata is read only for groups no reference covers when the store can list keys
/// alone (<see cref="IKeyListing"/>). A store that lists several key ranges at once (<see cref="IPartitionedListing"/>, S3)
/// is listed that way, split where the layout allows; one with a snapshot (<see cref="ISnapshotListing"/>, an S3
/// Inventory) is listed from it, and aged at the snapshot's time.
/// </summary>
/// <remarks>
/// <para>
/// The join is chosen by the references' size, automatically: up to <see cref="ReferencesInMemory"/> fingerprints
/// it runs in memory (the fastest way for most stores); beyond, the references and the listed groups are hashed into
/// partitions on disk and joined partition by partition (<see cref="PartitionedJoin"/>), which plans exactly the same
/// groups in the same order.
/// </para>
/// <para>
/// Memory is bounded whatever the store's size: at most <see cref="ReferencesInMemory"/> fingerprints (8 bytes each,
/// 16 MB by default), a bounded listing buffer (<see cref="ListingBufferKeys"/> keys), the current group, and
/// <see cref="GroupsInMemory"/> proposed groups; further proposed groups go to a spool on disk
/// (<see cref="PlannedGroups"/>). Beyond the plan's <c>max_delete_count</c> only counts are kept (the guard refuses
/// such a plan anyway). Spill files go to <see cref="SpillDirectory"/> and are unlinked as soon as they are made, so
/// nothing is left behind whatever ends the process.
/// </para>
/// </remarks>
public sealed class LayoutPlanner(TimeProvider timeProvider)
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

    /// <summary>
    /// The default of <see cref="ReferencesInMemory"/>: 2,097,152 fingerprints (16 MB; 32 MB while the set is sorted).
    /// A million references join in memory as before; four million or more go through the partitioned join.
    /// </summary>
    public const int DefaultReferencesInMemory = 1 << 21;

    /// <summary>The default of <see cref="GroupsInMemory"/>: 4096 proposed groups.</summary>
    public const int DefaultGroupsInMemory = 4096;

    /// <summary>How many proposed group keys a plan shows as a sample: 10.</summary>
    public const int SampleSize = 10;

    /// <summary>Receives a line with the planner's phase timings, for <c>--verbose</c>; may be <see langword="null"/>.</summary>
    public Action<string>? Timing { get; init; }

    /// <summary>
    /// The most reference fingerprints joined in memory, 1 or more; a references query rendering more spills to disk
    /// and the join is partitioned. Default <see cref="DefaultReferencesInMemory"/>.
    /// </summary>
    public int ReferencesInMemory { get; init; } = DefaultReferencesInMemory;

    /// <summary>Proposed groups held in memory, 0 or more; the rest are spooled to disk. Default <see cref="DefaultGroupsInMemory"/>.</summary>
    public int GroupsInMemory { get; init; } = DefaultGroupsInMemory;

    /// <summary>Keys per listed batch: <see cref="ListingBatchKeys"/>; smaller in tests, so few keys span several batches.</summary>
    internal int BatchKeys { get; init; } = ListingBatchKeys;

    /// <summary>Where spill files go: the system's temporary folder (<c>TMPDIR</c>) by default.</summary>
    public string SpillDirectory { get; init; } = Path.GetTempPath();

    /// <summary>
    /// The keys each store (by name) holds quarantined in place by tag, never candidates (see <see cref="KeyClassifier"/>);
    /// <see langword="null"/> when no store quarantines by tag.
    /// </summary>
    public Func<string, HashSet<string>?>? QuarantinedInPlace { get; init; }

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
    public Task<PolicyPlan> PlanAsync(LayoutPolicy policy, IObjectStore store, ICatalog? catalog, string trashPrefix, long maxGroupsKept, IProgress<ScanProgress>? progress, CancellationToken cancellationToken) =>
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
        LayoutPolicy policy,
        IObjectStore store,
        Func<QueryConfig, ICatalog>? catalogs,
        string trashPrefix,
        long maxGroupsKept,
        IProgress<ScanProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var layout = policy.Layout;
        var queries = policy.ProtectingQueries;
        var threshold = policy.AgeThreshold;
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
            Type = policy.Kind,
            Store = policy.Store,
            Action = policy.Action,
            Layout = layout.Template,
            MinAge = threshold,
            ReferencesRequired = queries.Count > 0,
            Definition = PolicyDefinition.Fingerprint(policy),
            Groups = new PlannedGroups(new SpilledGroupSpool(SpillDirectory), GroupsInMemory),
        };
        var totals = plan.Totals;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        using var partitioned = new PartitionedJoin(SpillDirectory);
        var references = new ReferenceSet(ReferencesInMemory, partitioned.AddReferences);
        var referencesTask = queries.Count == 0 || catalogs is null
            ? Task.CompletedTask
            : Task.Run(() => ReadReferencesAsync(layout, queries, catalogs, references, totals, linked.Token), linked.Token);

        var pool = new ConcurrentQueue<ListedBatch>();
        var channel = Channel.CreateBounded<ListedBatch>(new BoundedChannelOptions(ListingBufferKeys / ListingBatchKeys) { SingleReader = true, SingleWriter = true });
        long listedMs = 0;
        var listingTask = Task.Run(
            async () =>
            {
                await ListAsync(store, snapshot?.Objects, new KeyClassifier(layout, trashPrefix, store.Name, QuarantinedInPlace?.Invoke(store.Name)), pool, BatchKeys, channel.Writer, linked.Token);
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
            async ValueTask JoinAsync(ListedBatch batch)
            {
                open = ReferenceJoin.Join(batch, totals, open, closed);
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

            var spilled = references.Spilled;
            await foreach (var batch in channel.Reader.ReadAllAsync(linked.Token))
            {
                if (spilled)
                {
                    // Too many references to hold: the batch waits on disk for its partitions' answers.
                    partitioned.AddListed(batch);
                    pool.Enqueue(batch);
                    continue;
                }

                batch.LookUp(references);
                await JoinAsync(batch);
            }

            var largestPartition = 0;
            if (spilled)
            {
                largestPartition = partitioned.Probe(linked.Token);
                foreach (var batch in partitioned.Replay(pool, BatchKeys))
                {
                    await JoinAsync(batch);
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
                (spilled
                    ? $"references spilled at {referencesMs} ms ({partitioned.ReferencesSpilled} in {PartitionedJoin.Partitions} partitions, at most {largestPartition} distinct in one; {partitioned.GroupsSpilled} groups), joined on disk, "
                    : $"references sealed at {referencesMs} ms ({references.Count} distinct), joined in memory, ") +
                $"{plan.Groups.Spooled} proposed groups spooled; listing done at {listedMs} ms, join done at {joinedMs} ms, unreferenced groups decided at {clock.ElapsedMilliseconds} ms; " +
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
    private static async Task ListAsync(IObjectStore store, IAsyncEnumerable<StoredObject>? snapshot, KeyClassifier classifier, ConcurrentQueue<ListedBatch> pool, int batchKeys, ChannelWriter<ListedBatch> writer, CancellationToken cancellationToken)
    {
        try
        {
            if (snapshot is null && store is IKeyListing keys)
            {
                ListedBatch? filling = null;
                KeyBatch Next()
                {
                    filling = ListedBatch.Rent(pool, withMetadata: false, batchKeys);
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
                var batch = ListedBatch.Rent(pool, withMetadata: true, batchKeys);
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
                        batch = ListedBatch.Rent(pool, withMetadata: true, batchKeys);
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
        LayoutPolicy policy,
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
                                    reason = policy is RetentionPolicy
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
}
