namespace Reclaim.Core.Storage;

/// <summary>
/// A listing taken earlier than now (an S3 Inventory): the objects as they were at <see cref="TakenAt"/>, and
/// nothing of what came later.
/// </summary>
/// <param name="TakenAt">When the snapshot began (UTC): no object it lists is newer, and ages are measured from it.</param>
/// <param name="Source">Where it comes from, for messages (<c>s3://bucket/…/manifest.json</c> or a path).</param>
/// <param name="Objects">Its objects under the prefix asked for, in <see cref="IObjectStore.ListAsync"/>'s order (ordinal UTF-8 byte order), read when enumerated.</param>
public sealed record ListingSnapshot(DateTimeOffset TakenAt, string Source, IAsyncEnumerable<StoredObject> Objects);

/// <summary>
/// Optional capability: a store whose plans may list a snapshot instead of the live store (an S3 bucket with an
/// <c>inventory</c>), so that a bucket of 10⁸ objects is planned without 10⁵ listing requests. Only planning reads
/// the snapshot: every action is still re-checked against the live store before it is taken.
/// </summary>
public interface ISnapshotListing
{
    /// <summary>Opens the snapshot plans list from, when the store has one.</summary>
    /// <param name="prefix">A key prefix; empty for the whole store.</param>
    /// <param name="cancellationToken">Stops reading the snapshot's description.</param>
    /// <returns>The snapshot (its objects are read when enumerated), or <see langword="null"/> when plans list the live store.</returns>
    /// <exception cref="InvalidKeyException">The prefix is not empty and not a valid key prefix.</exception>
    Task<ListingSnapshot?> OpenSnapshotAsync(string prefix, CancellationToken cancellationToken);
}
