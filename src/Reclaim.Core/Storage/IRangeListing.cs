namespace Reclaim.Core.Storage;

/// <summary>
/// A span of keys in ordinal UTF-8 byte order (<see cref="ObjectKey.Comparer"/>): every key from
/// <see cref="From"/> on, up to <see cref="Through"/>, and every key that starts with <see cref="Through"/>. So a
/// range through a folder key (<c>orgs/1/uploads/b/</c>) takes in the whole folder, and a range through an object's
/// key takes in that object (and any key that merely extends it, such as <c>a.txt.bak</c> after <c>a.txt</c>).
/// </summary>
/// <remarks>
/// The gate re-reads a sub-batch of groups with one range: from its first group's first key (or folder) through
/// its last group's last key (or folder). Keys of other groups that lie in between are listed too and ignored.
/// </remarks>
/// <param name="From">The first key the range takes in (inclusive); empty for the store's first key.</param>
/// <param name="Through">The last key the range takes in, and the prefix of every later key it takes in; a range whose <paramref name="Through"/> lies before <paramref name="From"/> (and is not a prefix of it) is empty.</param>
public readonly record struct KeyRange(string From, string Through)
{
    /// <summary>A range that takes in exactly the keys under <paramref name="prefix"/>.</summary>
    /// <param name="prefix">A key prefix, for example a folder key ending in <c>/</c>.</param>
    /// <returns>The range <c>[prefix, prefix…]</c>.</returns>
    public static KeyRange Under(string prefix) => new(prefix, prefix);

    /// <summary>
    /// The most keys to ask the store for in one request, 1 or more; <see langword="null"/> (the default) for the
    /// store's largest page (1000 on S3). A hint: the keys listed are the same either way, in more or fewer
    /// requests. A caller that reads only the first keys of a range (the gate's re-read of a run of orphans among
    /// referenced objects) asks for no more than it needs, so the service reads no more; stores that read one entry
    /// at a time (a folder) ignore it.
    /// </summary>
    public int? PageKeys { get; init; }

    /// <summary>Checks both bounds: each is empty or a valid key prefix (<see cref="ObjectKey.EnsureValid"/>).</summary>
    /// <exception cref="InvalidKeyException">A bound is not a valid key prefix.</exception>
    public void EnsureValid()
    {
        ArgumentNullException.ThrowIfNull(From);
        ArgumentNullException.ThrowIfNull(Through);
        if (From.Length > 0)
        {
            ObjectKey.EnsureValid(From);
        }

        if (Through.Length > 0)
        {
            ObjectKey.EnsureValid(Through);
        }
    }

    /// <summary>Whether the range takes in <paramref name="key"/>.</summary>
    /// <param name="key">A key.</param>
    /// <returns><see langword="true"/> when <see cref="From"/> ≤ key, and key ≤ <see cref="Through"/> or starts with it.</returns>
    public bool Contains(string key) =>
        ObjectKey.Compare(key, From) >= 0 && (ObjectKey.Compare(key, Through) <= 0 || key.StartsWith(Through, StringComparison.Ordinal));

    /// <summary>
    /// Whether <paramref name="key"/> comes after every key of the range: a listing in key order that meets it can
    /// stop, since every later key is past too.
    /// </summary>
    /// <param name="key">A key.</param>
    /// <returns><see langword="true"/> when the key is ordered after <see cref="Through"/> and does not start with it.</returns>
    public bool IsPast(string key) => ObjectKey.Compare(key, Through) > 0 && !key.StartsWith(Through, StringComparison.Ordinal);

    /// <summary>
    /// The longest prefix every key of the range shares: the common prefix of <see cref="From"/> and
    /// <see cref="Through"/>, never ending inside a surrogate pair (so it is a valid UTF-8 prefix). A store lists
    /// this prefix to read the range.
    /// </summary>
    public string CommonPrefix
    {
        get
        {
            var length = From.AsSpan().CommonPrefixLength(Through);
            if (length > 0 && char.IsHighSurrogate(From[length - 1]))
            {
                length--;
            }

            return From[..length];
        }
    }

    /// <summary>
    /// A key ordered just before <see cref="From"/>, for S3's <c>StartAfter</c> (which lists keys after it, exclusive),
    /// or <see langword="null"/> when <see cref="From"/> is empty. It is <see cref="From"/> with its last character
    /// one lower (<c>raw.mp4</c> → <c>raw.mp3</c>), so the only keys between the two are those that extend it; where
    /// that character cannot be lowered to a character valid in the XML of S3's answer (a control character, a
    /// surrogate pair), it is <see cref="From"/> without its last character (or pair).
    /// </summary>
    public string? StartAfter
    {
        get
        {
            if (From.Length == 0)
            {
                return null;
            }

            var last = From[^1];
            if (char.IsLowSurrogate(last) && From.Length >= 2 && char.IsHighSurrogate(From[^2]))
            {
                return From[..^2];
            }

            // Both characters outside the surrogates: UTF-8 byte order and UTF-16 order agree on them.
            var lower = (char)(last - 1);
            return last > ' ' && !char.IsSurrogate(last) && !char.IsSurrogate(lower)
                ? string.Concat(From.AsSpan(0, From.Length - 1), new ReadOnlySpan<char>(in lower))
                : From[..^1];
        }
    }
}

/// <summary>
/// Optional capability: list one <see cref="KeyRange"/> of keys with their metadata in one listing — on S3 one
/// ListObjectsV2 stream from just before the range (<c>StartAfter</c>) under the range's common prefix, stopped
/// past its end; size, ETag and last modification come with each key. The gate re-reads a sub-batch of up to a
/// thousand objects this way with one or a few requests, instead of a HEAD per object or a listing per group.
/// </summary>
public interface IRangeListing
{
    /// <summary>
    /// Streams every object the range takes in (<see cref="KeyRange.Contains"/>), in the order of
    /// <see cref="IObjectStore.ListAsync"/>, trash included.
    /// </summary>
    /// <param name="range">The keys to list; <see cref="KeyRange.From"/> and <see cref="KeyRange.Through"/> are key prefixes (a full key or a folder key).</param>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>The objects; an empty range yields nothing.</returns>
    /// <exception cref="InvalidKeyException">A bound of the range is not empty and not a valid key prefix (see <see cref="KeyRange.EnsureValid"/>).</exception>
    IAsyncEnumerable<StoredObject> ListRangeAsync(KeyRange range, CancellationToken cancellationToken);
}
