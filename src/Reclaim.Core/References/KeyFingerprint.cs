using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Reclaim.Core.References;

/// <summary>
/// A 64-bit fingerprint of a group key: XXH3-64 (seed 0, System.IO.Hashing's <see cref="XxHash3"/>) over the
/// key's UTF-16 code units in the machine's byte order. Fingerprints live only inside one process (they are never
/// stored or sent), so the byte order does not matter. Two different keys share a fingerprint by a ~2^-64 chance;
/// a collision can only make an orphan look referenced (it is kept), never the reverse, and the gate's exact
/// re-check against the catalog makes the final decision.
/// </summary>
public static class KeyFingerprint
{
    /// <summary>Computes the fingerprint.</summary>
    /// <param name="key">A group key.</param>
    /// <returns>The 64-bit fingerprint.</returns>
    public static ulong Of(ReadOnlySpan<char> key) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(key));
}
