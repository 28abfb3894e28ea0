namespace Reclaim.Core.Storage;

/// <summary>
/// Optional capability: copy an object to another key of the same store on the service's side, only while it is
/// still the object that was read. The gate quarantines on such a store by copying a sub-batch's objects to the
/// trash in parallel and then deleting the originals with one batched delete (S3: CopyObject, then DeleteObjects),
/// instead of one move — a HEAD of each key, a copy and a delete — per object.
/// </summary>
public interface IObjectCopy
{
    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destinationKey"/>, byte-identical with its metadata,
    /// provided it still has the ETag it was read with (when it has one). The destination is not looked up first:
    /// callers copy only to keys nothing else writes (the trash folder of their own run).
    /// </summary>
    /// <param name="source">The object as just read (a listing or a stat): its key, size and ETag.</param>
    /// <param name="destinationKey">Where the copy goes.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="ObjectNotFoundException">The store has no object at the source key (S3 answered 404).</exception>
    /// <exception cref="ObjectChangedException">The source no longer has the ETag it was read with (S3 answered 412); nothing was copied.</exception>
    /// <exception cref="NotSupportedException">The object is larger than the store copies in one request.</exception>
    /// <exception cref="InvalidKeyException">A key is not valid for this store.</exception>
    Task CopyAsync(StoredObject source, string destinationKey, CancellationToken cancellationToken);
}

/// <summary>An object is no longer the one that was read (another writer replaced it); nothing was done to it.</summary>
/// <param name="key">The object's key.</param>
public sealed class ObjectChangedException(string key) : IOException($"'{ObjectKey.Printable(key)}' changed since it was read; nothing was done to it")
{
    /// <summary>The object's key.</summary>
    public string Key { get; } = key;
}
