namespace Reclaim.Core.Storage;

/// <summary>
/// Up to <see cref="Capacity"/> keys stored back to back in one char buffer, so a listing can hand keys over
/// without a string per key (a million-file listing otherwise makes a million strings the planner mostly drops).
/// </summary>
/// <remarks>Not thread-safe: one writer fills a batch, then hands it to one reader.</remarks>
public sealed class KeyBatch
{
    private readonly int[] _ends;
    private char[] _chars;

    /// <summary>Creates an empty batch.</summary>
    /// <param name="capacity">The most keys it holds; at least 1.</param>
    /// <param name="charsPerKey">Initial buffer size per key, in chars (default 32); the buffer grows as needed.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> or <paramref name="charsPerKey"/> is below 1.</exception>
    public KeyBatch(int capacity, int charsPerKey = 32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(charsPerKey, 1);
        _ends = new int[capacity];
        _chars = new char[capacity * charsPerKey];
    }

    /// <summary>The most keys the batch holds.</summary>
    public int Capacity => _ends.Length;

    /// <summary>How many keys it holds.</summary>
    public int Count { get; private set; }

    /// <summary>Whether it holds <see cref="Capacity"/> keys.</summary>
    public bool IsFull => Count == _ends.Length;

    /// <summary>The key at <paramref name="index"/>, valid until the batch is cleared.</summary>
    /// <param name="index">0 to <see cref="Count"/> - 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">The index is outside the batch.</exception>
    public ReadOnlySpan<char> this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            var start = index == 0 ? 0 : _ends[index - 1];
            return _chars.AsSpan(start, _ends[index] - start);
        }
    }

    /// <summary>The key at <paramref name="index"/> as a string.</summary>
    /// <param name="index">0 to <see cref="Count"/> - 1.</param>
    /// <returns>A new string.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The index is outside the batch.</exception>
    public string GetString(int index) => new(this[index]);

    /// <summary>Adds a key made of two parts (for example a folder key and a file name).</summary>
    /// <param name="prefix">The key's first part; may be empty.</param>
    /// <param name="rest">The rest of the key.</param>
    /// <exception cref="InvalidOperationException">The batch is full.</exception>
    public void Add(ReadOnlySpan<char> prefix, ReadOnlySpan<char> rest)
    {
        if (IsFull)
        {
            throw new InvalidOperationException("the key batch is full");
        }

        var start = Count == 0 ? 0 : _ends[Count - 1];
        var end = start + prefix.Length + rest.Length;
        if (end > _chars.Length)
        {
            var larger = new char[Math.Max(end, _chars.Length * 2)];
            _chars.AsSpan(0, start).CopyTo(larger);
            _chars = larger;
        }

        prefix.CopyTo(_chars.AsSpan(start));
        rest.CopyTo(_chars.AsSpan(start + prefix.Length));
        _ends[Count++] = end;
    }

    /// <summary>Adds a key.</summary>
    /// <param name="key">The key.</param>
    /// <exception cref="InvalidOperationException">The batch is full.</exception>
    public void Add(ReadOnlySpan<char> key) => Add(key, []);

    /// <summary>Empties the batch, keeping its buffers.</summary>
    public void Clear() => Count = 0;
}
