using System.Runtime.CompilerServices;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>Range listings: the gate's re-read of a sub-batch in one ListObjectsV2 stream.</summary>
public sealed partial class S3Store : IRangeListing
{
    /// <inheritdoc/>
    /// <remarks>
    /// One ListObjectsV2 stream with the range's <see cref="KeyRange.CommonPrefix"/> as <c>Prefix</c> and
    /// <see cref="KeyRange.StartAfter"/> as <c>StartAfter</c> (both under the store's prefix), in pages of
    /// <see cref="KeyRange.PageKeys"/> keys (at most, and by default, <see cref="ListPageSize"/>), abandoned at the
    /// first key past the range (S3 has no end bound). A page is requested only once the caller has read the one
    /// before to its end, so a caller that stops reading sends no further request. Keys between
    /// <c>StartAfter</c> and <see cref="KeyRange.From"/> (those extending <c>StartAfter</c>) are read and dropped.
    /// The order and prefix checks of <see cref="ListAsync"/> apply.
    /// </remarks>
    /// <exception cref="Amazon.S3.AmazonS3Exception">The service refused the listing, or kept failing past the attempts allowed.</exception>
    /// <exception cref="InvalidOperationException">The service listed keys out of order or outside the requested prefix.</exception>
    public IAsyncEnumerable<StoredObject> ListRangeAsync(KeyRange range, CancellationToken cancellationToken)
    {
        range.EnsureValid();
        return ListRangePagesAsync(range, cancellationToken);
    }

    private async IAsyncEnumerable<StoredObject> ListRangePagesAsync(KeyRange range, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var startAfter = range.StartAfter is { } before ? _prefix + before : null;
        var pageKeys = range.PageKeys is { } keys ? Math.Clamp(keys, 1, ListPageSize) : ListPageSize;
        await foreach (var listed in ListPagesAsync(_prefix + range.CommonPrefix, cancellationToken, startAfter, pageKeys: pageKeys).ConfigureAwait(false))
        {
            if (range.IsPast(listed.Key))
            {
                yield break;
            }

            if (range.Contains(listed.Key))
            {
                yield return listed;
            }
        }
    }
}
