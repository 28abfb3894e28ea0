using System.Collections.Concurrent;
using Reclaim.Core.Layouts;
using Reclaim.Core.References;
using Reclaim.Core.Storage;

namespace Reclaim.Core.Planning;

/// <summary>
/// The join of a layout policy (<c>orphans</c>, <c>retention</c>): walks listed batches in key order, counts every
/// key, and collects the objects of the groups no reference covers, group by group. Pure: whether each group is
/// referenced is filled into the batch beforehand (<see cref="ListedBatch.LookUp"/> against an in-memory
/// <see cref="ReferenceSet"/>, or from a partitioned join on disk), so both ways of joining share this one walk.
/// </summary>
public static class ReferenceJoin
{
    /// <summary>
    /// Joins one listed batch whose <see cref="ListedBatch.GroupReferenced"/> is filled: counts every key into
    /// <paramref name="totals"/> (trash, scanned, unmatched, groups, referenced groups, listed bytes), and collects
    /// the keys of groups no reference covers, closing each such group into <paramref name="closed"/> when the next
    /// group starts.
    /// </summary>
    /// <param name="batch">A classified batch (<see cref="KeyClassifier.Classify"/>) with its groups looked up.</param>
    /// <param name="totals">Counters to add to.</param>
    /// <param name="open">The unreferenced group the batch before left open, if any.</param>
    /// <param name="closed">Receives the unreferenced groups that end within this batch, in key order.</param>
    /// <returns>The unreferenced group still open at the batch's end (its keys may go on in the next batch), if any.</returns>
    public static UnreferencedGroupBuilder? Join(ListedBatch batch, PolicyTotals totals, UnreferencedGroupBuilder? open, List<UnreferencedGroup> closed)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(totals);
        ArgumentNullException.ThrowIfNull(closed);
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
}

/// <summary>A group no reference covers: its key, and its objects' keys (or, when the listing had it, their metadata).</summary>
/// <param name="Key">The group key.</param>
/// <param name="Keys">The objects' keys in key order, when the listing had no metadata; otherwise <see langword="null"/>.</param>
/// <param name="Known">The objects in key order, when the listing had their metadata; otherwise <see langword="null"/>.</param>
public sealed record UnreferencedGroup(string Key, string[]? Keys, StoredObject[]? Known);

/// <summary>
/// Listed keys, with their metadata when the listing had it (a store without <see cref="IKeyListing"/>), and per
/// key what <see cref="KeyClassifier"/> found: the group key's length (or why there is none), whether the key
/// starts a new group, and, per group started, the group key's fingerprint and whether a reference covers it.
/// </summary>
/// <param name="keys">The keys (capacity <see cref="KeyBatch.Capacity"/>).</param>
/// <param name="metadata">Room for the keys' metadata, as long as the keys' capacity; <see langword="null"/> for a key listing.</param>
/// <remarks>Not thread-safe: filled by one thread, then handed to one other.</remarks>
public sealed class ListedBatch(KeyBatch keys, StoredObject[]? metadata)
{
    /// <summary>The keys.</summary>
    public KeyBatch Keys { get; } = keys;

    /// <summary>Per key, its metadata, when the listing had it; otherwise <see langword="null"/>.</summary>
    public StoredObject[]? Metadata { get; } = metadata;

    /// <summary>How many keys the batch holds.</summary>
    public int Count => Keys.Count;

    /// <summary>Per key: its group key's length, or <see cref="KeyClassifier.InTrash"/> or <see cref="KeyClassifier.Unmatched"/>.</summary>
    public int[] GroupLengths { get; } = new int[keys.Capacity];

    /// <summary>Per key: whether it starts a group.</summary>
    public bool[] StartsGroup { get; } = new bool[keys.Capacity];

    /// <summary>How many keys start a group: the first <see cref="GroupCount"/> entries of <see cref="GroupFingerprints"/> are theirs, in order.</summary>
    public int GroupCount { get; set; }

    /// <summary>Per group started in the batch, in order, its group key's <see cref="KeyFingerprint"/>.</summary>
    public ulong[] GroupFingerprints { get; } = new ulong[keys.Capacity];

    /// <summary>Per group of <see cref="GroupFingerprints"/>, whether a reference covers it (filled before the join).</summary>
    public bool[] GroupReferenced { get; } = new bool[keys.Capacity];

    /// <summary>An empty batch of <paramref name="capacity"/> keys: one from <paramref name="pool"/>, cleared, or a new one.</summary>
    /// <param name="pool">Batches the join has finished with.</param>
    /// <param name="withMetadata">Whether the batch carries metadata (for a new one; a pool holds one kind).</param>
    /// <param name="capacity">Keys per batch, 1 or more.</param>
    /// <returns>An empty batch.</returns>
    public static ListedBatch Rent(ConcurrentQueue<ListedBatch> pool, bool withMetadata, int capacity)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (!pool.TryDequeue(out var batch))
        {
            return new ListedBatch(new KeyBatch(capacity), withMetadata ? new StoredObject[capacity] : null);
        }

        batch.Clear();
        return batch;
    }

    /// <summary>Empties the batch, keeping its buffers.</summary>
    public void Clear()
    {
        Keys.Clear();
        Array.Clear(StartsGroup);
        GroupCount = 0;
    }

    /// <summary>Adds a listed object with its metadata.</summary>
    /// <param name="item">The object.</param>
    /// <exception cref="InvalidOperationException">The batch has no metadata, or is full.</exception>
    public void Add(StoredObject item)
    {
        if (Metadata is null)
        {
            throw new InvalidOperationException("a key batch carries no metadata");
        }

        Keys.Add(item.Key);
        Metadata[Keys.Count - 1] = item;
    }

    /// <summary>Fills <see cref="GroupReferenced"/> from an in-memory reference set.</summary>
    /// <param name="references">A sealed reference set.</param>
    /// <exception cref="InvalidOperationException">The set is not sealed.</exception>
    public void LookUp(ReferenceSet references)
    {
        ArgumentNullException.ThrowIfNull(references);
        references.ContainsFingerprints(GroupFingerprints.AsSpan(0, GroupCount), GroupReferenced);
    }
}

/// <summary>
/// Classifies listed keys in listing order: checks the order (each key after the one before, in
/// <see cref="ObjectKey.Compare(ReadOnlySpan{char}, ReadOnlySpan{char})"/> order), puts aside the trash and
/// keys the layout does not match, and finds each key's group, fingerprinting a group once, at its first key.
/// </summary>
/// <param name="layout">The policy's layout.</param>
/// <param name="trashPrefix">The trash prefix (its keys are never candidates).</param>
/// <param name="storeName">The store's name, for messages.</param>
/// <param name="quarantinedInPlace">
/// Keys quarantined in place by tag (<c>quarantine_mode: tag</c>), counted as in the trash and never candidates: a
/// listing does not show tags, so they come from the state's actions; <see langword="null"/> for none.
/// </param>
/// <remarks>Keeps the last key and group of the batch before: one classifier per listing, batches in order.</remarks>
public sealed class KeyClassifier(Layout layout, string trashPrefix, string storeName, HashSet<string>? quarantinedInPlace = null)
{
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>>? _inPlace =
        quarantinedInPlace is { Count: > 0 } set ? set.GetAlternateLookup<ReadOnlySpan<char>>() : null;

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

    /// <summary>The prefix to list: the layout's fixed prefix.</summary>
    public string Prefix => layout.FixedPrefix;

    /// <summary>
    /// How a partitioned listing may split the keys under <see cref="Prefix"/>: at the folders right after it when
    /// the layout has a <c>/</c> after its first variable (<c>orgs/{org}/uploads/{asset}/</c>), else by sampling.
    /// </summary>
    public ListingSplit Split => layout.Template.AsSpan(layout.FixedPrefix.Length).Contains('/') ? ListingSplit.FirstFolder : ListingSplit.Sampled;

    /// <summary>Classifies the batch's keys, filling its <see cref="ListedBatch.GroupLengths"/>, <see cref="ListedBatch.StartsGroup"/> and group fingerprints.</summary>
    /// <param name="batch">The next listed batch, keys in listing order.</param>
    /// <exception cref="InvalidOperationException">A key is not after the one before.</exception>
    public void Classify(ListedBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var keys = batch.Keys;
        for (var i = 0; i < batch.Count; i++)
        {
            var key = keys[i];
            var previous = i > 0 ? keys[i - 1] : _previousLength >= 0 ? _previous.AsSpan(0, _previousLength) : default;
            if ((i > 0 || _previousLength >= 0) && ObjectKey.Compare(key, previous) <= 0)
            {
                throw new InvalidOperationException($"store '{storeName}' listed '{ObjectKey.Printable(key.ToString())}' after '{ObjectKey.Printable(previous.ToString())}': keys out of order; nothing is planned");
            }

            var length = ObjectKey.IsUnder(key, trashPrefix) || (_inPlace is { } inPlace && inPlace.Contains(key)) ? InTrash : layout.MatchGroupLength(key);
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
/// <param name="key">The group key.</param>
public sealed class UnreferencedGroupBuilder(string key)
{
    // Most groups of an object layout hold one object: lists only from the second one on.
    private string? _onlyKey;
    private List<string>? _keys;
    private List<StoredObject>? _known;

    /// <summary>Adds the object at <paramref name="index"/> of <paramref name="batch"/>.</summary>
    /// <param name="batch">A listed batch.</param>
    /// <param name="index">0 to the batch's count - 1.</param>
    public void Add(ListedBatch batch, int index)
    {
        ArgumentNullException.ThrowIfNull(batch);
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

    /// <summary>The group with the objects added so far.</summary>
    /// <returns>A new group.</returns>
    public UnreferencedGroup Build() =>
        _known is not null ? new(key, null, [.. _known]) : new(key, _keys is not null ? [.. _keys] : [_onlyKey!], null);
}
