
namespace Reclaim.Core.References;

/// <summary>
/// The set of group keys that references render to, held as 64-bit fingerprints (<see cref="KeyFingerprint"/>)
/// in one sorted array: 8 bytes per reference once sealed (up to 16 while growing), whatever the key length.
/// </summary>
/// <remarks>
/// Build with <see cref="Add(string)"/> from one thread, then <see cref="Seal"/>; after that,
/// <see cref="Contains"/> is a binary search and safe from any thread. A fingerprint collision only ever
/// keeps an object (the safe direction).
/// A set made with a spill (<see cref="ReferenceSet(int, FingerprintSpill)"/>) holds at most its limit of
/// fingerprints: when it fills, it hands them to the spill and starts again empty, and from then on it is
/// <see cref="Spilled"/>: the caller joins from what it spilled, and the set answers no lookups.
/// </remarks>
public sealed class ReferenceSet
{
    private readonly int _limit = int.MaxValue;
    private readonly FingerprintSpill? _spill;
    private ulong[] _items = new ulong[1024];
    private int[] _buckets = [];
    private int _bucketShift = 64;
    private int _count;
    private bool _sealed;

    // Where the first reads of a batch lookup go, so the compiler cannot drop them as unused.
    private ulong _touched;

    /// <summary>Creates an empty set held in memory whatever its size.</summary>
    public ReferenceSet()
    {
    }

    /// <summary>Creates an empty set that hands its fingerprints to <paramref name="spill"/> whenever it holds <paramref name="limit"/> of them.</summary>
    /// <param name="limit">The most fingerprints held at once, 1 or more (8 bytes each).</param>
    /// <param name="spill">Receives each full buffer (unsorted, duplicates included), and what is left at <see cref="Seal"/> once it has spilled.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is below 1.</exception>
    public ReferenceSet(int limit, FingerprintSpill spill)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentNullException.ThrowIfNull(spill);
        _limit = limit;
        _spill = spill;
        _items = new ulong[Math.Min(1024, limit)];
    }

    /// <summary>Whether the set outgrew its limit and handed its fingerprints to the spill; it then answers no lookups.</summary>
    public bool Spilled { get; private set; }

    /// <summary>How many references were added (rows that rendered to a group key), duplicates included.</summary>
    public long Added { get; private set; }

    /// <summary>How many distinct fingerprints the set holds; valid after <see cref="Seal"/>.</summary>
    public int Count => _count;

    /// <summary>Bytes the fingerprints and their index occupy: 8 per distinct reference, plus about 1 for the index.</summary>
    public long MemoryBytes => ((long)_items.Length * sizeof(ulong)) + ((long)_buckets.Length * sizeof(int));

    /// <summary>Adds a rendered group key.</summary>
    /// <param name="groupKey">The key a reference rendered to.</param>
    /// <exception cref="InvalidOperationException">The set is sealed.</exception>
    public void Add(string groupKey) => AddFingerprint(KeyFingerprint.Of(groupKey));

    /// <summary>Adds a fingerprint computed by <see cref="KeyFingerprint.Of"/>.</summary>
    /// <param name="fingerprint">The fingerprint.</param>
    /// <exception cref="InvalidOperationException">The set is sealed.</exception>
    public void AddFingerprint(ulong fingerprint)
    {
        if (_sealed)
        {
            throw new InvalidOperationException("the reference set is sealed");
        }

        if (_count == _items.Length)
        {
            if (_count >= _limit)
            {
                _spill!(_items.AsSpan(0, _count));
                _count = 0;
                Spilled = true;
            }
            else
            {
                Array.Resize(ref _items, (int)Math.Min((long)_items.Length * 2, _limit));
            }
        }

        _items[_count++] = fingerprint;
        Added++;
    }

    /// <summary>Sorts and de-duplicates the fingerprints and trims the array; no more adds after this.</summary>
    public void Seal()
    {
        if (_sealed)
        {
            return;
        }

        if (Spilled)
        {
            _spill!(_items.AsSpan(0, _count));
            _items = [];
            _count = 0;
            _sealed = true;
            return;
        }

        // A counting sort on the index's top bits (fingerprints are uniform, so each bucket holds a handful), then
        // each bucket sorted and de-duplicated on its own: linear time, where a comparison sort of a million
        // fingerprints takes several times longer.
        var bits = IndexBits(_count);
        _bucketShift = 64 - bits;
        var buckets = new int[(1 << bits) + 1];
        for (var i = 0; i < _count; i++)
        {
            buckets[Bucket(_items[i]) + 1]++;
        }

        for (var bucket = 0; bucket < 1 << bits; bucket++)
        {
            buckets[bucket + 1] += buckets[bucket];
        }

        var sorted = new ulong[Math.Max(_count, 1)];
        for (var i = 0; i < _count; i++)
        {
            sorted[buckets[Bucket(_items[i])]++] = _items[i];
        }

        // Each bucket's counter now holds the next bucket's start: shift them back.
        Array.Copy(buckets, 0, buckets, 1, 1 << bits);
        buckets[0] = 0;

        var unique = 0;
        var start = 0;
        for (var bucket = 0; bucket < 1 << bits; bucket++)
        {
            var end = buckets[bucket + 1];
            if (end - start > 1)
            {
                sorted.AsSpan(start, end - start).Sort();
            }

            buckets[bucket] = unique;
            for (var i = start; i < end; i++)
            {
                if (unique == buckets[bucket] || sorted[unique - 1] != sorted[i])
                {
                    sorted[unique++] = sorted[i];
                }
            }

            start = end;
        }

        buckets[1 << bits] = unique;
        _items = sorted;
        _buckets = buckets;
        _count = unique;
        if (unique < _items.Length)
        {
            // Duplicates: trim the array, and size the index for what is left when that changes its size.
            Array.Resize(ref _items, Math.Max(unique, 1));
            if (IndexBits(unique) != bits)
            {
                BuildIndex();
            }
        }

        _sealed = true;
    }

    /// <summary>Whether some reference rendered to <paramref name="groupKey"/> (or to a key with the same fingerprint).</summary>
    /// <param name="groupKey">A group key.</param>
    /// <returns><see langword="true"/> when the group is (or may be) referenced.</returns>
    /// <exception cref="InvalidOperationException">The set is not sealed yet, or it spilled.</exception>
    public bool Contains(ReadOnlySpan<char> groupKey) => ContainsFingerprint(KeyFingerprint.Of(groupKey));

    /// <summary>Whether some reference rendered to a key with this <see cref="KeyFingerprint"/>.</summary>
    /// <param name="fingerprint">A group key's fingerprint (<see cref="KeyFingerprint.Of"/>).</param>
    /// <returns><see langword="true"/> when the group is (or may be) referenced.</returns>
    /// <exception cref="InvalidOperationException">The set is not sealed yet, or it spilled.</exception>
    public bool ContainsFingerprint(ulong fingerprint)
    {
        ThrowUnlessLookable();

        if (_count == 0)
        {
            return false;
        }

        // The index narrows the search to the few fingerprints sharing the top bits: one or two cache lines
        // instead of ~20 scattered probes of a binary search over the whole array.
        var bucket = Bucket(fingerprint);
        return Scan(_buckets[bucket], _buckets[bucket + 1], fingerprint);
    }

    /// <summary>
    /// <see cref="ContainsFingerprint"/> for many fingerprints at once. It reads the index entries of a whole chunk
    /// first, then the first fingerprint of each entry's range, and only then compares: the reads of one pass do not
    /// depend on each other, so their cache misses overlap instead of queueing one after the other. For a set larger
    /// than the CPU caches (a million references is 8 MB) that is several times faster than one lookup at a time.
    /// </summary>
    /// <param name="fingerprints">Fingerprints to look up (<see cref="KeyFingerprint.Of"/>).</param>
    /// <param name="contained">Receives, per fingerprint, whether the set holds it; at least as long as <paramref name="fingerprints"/>.</param>
    /// <exception cref="InvalidOperationException">The set is not sealed yet, or it spilled.</exception>
    /// <exception cref="ArgumentException"><paramref name="contained"/> is shorter than <paramref name="fingerprints"/>.</exception>
    public void ContainsFingerprints(ReadOnlySpan<ulong> fingerprints, Span<bool> contained)
    {
        ThrowUnlessLookable();

        if (contained.Length < fingerprints.Length)
        {
            throw new ArgumentException($"room for {contained.Length} answers, {fingerprints.Length} fingerprints", nameof(contained));
        }

        if (_count == 0)
        {
            contained[..fingerprints.Length].Clear();
            return;
        }

        const int Chunk = 256;
        Span<int> starts = stackalloc int[Chunk];
        ulong touched = 0;
        for (var offset = 0; offset < fingerprints.Length; offset += Chunk)
        {
            var chunk = fingerprints.Slice(offset, Math.Min(Chunk, fingerprints.Length - offset));
            for (var j = 0; j < chunk.Length; j++)
            {
                starts[j] = _buckets[Bucket(chunk[j])];
            }

            for (var j = 0; j < chunk.Length; j++)
            {
                touched ^= _items[Math.Min(starts[j], _count - 1)];
            }

            for (var j = 0; j < chunk.Length; j++)
            {
                contained[offset + j] = Scan(starts[j], _buckets[Bucket(chunk[j]) + 1], chunk[j]);
            }
        }

        _touched = touched;
    }

    private void ThrowUnlessLookable()
    {
        if (!_sealed)
        {
            throw new InvalidOperationException("seal the reference set before looking keys up");
        }

        if (Spilled)
        {
            throw new InvalidOperationException("the reference set spilled its fingerprints: join from the spill");
        }
    }

    private int Bucket(ulong fingerprint) => _bucketShift == 64 ? 0 : (int)(fingerprint >> _bucketShift);

    private bool Scan(int start, int end, ulong fingerprint)
    {
        for (var i = start; i < end; i++)
        {
            var item = _items[i];
            if (item >= fingerprint)
            {
                return item == fingerprint;
            }
        }

        return false;
    }

    /// <summary>Bits of a fingerprint the index distributes on: enough for about 4 fingerprints per bucket, at most 24.</summary>
    private static int IndexBits(int count)
    {
        var bits = 0;
        while (bits < 24 && (4L << bits) < count)
        {
            bits++;
        }

        return bits;
    }

    /// <summary>Builds the index over the sorted, de-duplicated fingerprints.</summary>
    private void BuildIndex()
    {
        var bits = IndexBits(_count);
        _bucketShift = 64 - bits;
        _buckets = new int[(1 << bits) + 1];
        var index = 0;
        for (var bucket = 0; bucket < (1 << bits); bucket++)
        {
            _buckets[bucket] = index;
            while (index < _count && (bits == 0 ? 0 : (int)(_items[index] >> _bucketShift)) == bucket)
            {
                index++;
            }
        }

        _buckets[1 << bits] = _count;
    }
}

/// <summary>Receives fingerprints a <see cref="ReferenceSet"/> made with a limit hands over (see <see cref="ReferenceSet(int, FingerprintSpill)"/>).</summary>
/// <param name="fingerprints">The fingerprints, valid only during the call.</param>
public delegate void FingerprintSpill(ReadOnlySpan<ulong> fingerprints);
