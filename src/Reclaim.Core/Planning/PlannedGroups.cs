namespace Reclaim.Core.Planning;

/// <summary>
/// Where <see cref="PlannedGroups"/> puts the groups beyond its in-memory head (a <see cref="Spool{T}"/> of groups
/// that can make another like itself). The I/O (a temporary file) is the caller's: Core only defines the seam.
/// </summary>
public abstract class PlannedGroupSpool : Spool<PlannedGroup>
{
    /// <summary>A new, empty spool of the same kind (in the same place).</summary>
    /// <returns>The spool.</returns>
    public abstract PlannedGroupSpool CreateEmpty();
}

/// <summary>
/// The groups a layout policy proposes, in the order added (key order, from the planner), read as a stream: a
/// <see cref="SpooledSequence{T}"/> of groups. Without a spool every group is held in memory (a test). With one, the first
/// <c>inMemory</c> groups are held (enough for any sample a plan shows) and the rest go to the spool, so a plan of
/// millions of proposed objects holds a bounded number of them; each enumeration reads the spool back from its start.
/// </summary>
/// <remarks>
/// Append-only: <see cref="SpooledSequence{T}.Remove"/> is not supported, nor <see cref="SpooledSequence{T}.Clear"/> once groups went
/// to the spool. Add from one thread; enumerate once adding is done.
/// </remarks>
public sealed class PlannedGroups : SpooledSequence<PlannedGroup>
{
    /// <summary>Creates an empty sequence held in memory.</summary>
    public PlannedGroups()
    {
    }

    /// <summary>Creates an empty sequence that holds its first <paramref name="inMemory"/> groups and spools the rest.</summary>
    /// <param name="spool">Receives the groups beyond the head; owned by the caller.</param>
    /// <param name="inMemory">Groups held in memory, 0 or more.</param>
    /// <exception cref="ArgumentNullException"><paramref name="spool"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inMemory"/> is negative.</exception>
    public PlannedGroups(PlannedGroupSpool spool, int inMemory)
        : base(spool, inMemory)
    {
    }

    /// <summary>A new, empty sequence held the same way (in memory, or with a new spool of the same kind and the same head).</summary>
    /// <returns>The sequence.</returns>
    public PlannedGroups CreateEmpty() => Spool is PlannedGroupSpool spool ? new PlannedGroups(spool.CreateEmpty(), HeadSize) : new PlannedGroups();
}
