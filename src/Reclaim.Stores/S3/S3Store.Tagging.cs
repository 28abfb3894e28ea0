using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>Object tagging (GetObjectTagging, PutObjectTagging): quarantine in place, for <c>quarantine_mode: tag</c>.</summary>
public sealed partial class S3Store : IObjectTagging
{
    /// <inheritdoc/>
    public bool QuarantinesByTag => _options.QuarantineMode == S3StoreOptions.TagQuarantineMode;

    /// <inheritdoc/>
    /// <remarks>One GetObjectTagging request, retried as every request is.</remarks>
    /// <exception cref="AmazonS3Exception">The service refused the request, or kept failing past the attempts allowed.</exception>
    public async Task<IReadOnlyDictionary<string, string>?> GetTagsAsync(string key, CancellationToken cancellationToken)
    {
        var request = new GetObjectTaggingRequest { BucketName = Bucket, Key = FullKey(key) };
        try
        {
            var response = await SendAsync("GetObjectTagging", Target(key), (client, token) => client.GetObjectTaggingAsync(request, token), cancellationToken).ConfigureAwait(false);
            var tags = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var tag in response.Tagging ?? [])
            {
                tags[tag.Key] = tag.Value;
            }

            return tags;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    /// <remarks>One PutObjectTagging request with the whole tag set (S3 has no call that adds one tag), retried as every request is.</remarks>
    /// <exception cref="AmazonS3Exception">The service refused the request, or kept failing past the attempts allowed.</exception>
    public async Task PutTagsAsync(string key, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var request = new PutObjectTaggingRequest
        {
            BucketName = Bucket,
            Key = FullKey(key),
            Tagging = new Tagging { TagSet = [.. tags.Select(t => new Tag { Key = t.Key, Value = t.Value })] },
        };
        try
        {
            await SendAsync("PutObjectTagging", Target(key), (client, token) => client.PutObjectTaggingAsync(request, token), cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException(key);
        }
    }
}
