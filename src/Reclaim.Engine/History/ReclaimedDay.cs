namespace Reclaim.Engine;

/// <summary>What was removed on one UTC day.</summary>
/// <param name="Day">The day.</param>
/// <param name="ObjectsRemoved">Objects deleted or quarantined.</param>
/// <param name="BytesDeleted">Bytes deleted (gone for good).</param>
/// <param name="BytesQuarantined">Bytes moved to the trash (freed once purged).</param>
/// <param name="BytesRestored">Bytes moved back from the trash.</param>
public sealed record ReclaimedDay(DateOnly Day, long ObjectsRemoved, long BytesDeleted, long BytesQuarantined, long BytesRestored)
{
    /// <summary>Bytes deleted and quarantined together.</summary>
    public long BytesRemoved => BytesDeleted + BytesQuarantined;
}
