using System.Runtime;

namespace Reclaim.Cli;

/// <summary>
/// Holds garbage collection off while the CLI makes a plan (<see cref="GC.TryStartNoGCRegion(long)"/>), for at most
/// <see cref="Budget"/> bytes of allocation. What a plan allocates mostly lives until the plan is printed (the
/// reference set, the listing's batches, the proposed groups), so collections during it only copy those objects and
/// stop every thread: on a million-object plan they paused it some 90 ms. Past the budget the runtime ends the
/// region and collects as usual, so memory stays bounded; a process already in a region, or a runtime that refuses
/// one, plans with collections as usual.
/// </summary>
internal readonly struct PlanningCollectionPause : IDisposable
{
    /// <summary>Bytes the plan may allocate before collections resume: 96 MB.</summary>
    public const long Budget = 96L << 20;

    private readonly bool _started;

    /// <summary>Starts the region (a no-op where it cannot start).</summary>
    public PlanningCollectionPause()
    {
        try
        {
            _started = GC.TryStartNoGCRegion(Budget);
        }
        catch (InvalidOperationException)
        {
            // Already in a no-GC region.
        }
        catch (ArgumentOutOfRangeException)
        {
            // A runtime whose ephemeral space is smaller than the budget (a 32-bit process, a hard heap limit).
        }
    }

    /// <summary>Ends the region, when it is still on.</summary>
    public void Dispose()
    {
        if (!_started || GCSettings.LatencyMode != GCLatencyMode.NoGCRegion)
        {
            return;
        }

        try
        {
            GC.EndNoGCRegion();
        }
        catch (InvalidOperationException)
        {
            // The plan allocated past the budget and the runtime collected: the region is over already.
        }
    }
}
