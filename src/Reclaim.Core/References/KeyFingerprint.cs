namespace Reclaim.Core.References;

/// <summary>
/// A 64-bit fingerprint of a group key: FNV-1a (Fowler–Noll–Vo, 64-bit offset basis 14695981039346656037,
/// prime 1099511628211) over the key's UTF-16 code units. Two keys that differ by a single byte get different
/// fingerprints except by a ~2^-64 chance; a collision can only make an orphan look referenced (it is kept),
/// never the reverse, and the gate's exact re-check against the catalog makes the final decision.
/// </summary>
public static class KeyFingerprint
{
    private const ulong OffsetBasis = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    /// <summary>The fingerprint of the empty key: the start of an incremental computation with <see cref="Append"/>.</summary>
    public const ulong Empty = OffsetBasis;

    /// <summary>Computes the fingerprint.</summary>
    /// <param name="key">A group key.</param>
    /// <returns>The 64-bit fingerprint.</returns>
    public static ulong Of(ReadOnlySpan<char> key) => Append(Empty, key);

    /// <summary>
    /// Continues a fingerprint with more characters: <c>Append(Append(Empty, "ab"), "c") == Of("abc")</c>, so a key
    /// can be fingerprinted piece by piece without being built.
    /// </summary>
    /// <param name="hash">The fingerprint so far (<see cref="Empty"/> to start).</param>
    /// <param name="part">The next characters.</param>
    /// <returns>The fingerprint including <paramref name="part"/>.</returns>
    public static ulong Append(ulong hash, ReadOnlySpan<char> part)
    {
        foreach (var c in part)
        {
            hash = (hash ^ (byte)c) * Prime;
            hash = (hash ^ (byte)(c >> 8)) * Prime;
        }

        return hash;
    }
}
