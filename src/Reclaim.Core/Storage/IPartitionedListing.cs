namespace Reclaim.Core.Storage;

/// <summary>How a listing may split the keys under its prefix into ranges listed at once.</summary>
public enum ListingSplit
{
    /// <summary>
    /// Nothing is known of the keys' shape: range bounds are sampled (probes at spread-out <c>StartAfter</c> points)
    /// and refined from the keys as they arrive.
    /// </summary>
    Sampled,

    /// <summary>
    /// The keys that matter have a folder right after the prefix (a layout <c>orgs/{org}/uploads/{asset}/</c> listed
    /// under <c>orgs/</c>): the first bounds are those folders (<c>orgs/&lt;org&gt;/</c>), found by a delimiter listing.
    /// </summary>
    FirstFolder,
}

/// <summary>
/// Optional capability: list a prefix as several streams at once, each over its own range of keys, and yield the
/// objects in the one order of <see cref="IObjectStore.ListAsync"/> (ordinal UTF-8 byte order), exactly the objects
/// a single listing would yield. For a store whose listing is a sequence of round trips (S3's ListObjectsV2 pages),
/// this is what makes a large listing fast: rclone lists folders concurrently (<c>--checkers</c>), and splitting the
/// key space by prefix is how object-store clients reach millions of keys a second.
/// </summary>
public interface IPartitionedListing
{
    /// <summary>Streams every object under <paramref name="prefix"/>, in key order, listing ranges of it at once.</summary>
    /// <param name="prefix">A key prefix; empty lists the whole store.</param>
    /// <param name="split">How the keys under the prefix may be split into ranges; a hint, never a filter.</param>
    /// <param name="cancellationToken">Stops the listing and every stream of it.</param>
    /// <returns>The objects, as <see cref="IObjectStore.ListAsync"/> would return them; memory stays bounded (a few pages per stream).</returns>
    /// <exception cref="InvalidKeyException">The prefix is not empty and not a valid key prefix.</exception>
    IAsyncEnumerable<StoredObject> ListPartitionedAsync(string prefix, ListingSplit split, CancellationToken cancellationToken);
}
