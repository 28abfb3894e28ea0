namespace Reclaim.Core.Storage;

/// <summary>
/// The minimal contract every store implements (after rclone's <c>Fs</c>): list, stat, delete a batch, move.
/// Optional capabilities are separate interfaces (<see cref="IKeyListing"/>, <see cref="IObjectContent"/>).
/// </summary>
/// <remarks>
/// Implementations never follow anything outside their root (filesystem) or bucket prefix (S3), and reject
/// invalid keys with <see cref="InvalidKeyException"/> before any I/O (see <see cref="ObjectKey.Validate"/>).
/// Every store passes the shared conformance suite in <c>tests/Reclaim.Stores.Tests</c>.
/// </remarks>
public interface IObjectStore : IAsyncDisposable
{
    /// <summary>The store's name in the configuration (for example <c>media</c>).</summary>
    string Name { get; }

    /// <summary>
    /// The most keys one <see cref="DeleteAsync"/> call accepts. S3's DeleteObjects takes at most 1000
    /// (AWS API reference, DeleteObjects).
    /// </summary>
    int MaxDeleteBatch { get; }

    /// <summary>
    /// Streams every object whose key starts with <paramref name="prefix"/>, in ordinal UTF-8 byte order of keys
    /// (<see cref="ObjectKey.Comparer"/>), including objects under the trash prefix: callers exclude what they
    /// must not touch.
    /// </summary>
    /// <param name="prefix">A key prefix; empty lists the whole store. A prefix meant as a folder must end in <c>/</c>.</param>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>The objects, streamed page by page; never materialised as a whole.</returns>
    IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Reads one object's metadata.</summary>
    /// <param name="key">A valid key.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The object, or <see langword="null"/> when no object has that key.</returns>
    /// <exception cref="InvalidKeyException">The key is not valid for this store.</exception>
    Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes up to <see cref="MaxDeleteBatch"/> objects. Deleting a key that does not exist succeeds
    /// (idempotent). A filesystem store also removes folders the delete left empty, up to (not including) its root.
    /// </summary>
    /// <param name="keys">The keys, at most <see cref="MaxDeleteBatch"/>.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The keys that could not be deleted, each with the store's error; empty when all went.</returns>
    /// <exception cref="ArgumentException">More keys than <see cref="MaxDeleteBatch"/>.</exception>
    /// <exception cref="InvalidKeyException">A key is not valid for this store (nothing is deleted).</exception>
    Task<IReadOnlyList<KeyError>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    /// <summary>
    /// Moves one object to a new key, byte-identical, never overwriting (filesystem: a rename on the same volume;
    /// S3: CopyObject then DeleteObject).
    /// </summary>
    /// <param name="sourceKey">The object to move.</param>
    /// <param name="destinationKey">Where it goes; must not exist.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="ObjectExistsException">An object already has <paramref name="destinationKey"/>.</exception>
    /// <exception cref="ObjectNotFoundException">No object has <paramref name="sourceKey"/>.</exception>
    /// <exception cref="InvalidKeyException">A key is not valid for this store.</exception>
    Task MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken);
}

/// <summary>
/// Optional capability: list keys without reading each object's metadata. A filesystem store lists a folder
/// without a <c>stat</c> per file this way, which is several times faster; the planner then reads metadata only
/// for objects whose group no reference covers.
/// </summary>
public interface IKeyListing
{
    /// <summary>
    /// Streams the keys under <paramref name="prefix"/> in the order of <see cref="IObjectStore.ListAsync"/>, in
    /// batches (no string per key). The caller supplies each batch, so it can reuse the ones it has finished with.
    /// </summary>
    /// <param name="prefix">A key prefix; empty lists the whole store.</param>
    /// <param name="nextBatch">
    /// Returns an empty batch to fill next; called only once the batch before has been yielded and the caller has
    /// asked for more. Each yielded batch is one it returned, filled up to its <see cref="KeyBatch.Capacity"/>
    /// (the last may hold fewer keys, none is empty).
    /// </param>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>The batches.</returns>
    /// <exception cref="ArgumentException"><paramref name="nextBatch"/> returned a batch that is not empty.</exception>
    IAsyncEnumerable<KeyBatch> ListKeyBatchesAsync(string prefix, Func<KeyBatch> nextBatch, CancellationToken cancellationToken);
}

/// <summary>Conveniences over <see cref="IKeyListing"/>.</summary>
public static class KeyListingExtensions
{
    /// <summary>Streams the keys under <paramref name="prefix"/> one string at a time, in listing order.</summary>
    /// <param name="listing">The store.</param>
    /// <param name="prefix">A key prefix; empty lists the whole store.</param>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>The keys.</returns>
    public static async IAsyncEnumerable<string> ListKeysAsync(
        this IKeyListing listing,
        string prefix,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(listing);
        var reused = new KeyBatch(1024);
        KeyBatch Next()
        {
            reused.Clear();
            return reused;
        }

        await foreach (var batch in listing.ListKeyBatchesAsync(prefix, Next, cancellationToken).ConfigureAwait(false))
        {
            for (var i = 0; i < batch.Count; i++)
            {
                yield return batch.GetString(i);
            }
        }
    }
}

/// <summary>
/// Optional capability: read and write object content. Used by the demo, by tests, and by restore checks.
/// </summary>
public interface IObjectContent
{
    /// <summary>Writes (creates or replaces) an object.</summary>
    /// <param name="key">A valid key.</param>
    /// <param name="content">The bytes, read to the end.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="InvalidKeyException">The key is not valid for this store.</exception>
    Task WriteAsync(string key, Stream content, CancellationToken cancellationToken);

    /// <summary>Reads an object's content whole.</summary>
    /// <param name="key">A valid key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="ObjectNotFoundException">No object has that key.</exception>
    Task<byte[]> ReadAllAsync(string key, CancellationToken cancellationToken);
}

/// <summary>A key a store could not act on, with the store's error message.</summary>
/// <param name="Key">The object's key.</param>
/// <param name="Error">The store's message (for S3, the error code and message of the DeleteObjects entry).</param>
public readonly record struct KeyError(string Key, string Error);
