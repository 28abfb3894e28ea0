using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>
/// A store over one bucket (optionally one key prefix in it) of any S3-compatible service (SPEC store type
/// <c>s3</c>). Keys are passed to the service exactly as given: no normalisation, trimming or case folding.
/// </summary>
/// <remarks>
/// <para>
/// Every request goes through one retry pipeline (Polly): up to <see cref="S3StoreOptions.MaxAttempts"/> attempts
/// with exponential backoff and jitter, for the service's 500/502/503/504, its <c>SlowDown</c> and
/// <c>InternalError</c> codes, broken connections and timeouts; never for a 4xx answer. The SDK's own retries
/// are off so that attempts are not multiplied.
/// </para>
/// <para>
/// A listing is checked as it streams: keys must come in ascending UTF-8 byte order, as S3 documents, and lie
/// under the store's prefix; a service that breaks either makes the listing throw
/// <see cref="InvalidOperationException"/> rather than feed a wrong order to the planner.
/// </para>
/// </remarks>
public sealed partial class S3Store : IObjectStore, IObjectContent
{
    /// <summary>The most keys one DeleteObjects request takes: 1000 (AWS API reference, DeleteObjects).</summary>
    public const int DeleteBatchSize = 1000;

    /// <summary>The keys asked for per ListObjectsV2 page: 1000, the most S3 returns.</summary>
    public const int ListPageSize = 1000;

    /// <summary>The largest object one CopyObject request copies: 5 GiB (AWS API reference, CopyObject).</summary>
    public const long MaxCopyBytes = 5L * 1024 * 1024 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly AmazonS3Client _client;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;
    private readonly string _prefix;
    private readonly bool _useChunkEncoding;

    /// <summary>Creates a store; no request is sent until the store is used.</summary>
    /// <param name="options">The bucket and how to reach it.</param>
    /// <param name="logger">Where retries and partial failures are logged; none when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public S3Store(S3StoreOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, errors), nameof(options));
        }

        Name = options.Name;
        Bucket = options.Bucket;
        _prefix = options.FolderPrefix;
        _useChunkEncoding = options.UseChunkEncoding;
        _logger = logger ?? NullLogger.Instance;
        _pipeline = S3Retry.Create(options, _logger);
        _client = CreateClient(options);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The bucket's name.</summary>
    public string Bucket { get; }

    /// <inheritdoc/>
    /// <value>Always <see cref="DeleteBatchSize"/> (1000).</value>
    public int MaxDeleteBatch => DeleteBatchSize;

    /// <inheritdoc/>
    /// <remarks>ListObjectsV2 pages of <see cref="ListPageSize"/> keys, each requested when the previous one is consumed.</remarks>
    /// <exception cref="InvalidKeyException">The prefix is not empty and not a valid key prefix.</exception>
    /// <exception cref="AmazonS3Exception">The service refused the listing, or kept failing past the attempts allowed.</exception>
    /// <exception cref="InvalidOperationException">The service listed keys out of order or outside the store's prefix.</exception>
    public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length > 0)
        {
            ObjectKey.EnsureValid(prefix);
        }

        return ListPagesAsync(_prefix + prefix, cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>A HEAD request; a 404 answer means no object.</remarks>
    /// <exception cref="AmazonS3Exception">The service refused the request, or kept failing past the attempts allowed.</exception>
    public async Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        var fullKey = FullKey(key);
        try
        {
            var head = await SendAsync("HeadObject", (client, token) =>
                client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = fullKey }, token), cancellationToken).ConfigureAwait(false);
            return new StoredObject(key, head.ContentLength, ToUtc(head.LastModified), head.ETag);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One DeleteObjects request in quiet mode: the service answers only with the keys it could not delete,
    /// each returned as a <see cref="KeyError"/> with its error code and message.
    /// </remarks>
    /// <exception cref="AmazonS3Exception">The service refused the whole request, or kept failing past the attempts allowed.</exception>
    public async Task<IReadOnlyList<KeyError>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count > MaxDeleteBatch)
        {
            throw new ArgumentException($"at most {MaxDeleteBatch} keys can be deleted at once; {keys.Count} were given", nameof(keys));
        }

        var objects = keys.Select(key => new KeyVersion { Key = FullKey(key) }).ToList();
        if (objects.Count == 0)
        {
            return [];
        }

        var response = await SendAsync("DeleteObjects", (client, token) =>
            client.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = Bucket, Objects = objects, Quiet = true }, token), cancellationToken).ConfigureAwait(false);
        return response.DeleteErrors is { Count: > 0 } failed
            ? failed.Select(error => new KeyError(RelativeKeyOrAsIs(error.Key), $"{error.Code}: {error.Message}")).ToList()
            : [];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// HEAD of both keys, then CopyObject (metadata copied, only if the source still has the ETag just read),
    /// then DeleteObject of the source. Another writer can still create the destination between the HEAD and
    /// the copy: S3 has no portable "copy unless it exists".
    /// </remarks>
    /// <exception cref="NotSupportedException">The object is larger than <see cref="MaxCopyBytes"/> (5 GiB).</exception>
    /// <exception cref="IOException">The source changed between the HEAD and the copy; nothing was moved.</exception>
    /// <exception cref="AmazonS3Exception">
    /// The service refused a request, or kept failing past the attempts allowed. When the delete of the source
    /// fails, the object exists at both keys.
    /// </exception>
    public async Task MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken)
    {
        var source = FullKey(sourceKey);
        var destination = FullKey(destinationKey);
        var stored = await StatAsync(sourceKey, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(sourceKey);
        if (await StatAsync(destinationKey, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw new ObjectExistsException(destinationKey);
        }

        if (stored.Size > MaxCopyBytes)
        {
            throw new NotSupportedException($"'{sourceKey}' is {stored.Size} bytes; S3 copies at most {MaxCopyBytes} bytes in one request and multipart copy is not supported yet");
        }

        var copy = new CopyObjectRequest
        {
            SourceBucket = Bucket,
            SourceKey = source,
            DestinationBucket = Bucket,
            DestinationKey = destination,
            MetadataDirective = S3MetadataDirective.COPY,
            ETagToMatch = stored.ETag,
        };
        try
        {
            await SendAsync("CopyObject", (client, token) => client.CopyObjectAsync(copy, token), cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException(sourceKey);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            throw new IOException($"'{ObjectKey.Printable(sourceKey)}' changed while it was being moved; nothing was moved", e);
        }

        try
        {
            await SendAsync("DeleteObject", (client, token) =>
                client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = source }, token), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.S3MoveSourceNotDeleted(_logger, Name, sourceKey, destinationKey, e);
            throw;
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One PutObject request (S3 takes up to 5 GiB this way). A stream that cannot seek is read into memory first
    /// so that a retry can send it again.
    /// </remarks>
    /// <exception cref="AmazonS3Exception">The service refused the request, or kept failing past the attempts allowed.</exception>
    public async Task WriteAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var fullKey = FullKey(key);
        MemoryStream? buffer = null;
        try
        {
            var body = content;
            if (!content.CanSeek)
            {
                buffer = new MemoryStream();
                await content.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                body = buffer;
                body.Position = 0;
            }

            var start = body.Position;
            await SendAsync("PutObject", (client, token) =>
            {
                body.Position = start;
                return client.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = Bucket,
                    Key = fullKey,
                    InputStream = body,
                    AutoCloseStream = false,
                    AutoResetStreamPosition = false,
                    UseChunkEncoding = _useChunkEncoding,
                }, token);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (buffer is not null)
            {
                await buffer.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc/>
    /// <exception cref="AmazonS3Exception">The service refused the request, or kept failing past the attempts allowed.</exception>
    public async Task<byte[]> ReadAllAsync(string key, CancellationToken cancellationToken)
    {
        var fullKey = FullKey(key);
        try
        {
            return await SendAsync("GetObject", async (client, token) =>
            {
                using var response = await client.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = fullKey }, token).ConfigureAwait(false);
                using var bytes = new MemoryStream();
                await response.ResponseStream.CopyToAsync(bytes, token).ConfigureAwait(false);
                return bytes.ToArray();
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException(key);
        }
    }

    /// <summary>Releases the HTTP client.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private static AmazonS3Client CreateClient(S3StoreOptions options)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            AuthenticationRegion = options.Region,
            // Only what the API requires: several S3-compatible services reject the newer default checksums.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            // Retries are the store's pipeline's job alone.
            MaxErrorRetry = 0,
            // A request that hangs is abandoned after this and retried by the pipeline like a broken connection.
            Timeout = options.Timeout,
        };
        if (options.Endpoint is not null)
        {
            config.ServiceURL = options.Endpoint;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        return options.AccessKey is null
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    private static DateTimeOffset ToUtc(DateTime? time) => time switch
    {
        null => DateTimeOffset.UnixEpoch,
        { Kind: DateTimeKind.Local } local => new DateTimeOffset(local.ToUniversalTime(), TimeSpan.Zero),
        { } other => new DateTimeOffset(DateTime.SpecifyKind(other, DateTimeKind.Utc), TimeSpan.Zero),
    };

    private async IAsyncEnumerable<StoredObject> ListPagesAsync(string fullPrefix, [EnumeratorCancellation] CancellationToken cancellationToken, string? startAfter = null)
    {
        string? continuation = null;
        string? previous = null;
        do
        {
            var request = new ListObjectsV2Request
            {
                BucketName = Bucket,
                Prefix = fullPrefix,
                StartAfter = startAfter,
                MaxKeys = ListPageSize,
                ContinuationToken = continuation,
            };
            var page = await SendAsync("ListObjectsV2", (client, token) => client.ListObjectsV2Async(request, token), cancellationToken).ConfigureAwait(false);
            foreach (var listed in page.S3Objects ?? [])
            {
                if (!listed.Key.StartsWith(fullPrefix, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"S3 store '{Name}' listed '{ObjectKey.Printable(listed.Key)}', which is not under '{ObjectKey.Printable(fullPrefix)}'");
                }

                if (previous is not null && ObjectKey.Comparer.Compare(previous, listed.Key) >= 0)
                {
                    throw new InvalidOperationException($"S3 store '{Name}' listed '{ObjectKey.Printable(listed.Key)}' after '{ObjectKey.Printable(previous)}': keys must come in ascending UTF-8 byte order");
                }

                previous = listed.Key;
                yield return new StoredObject(listed.Key[_prefix.Length..], listed.Size ?? 0, ToUtc(listed.LastModified), listed.ETag);
            }

            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
            if (page.IsTruncated == true && string.IsNullOrEmpty(continuation))
            {
                throw new InvalidOperationException($"S3 store '{Name}' returned a truncated listing without a continuation token");
            }
        }
        while (continuation is not null);
    }

    /// <summary>The bucket key of a store key: the key checked, under the store's prefix, at most 1024 bytes long.</summary>
    private string FullKey(string key)
    {
        ObjectKey.EnsureValid(key);
        var fullKey = _prefix + key;
        var bytes = StrictUtf8.GetByteCount(fullKey);
        return bytes <= ObjectKey.MaxKeyBytes
            ? fullKey
            : throw new InvalidKeyException(key, $"with the store's prefix the key is {bytes} bytes long; S3 allows at most {ObjectKey.MaxKeyBytes}");
    }

    private string RelativeKeyOrAsIs(string fullKey) =>
        fullKey.StartsWith(_prefix, StringComparison.Ordinal) ? fullKey[_prefix.Length..] : fullKey;

    private async Task<T> SendAsync<T>(string operation, Func<IAmazonS3, CancellationToken, Task<T>> request, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(operation, cancellationToken);
        try
        {
            return await _pipeline.ExecuteAsync(
                static async (context, state) => await state.request(state.client, context.CancellationToken).ConfigureAwait(false),
                context,
                (client: (IAmazonS3)_client, request)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
