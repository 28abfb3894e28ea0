using System.Runtime.CompilerServices;
using Reclaim.Core.Storage;

namespace Reclaim.Engine.Partitioning;

/// <summary>
/// A store as one key range of a partitioned run sees it when planning: its listing yields only the range's objects
/// (read with one range listing, <see cref="IRangeListing"/>, where the store has one: a ListObjectsV2 stream from the
/// range's first key on S3, a walk of only the range's folders on a filesystem); everything else is the store's own.
/// Planning reads the listing only; the gate acts on the store itself.
/// </summary>
/// <param name="inner">The store.</param>
/// <param name="range">The keys of the range.</param>
internal sealed class RangeScopedStore(IObjectStore inner, KeyRange range) : IObjectStore
{
    /// <inheritdoc/>
    public string Name => inner.Name;

    /// <inheritdoc/>
    public int MaxDeleteBatch => inner.MaxDeleteBatch;

    /// <summary>The range's objects under <paramref name="prefix"/>, in key order.</summary>
    /// <param name="prefix">A key prefix.</param>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>The objects both under the prefix and in the range.</returns>
    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var listing = inner is IRangeListing ranges ? ranges.ListRangeAsync(range, cancellationToken) : inner.ListAsync(prefix, cancellationToken);
        await foreach (var item in listing.WithCancellation(cancellationToken))
        {
            if (range.IsPast(item.Key))
            {
                yield break;
            }

            if (range.Contains(item.Key) && item.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                yield return item;
            }
        }
    }

    /// <inheritdoc/>
    public Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<KeyError>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("a key range's store is for planning only: the gate deletes through the store itself");

    /// <inheritdoc/>
    public Task MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("a key range's store is for planning only: the gate moves through the store itself");

    /// <summary>Nothing: the store is the workspace's, which disposes it.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
