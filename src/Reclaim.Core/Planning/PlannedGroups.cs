using System.Collections;

namespace Reclaim.Core.Planning;

/// <summary>
/// Where <see cref="PlannedGroups"/> puts the groups beyond its in-memory head: an append-only sequence read back in
/// the order written. The I/O (a temporary file) is the caller's: Core only defines the seam.
/// </summary>
public abstract class PlannedGroupSpool : IDisposable
{
    /// <summary>Appends a group.</summary>
    /// <param name="group">The group.</param>
    public abstract void Append(PlannedGroup group);

    /// <summary>A new, empty spool of the same kind (in the same place).</summary>
    /// <returns>The spool.</returns>
    public abstract PlannedGroupSpool CreateEmpty();

    /// <summary>Reads every group appended so far, in the order appended. Several reads may run one after the other or at once.</summary>
    /// <returns>The groups, read lazily.</returns>
    public abstract IEnumerable<PlannedGroup> Read();

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
/// The groups a layout policy proposes, in the order added (key order, from the planner), read as a stream. Without a
/// spool every group is held in memory (a plan read from a file, a test). With one, the first
/// <c>inMemory</c> groups are held (enough for any sample a plan shows) and the rest go to the spool, so a plan of
/// millions of proposed objects holds a bounded number of them; each enumeration reads the spool back from its start.
/// </summary>
/// <remarks>
/// Append-only: <see cref="Remove"/> is not supported, nor <see cref="Clear"/> once groups went to the spool.
/// Add from one thread; enumerate once adding is done.
/// </remarks>
public sealed class PlannedGroups : ICollection<PlannedGroup>, IReadOnlyCollection<PlannedGroup>
{
    private readonly List<PlannedGroup> _head = [];
    private readonly PlannedGroupSpool? _spool;
    private readonly int _inMemory = int.MaxValue;
    private int _spooled;

    /// <summary>Creates an empty sequence held in memory.</summary>
    public PlannedGroups()
    {
    }

    /// <summary>Creates an empty sequence that holds its first <paramref name="inMemory"/> groups and spools the rest.</summary>
    /// <param name="spool">Receives the groups beyond the head; owned by the caller.</param>
    /// <param name="inMemory">Groups held in memory, 0 or more.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inMemory"/> is negative.</exception>
    public PlannedGroups(PlannedGroupSpool spool, int inMemory)
    {
        ArgumentNullException.ThrowIfNull(spool);
        ArgumentOutOfRangeException.ThrowIfNegative(inMemory);
        _spool = spool;
        _inMemory = inMemory;
    }

    /// <summary>A new, empty sequence held the same way (in memory, or with a new spool of the same kind and the same head).</summary>
    /// <returns>The sequence.</returns>
    public PlannedGroups CreateEmpty() => _spool is null ? new PlannedGroups() : new PlannedGroups(_spool.CreateEmpty(), _inMemory);

    /// <summary>How many groups were added.</summary>
    public int Count => _head.Count + _spooled;

    /// <summary>How many of them went to the spool.</summary>
    public int Spooled => _spooled;

    /// <inheritdoc />
    public bool IsReadOnly => false;

    /// <summary>Adds a group after the others.</summary>
    /// <param name="item">The group.</param>
    public void Add(PlannedGroup item)
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

    /// <summary>Removes every group; only while none went to the spool.</summary>
    /// <exception cref="NotSupportedException">Groups went to the spool.</exception>
    public void Clear()
    {
        if (_spooled > 0)
        {
            throw new NotSupportedException("spooled planned groups cannot be cleared");
        }

        _head.Clear();
    }

    /// <summary>Whether the sequence holds <paramref name="item"/> (by value; reads the spool).</summary>
    /// <param name="item">A group.</param>
    /// <returns>Whether it is there.</returns>
    public bool Contains(PlannedGroup item) => this.Any(g => g.Equals(item));

    /// <inheritdoc />
    public void CopyTo(PlannedGroup[] array, int arrayIndex)
    {
        ArgumentNullException.ThrowIfNull(array);
        foreach (var group in this)
        {
            array[arrayIndex++] = group;
        }
    }

    /// <summary>Not supported: the sequence is append-only.</summary>
    /// <param name="item">A group.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    public bool Remove(PlannedGroup item) => throw new NotSupportedException("planned groups are append-only");

    /// <inheritdoc />
    public IEnumerator<PlannedGroup> GetEnumerator()
    {
        foreach (var group in _head)
        {
            yield return group;
        }

        if (_spool is not null && _spooled > 0)
        {
            foreach (var group in _spool.Read())
            {
                yield return group;
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
