namespace Reclaim.Core.References;

/// <summary>
/// The set of group keys that references render to, held as 64-bit fingerprints (<see cref="KeyFingerprint"/>)
/// in one sorted array: 8 bytes per reference once sealed (up to 16 while growing), whatever the key length.
/// </summary>
/// <remarks>
/// Build with <see cref="Add(string)"/> from one thread, then <see cref="Seal"/>; after that,
/// <see cref="Contains"/> is a binary search and safe from any thread. A fingerprint collision only ever
/// keeps an object (the safe direction).
/// </remarks>
public sealed class ReferenceSet
{
    private ulong[] _items = new ulong[1024];
    private int _count;
    private bool _sealed;

    /// <summary>How many references were added (rows that rendered to a group key), duplicates included.</summary>
    public long Added { get; private set; }

    /// <summary>How many distinct fingerprints the set holds; valid after <see cref="Seal"/>.</summary>
    public int Count => _count;

    /// <summary>Bytes the fingerprint array occupies.</summary>
    public long MemoryBytes => (long)_items.Length * sizeof(ulong);

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
            Array.Resize(ref _items, _items.Length * 2);
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

        Array.Sort(_items, 0, _count);
        var unique = 0;
        for (var i = 0; i < _count; i++)
        {
            if (unique == 0 || _items[unique - 1] != _items[i])
            {
                _items[unique++] = _items[i];
            }
        }

        _count = unique;
        Array.Resize(ref _items, Math.Max(unique, 1));
        _sealed = true;
    }

    /// <summary>Whether some reference rendered to <paramref name="groupKey"/> (or to a key with the same fingerprint).</summary>
    /// <param name="groupKey">A group key.</param>
    /// <returns><see langword="true"/> when the group is (or may be) referenced.</returns>
    /// <exception cref="InvalidOperationException">The set is not sealed yet.</exception>
    public bool Contains(ReadOnlySpan<char> groupKey)
    {
        if (!_sealed)
        {
            throw new InvalidOperationException("seal the reference set before looking keys up");
        }

        return Array.BinarySearch(_items, 0, _count, KeyFingerprint.Of(groupKey)) >= 0;
    }
}
