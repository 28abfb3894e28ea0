using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>Server-side copies: the gate's quarantine of a sub-batch (copies in parallel, then one DeleteObjects).</summary>
public sealed partial class S3Store : IObjectCopy
{
    /// <inheritdoc/>
    /// <remarks>
    /// One CopyObject request within the bucket, metadata copied, with <c>x-amz-copy-source-if-match</c> set to the
    /// source's ETag when it has one. Objects up to <see cref="MaxCopyBytes"/> (5 GiB, the most one CopyObject copies).
    /// </remarks>
    /// <exception cref="AmazonS3Exception">The service refused the request, or kept failing past the attempts allowed.</exception>
    public async Task CopyAsync(StoredObject source, string destinationKey, CancellationToken cancellationToken)
    {
        var from = FullKey(source.Key);
        var to = FullKey(destinationKey);
        if (source.Size > MaxCopyBytes)
        {
            throw new NotSupportedException($"'{ObjectKey.Printable(source.Key)}' is {source.Size} bytes; S3 copies at most {MaxCopyBytes} bytes in one request and multipart copy is not supported yet");
        }

        var copy = new CopyObjectRequest
        {
            SourceBucket = Bucket,
            SourceKey = from,
            DestinationBucket = Bucket,
            DestinationKey = to,
            MetadataDirective = S3MetadataDirective.COPY,
            ETagToMatch = source.ETag,
        };
        try
        {
            await SendAsync("CopyObject", Target(source.Key), (client, token) => client.CopyObjectAsync(copy, token), cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException(source.Key);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            throw new ObjectChangedException(source.Key);
        }
    }
}
