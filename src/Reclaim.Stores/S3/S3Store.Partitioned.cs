using System.Runtime.CompilerServices;
using Amazon.S3.Model;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>Partitioned listings: a plan's listing as several ListObjectsV2 streams over ranges of keys at once.</summary>
public sealed partial class S3Store : IPartitionedListing
{
    /// <summary>Keys asked for per page by partitioned listings: <see cref="ListPageSize"/>; tests lower it to get many pages from few objects.</summary>
    internal int PartitionPageKeys { get; init; } = ListPageSize;

    /// <inheritdoc/>
    /// <remarks>
    /// Up to <see cref="S3StoreOptions.ListConcurrency"/> ListObjectsV2 requests in flight, each continuing its own
    /// range of keys, every range with its next page fetched while the current one is read; the ranges are merged
    /// back in key order, so the objects are exactly those, and in the order, of <see cref="ListAsync"/>. With
    /// <see cref="ListingSplit.FirstFolder"/> the first ranges are at most one per stream, cut at every k-th of the
    /// folders right after the prefix (one delimiter listing request for up to 1000 folders), and splits cut at those
    /// folders too; with <see cref="ListingSplit.Sampled"/> ranges are split a few pages ahead of where they are, by
    /// how densely their keys come. Requests: about one more per range than a single listing (a range's last, partial
    /// page), the ranges being the streams plus one per <see cref="S3PartitionedListing.PagesPerPiece"/> pages at
    /// most. With <c>list_concurrency: 1</c> this is <see cref="ListAsync"/> itself.
    /// </remarks>
    /// <exception cref="Amazon.S3.AmazonS3Exception">The service refused a listing request, or kept failing past the attempts allowed.</exception>
    /// <exception cref="TimeoutException">A listing request got no answer within the timeout, on every attempt.</exception>
    /// <exception cref="InvalidOperationException">The service listed keys out of order or outside the prefix.</exception>
    public IAsyncEnumerable<StoredObject> ListPartitionedAsync(string prefix, ListingSplit split, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (_options.ListConcurrency <= 1)
        {
            return ListAsync(prefix, cancellationToken);
        }

        if (prefix.Length > 0)
        {
            ObjectKey.EnsureValid(prefix);
        }

        return ToStoredAsync(new S3PartitionedListing(this, _prefix + prefix, _options.ListConcurrency, PartitionPageKeys).ListAsync(split, cancellationToken), cancellationToken);
    }

    /// <summary>A partitioned listing with the given first bounds (full bucket keys), for tests that place bounds where they want.</summary>
    internal IAsyncEnumerable<StoredObject> ListPartitionedAsync(string prefix, IReadOnlyList<string> bounds, CancellationToken cancellationToken) =>
        ToStoredAsync(new S3PartitionedListing(this, _prefix + prefix, Math.Max(2, _options.ListConcurrency), PartitionPageKeys).ListAsync(bounds, cancellationToken), cancellationToken);

    /// <summary>One ListObjectsV2 request under <paramref name="fullPrefix"/> (a bucket key prefix), through the retry pipeline.</summary>
    internal Task<ListObjectsV2Response> ListPageAsync(string fullPrefix, string? startAfter, string? continuation, int maxKeys, string? delimiter, CancellationToken cancellationToken) =>
        SendAsync("ListObjectsV2", $"keys under '{ObjectKey.Printable(fullPrefix)}'", (client, token) => client.ListObjectsV2Async(new ListObjectsV2Request
        {
            BucketName = Bucket,
            Prefix = fullPrefix,
            StartAfter = continuation is null ? startAfter : null,
            ContinuationToken = continuation,
            MaxKeys = maxKeys,
            Delimiter = delimiter,
        }, token), cancellationToken);

    private async IAsyncEnumerable<StoredObject> ToStoredAsync(IAsyncEnumerable<S3Object> listed, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in listed.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return ToStored(item);
        }
    }
}
