namespace Reclaim.Engine.Planning;

/// <summary>Progress of a long listing, reported about twice a second.</summary>
/// <param name="Policy">The policy (or store, for usage) being scanned.</param>
/// <param name="ObjectsScanned">Objects listed so far.</param>
/// <param name="BytesScanned">Bytes of the objects whose size is known so far.</param>
/// <param name="ReferencesRead">Reference rows read so far.</param>
/// <param name="Elapsed">Time since the scan started.</param>
public readonly record struct ScanProgress(string Policy, long ObjectsScanned, long BytesScanned, long ReferencesRead, TimeSpan Elapsed)
{
    /// <summary>Objects per second so far.</summary>
    public double ObjectsPerSecond => Elapsed.TotalSeconds > 0 ? ObjectsScanned / Elapsed.TotalSeconds : 0;
}
