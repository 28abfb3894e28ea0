using System.Collections;

namespace Reclaim.Core.Planning;

/// <summary>
/// Where a <see cref="SpooledSequence{T}"/> puts the items beyond its in-memory head: an append-only sequence read back in the
/// order written. The I/O (a temporary file) is the caller's: Core only defines the seam.
/// </summary>
/// <typeparam name="T">The items.</typeparam>
public abstract class Spool<T> : IDisposable
{
    /// <summary>Appends an item.</summary>
    /// <param name="item">The item.</param>
    public abstract void Append(T item);

    /// <summary>Reads every item appended so far, in the order appended. Several reads may run one after the other or at once.</summary>
    /// <returns>The items, read lazily.</returns>
    public abstract IEnumerable<T> Read();

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the spool holds.</summary>
    /// <param name="disposing">Whether called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }
}

/// <summary>
/// An append-only sequence read as a stream, in the order added. Without a spool every item is held in memory (a small
/// plan, a test). With one, the first <c>inMemory</c> items are held (enough for any sample a plan shows) and the rest
/// go to the spool, so a plan of millions of items holds a bounded number of them; each enumeration reads the spool
/// back from its start. <see cref="Count"/> is O(1).
/// </summary>
/// <typeparam name="T">The items (a plan's groups or rows).</typeparam>
/// <remarks>
/// <see cref="Remove"/> is not supported, nor <see cref="Clear"/> once items went to the spool. Add from one thread;
/// enumerate once adding is done. There is no indexer: a reader walks the sequence, once or again from the start.
/// </remarks>
public class SpooledSequence<T> : ICollection<T>, IReadOnlyCollection<T>
    where T : class
{
    private readonly List<T> _head = [];
    private readonly Spool<T>? _spool;
    private readonly int _inMemory = int.MaxValue;
    private int _spooled;

    /// <summary>Creates an empty sequence held in memory.</summary>
    public SpooledSequence()
    {
    }

    /// <summary>Creates an empty sequence that holds its first <paramref name="inMemory"/> items and spools the rest.</summary>
    /// <param name="spool">Receives the items beyond the head; owned by the caller.</param>
    /// <param name="inMemory">Items held in memory, 0 or more.</param>
    /// <exception cref="ArgumentNullException"><paramref name="spool"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inMemory"/> is negative.</exception>
    public SpooledSequence(Spool<T> spool, int inMemory)
    {
        ArgumentNullException.ThrowIfNull(spool);
        ArgumentOutOfRangeException.ThrowIfNegative(inMemory);
        _spool = spool;
        _inMemory = inMemory;
    }

    /// <summary>How many items were added.</summary>
    public int Count => _head.Count + _spooled;

    /// <summary>How many of them went to the spool.</summary>
    public int Spooled => _spooled;

    /// <summary>How many of them are held in memory: at most the head given, or all without a spool.</summary>
    public int InMemory => _head.Count;

    /// <inheritdoc />
    public bool IsReadOnly => false;

    /// <summary>The spool, or <see langword="null"/> when every item is held in memory.</summary>
    protected Spool<T>? Spool => _spool;

    /// <summary>The most items held in memory; <see cref="int.MaxValue"/> without a spool.</summary>
    protected int HeadSize => _inMemory;

    /// <summary>Adds an item after the others.</summary>
    /// <param name="item">The item.</param>
    /// <exception cref="ArgumentNullException"><paramref name="item"/> is <see langword="null"/>.</exception>
    public void Add(T item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (_spool is null || _head.Count < _inMemory)
        {
            _head.Add(item);
            return;
        }

        _spool.Append(item);
        _spooled++;
    }

    /// <summary>Removes every item; only while none went to the spool.</summary>
    /// <exception cref="NotSupportedException">Items went to the spool.</exception>
    public void Clear()
    {
        if (_spooled > 0)
        {
            throw new NotSupportedException("a spooled sequence cannot be cleared once it spilled");
        }

        _head.Clear();
    }

    /// <summary>Whether the sequence holds <paramref name="item"/> (by value; reads the spool).</summary>
    /// <param name="item">An item.</param>
    /// <returns>Whether it is there.</returns>
    public bool Contains(T item) => this.Any(i => i.Equals(item));

    /// <inheritdoc />
    public void CopyTo(T[] array, int arrayIndex)
    {
        ArgumentNullException.ThrowIfNull(array);
        foreach (var item in this)
        {
            array[arrayIndex++] = item;
        }
    }

    /// <summary>Not supported: the sequence is append-only.</summary>
    /// <param name="item">An item.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    public bool Remove(T item) => throw new NotSupportedException("a spooled sequence is append-only");

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator()
    {
        foreach (var item in _head)
        {
            yield return item;
        }

        if (_spool is not null && _spooled > 0)
        {
            foreach (var item in _spool.Read())
            {
                yield return item;
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
