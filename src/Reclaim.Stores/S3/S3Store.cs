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
using Reclaim.Core;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>
/// A store over one bucket (optionally one key prefix in it) of any S3-compatible service (store type
/// <c>s3</c>). Keys are passed to the service exactly as given: no normalisation, trimming or case folding.
/// </summary>
/// <remarks>
/// <para>
/// Every request goes through one retry pipeline (Polly): up to <see cref="S3StoreOptions.MaxAttempts"/> attempts
/// with exponential backoff and jitter, for the service's 500/502/503/504, its <c>SlowDown</c> and
/// <c>InternalError</c> codes, broken connections and timeouts; never for a 4xx answer. The SDK's own retries
/// are off so that attempts are not multiplied. A request that fails for good throws with a message that names the
/// store, the operation, the key (or the first key and how many more), the attempts and the limits
/// (<c>timeout</c>, <c>max_attempts</c>); a timeout throws <see cref="TimeoutException"/>, never a bare cancellation.
/// Each retry logs one line; its exception (with the stack) only at debug level.
/// </para>
/// <para>
/// DeleteObjects requests share one <see cref="AdaptiveConcurrencyLimit"/> per store, capped at
/// <see cref="S3StoreOptions.DeleteConcurrency"/>: however many callers delete at once, the service sees only as
/// many DeleteObjects in flight as it has lately taken without <c>503 SlowDown</c> or a timeout.
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
    private readonly S3StoreOptions _options;
    private readonly string _prefix;
    private readonly bool _useChunkEncoding;

    /// <summary>Creates a store; no request is sent until the store is used.</summary>
    /// <param name="options">The bucket and how to reach it.</param>
    /// <param name="logger">Where retries and partial failures are logged; none when <see langword="null"/>.</param>
    /// <exception cref="System.ComponentModel.DataAnnotations.ValidationException">The options are invalid; the message lists every problem.</exception>
    public S3Store(S3StoreOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionsValidation.ThrowIfInvalid(options, $"S3 store '{options.Name}' cannot be created:");
        _options = options;
        Name = options.Name;
        Bucket = options.Bucket;
        _prefix = options.FolderPrefix;
        _useChunkEncoding = options.UseChunkEncoding;
        _logger = logger ?? NullLogger.Instance;
        _pipeline = S3Retry.Create(options, _logger);
        _client = CreateClient(options);
        DeleteLimit = new AdaptiveConcurrencyLimit(options.DeleteConcurrency);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The bucket's name.</summary>
    public string Bucket { get; }

    /// <inheritdoc/>
    /// <value>Always <see cref="DeleteBatchSize"/> (1000).</value>
    public int MaxDeleteBatch => DeleteBatchSize;

    /// <summary>The adaptive limit on DeleteObjects requests in flight, shared by every caller of this store.</summary>
    public AdaptiveConcurrencyLimit DeleteLimit { get; }

    /// <inheritdoc/>
    /// <remarks>
    /// ListObjectsV2 pages of <see cref="ListPageSize"/> keys; the next page is requested as soon as one arrives, so
    /// it is on its way while the caller reads the current one.
    /// </remarks>
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

        return ListPagesAsync(_prefix + prefix, cancellationToken, prefetch: true);
    }

    /// <inheritdoc/>
    /// <remarks>A HEAD request; a 404 answer means no object.</remarks>
    /// <exception cref="AmazonS3Exception">The service refused the request, or kept failing past the attempts allowed.</exception>
    public async Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        var fullKey = FullKey(key);
        try
        {
            var head = await SendAsync("HeadObject", Target(key), (client, token) =>
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
    /// <para>
    /// One DeleteObjects request in quiet mode: the service answers only with the keys it could not delete, each
    /// returned as a <see cref="KeyError"/> with its error code and message. Keys it refused for a passing reason
    /// (<c>SlowDown</c>, <c>InternalError</c>, <c>ServiceUnavailable</c>) are sent again, alone, as a retry of the
    /// request; those still refused after <see cref="S3StoreOptions.MaxAttempts"/> are returned as errors too.
    /// </para>
    /// <para>
    /// Each attempt waits for a place under <see cref="DeleteLimit"/>, which <c>503 SlowDown</c> (of the request or
    /// of any key in it) and timeouts halve and successes grow back (AIMD, as TCP does), up to
    /// <see cref="S3StoreOptions.DeleteConcurrency"/>; the place is released before a retry's backoff.
    /// </para>
    /// </remarks>
    /// <exception cref="AmazonS3Exception">The service refused the whole request, or kept failing past the attempts allowed.</exception>
    /// <exception cref="TimeoutException">No attempt was answered within <see cref="S3StoreOptions.Timeout"/>.</exception>
    public async Task<IReadOnlyList<KeyError>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count > MaxDeleteBatch)
        {
            throw new ArgumentException($"at most {MaxDeleteBatch} keys can be deleted at once; {keys.Count} were given", nameof(keys));
        }

        var remaining = keys.Select(key => new KeyVersion { Key = FullKey(key) }).ToList();
        if (remaining.Count == 0)
        {
            return [];
        }

        var failed = new List<KeyError>();
        try
        {
            await SendAsync("DeleteObjects", Target(keys), async (client, token) =>
            {
                using var lease = await DeleteLimit.AcquireAsync(token).ConfigureAwait(false);
                DeleteObjectsResponse response;
                try
                {
                    response = await client.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = Bucket, Objects = remaining, Quiet = true }, token).ConfigureAwait(false);
                }
                catch (DeleteObjectsException partial) when (partial.Response is { } answer)
                {
                    // The SDK throws when any key was refused; the answer says which: those are handled below.
                    response = answer;
                }
                catch (Exception e) when (S3Retry.IsCongestion(e, token))
                {
                    lease.Congested();
                    throw;
                }

                var passing = new List<DeleteError>();
                foreach (var error in response.DeleteErrors ?? [])
                {
                    if (S3Retry.IsTransientCode(error.Code))
                    {
                        passing.Add(error);
                    }
                    else
                    {
                        failed.Add(new KeyError(RelativeKeyOrAsIs(error.Key), $"{error.Code}: {error.Message}"));
                    }
                }

                if (passing.Count == 0)
                {
                    lease.Succeeded();
                    return response;
                }

                if (passing.Exists(error => error.Code == S3Retry.SlowDown))
                {
                    lease.Congested();
                }

                // Only the keys refused for a passing reason go again.
                var again = passing.Select(error => error.Key).ToHashSet(StringComparer.Ordinal);
                remaining = remaining.Where(key => again.Contains(key.Key)).ToList();
                throw new S3KeysNotDeletedException(passing.Select(error => new KeyError(RelativeKeyOrAsIs(error.Key), $"{error.Code}: {error.Message}")).ToList());
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (S3KeysNotDeletedException e)
        {
            failed.AddRange(e.Errors);
        }

        return failed;
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
            await SendAsync("CopyObject", Target(sourceKey), (client, token) => client.CopyObjectAsync(copy, token), cancellationToken).ConfigureAwait(false);
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
            await SendAsync("DeleteObject", Target(sourceKey), (client, token) =>
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
            await SendAsync("PutObject", Target(key), (client, token) =>
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
            return await SendAsync("GetObject", Target(key), async (client, token) =>
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
            // Enough connections for every listing stream with its prefetch, every delete in flight and the gate's
            // parallel HEAD/GET/COPY: a request never queues inside HttpClient while it holds a place under a limit.
            MaxConnectionsPerServer = options.MaxConnections,
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

    /// <summary>
    /// Streams ListObjectsV2 pages under <paramref name="fullPrefix"/> (a bucket key prefix), after
    /// <paramref name="startAfter"/> when given, in pages of <paramref name="pageKeys"/> (the most S3 returns by
    /// default), checking order and prefix. With <paramref name="prefetch"/>, the
    /// next page is requested as soon as a page arrives (a caller that stops early then leaves one request wasted:
    /// range listings, which stop at their end, do not prefetch).
    /// </summary>
    private async IAsyncEnumerable<StoredObject> ListPagesAsync(
        string fullPrefix,
        [EnumeratorCancellation] CancellationToken cancellationToken,
        string? startAfter = null,
        bool prefetch = false,
        int pageKeys = ListPageSize)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var target = $"keys under '{ObjectKey.Printable(fullPrefix)}'";
        Task<ListObjectsV2Response> Fetch(string? continuation) => SendAsync("ListObjectsV2", target, (client, token) => client.ListObjectsV2Async(new ListObjectsV2Request
        {
            BucketName = Bucket,
            Prefix = fullPrefix,
            StartAfter = continuation is null ? startAfter : null,
            MaxKeys = pageKeys,
            ContinuationToken = continuation,
        }, token), stop.Token);

        var next = Fetch(null);
        try
        {
            string? previous = null;
            while (next is not null)
            {
                var page = await next.ConfigureAwait(false);
                next = null;
                var continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
                if (page.IsTruncated == true && string.IsNullOrEmpty(continuation))
                {
                    throw new InvalidOperationException($"S3 store '{Name}' returned a truncated listing without a continuation token");
                }

                Task<ListObjectsV2Response>? following = continuation is null ? null : prefetch ? Fetch(continuation) : null;
                foreach (var listed in page.S3Objects ?? [])
                {
                    CheckListed(listed.Key, fullPrefix, previous);
                    previous = listed.Key;
                    yield return ToStored(listed);
                }

                next = following ?? (continuation is null ? null : Fetch(continuation));
            }
        }
        finally
        {
            if (next is not null)
            {
                // Abandoned with a page on its way: stop it and observe its end.
                await stop.CancelAsync().ConfigureAwait(false);
                await next.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Checks a listed bucket key: under <paramref name="fullPrefix"/>, and after <paramref name="previous"/> in UTF-8 byte order.</summary>
    /// <exception cref="InvalidOperationException">The key is outside the prefix or out of order.</exception>
    private void CheckListed(string key, string fullPrefix, string? previous)
    {
        if (!key.StartsWith(fullPrefix, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"S3 store '{Name}' listed '{ObjectKey.Printable(key)}', which is not under '{ObjectKey.Printable(fullPrefix)}'");
        }

        if (previous is not null && ObjectKey.Comparer.Compare(previous, key) >= 0)
        {
            throw new InvalidOperationException($"S3 store '{Name}' listed '{ObjectKey.Printable(key)}' after '{ObjectKey.Printable(previous)}': keys must come in ascending UTF-8 byte order");
        }
    }

    /// <summary>A listed object as a store object: its key relative to the store's prefix.</summary>
    private StoredObject ToStored(S3Object listed) =>
        new(listed.Key[_prefix.Length..], listed.Size ?? 0, ToUtc(listed.LastModified), listed.ETag);

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

    /// <summary>How a key appears in messages: <c>'orgs/1/a.mp4'</c>.</summary>
    private static string Target(string key) => $"'{ObjectKey.Printable(key)}'";

    /// <summary>How a batch appears in messages: <c>'orgs/1/a.mp4' and 999 more keys</c>.</summary>
    private static string Target(IReadOnlyList<string> keys) => keys.Count switch
    {
        0 => "no keys",
        1 => Target(keys[0]),
        _ => $"{Target(keys[0])} and {keys.Count - 1} more keys",
    };

    /// <summary>Sends one request through the retry pipeline; see <see cref="SendAsync{T}(string, string, Func{IAmazonS3, CancellationToken, Task{T}}, CancellationToken)"/>.</summary>
    private Task<T> SendAsync<T>(string operation, Func<IAmazonS3, CancellationToken, Task<T>> request, CancellationToken cancellationToken) =>
        SendAsync(operation, $"bucket '{Bucket}'", request, cancellationToken);

    /// <summary>
    /// Sends one request through the retry pipeline. A failure that ends it (attempts used up, or an answer not worth
    /// repeating) is thrown again with a message naming the store, <paramref name="operation"/>,
    /// <paramref name="target"/>, the attempts and the limits; a timeout as <see cref="TimeoutException"/>.
    /// </summary>
    /// <param name="operation">The S3 operation, for messages (<c>DeleteObjects</c>).</param>
    /// <param name="target">What it acts on, for messages (<see cref="Target(string)"/>).</param>
    /// <param name="request">Sends one attempt.</param>
    /// <param name="cancellationToken">The caller's cancellation; a cancelled request throws <see cref="OperationCanceledException"/> as is.</param>
    private async Task<T> SendAsync<T>(string operation, string target, Func<IAmazonS3, CancellationToken, Task<T>> request, CancellationToken cancellationToken)
    {
        var attempts = 0;
        var context = ResilienceContextPool.Shared.Get(operation, cancellationToken);
        context.Properties.Set(S3Retry.TargetKey, target);
        try
        {
            return await _pipeline.ExecuteAsync(
                async (context, state) =>
                {
                    Interlocked.Increment(ref attempts);
                    return await state.request(state.client, context.CancellationToken).ConfigureAwait(false);
                },
                context,
                (client: (IAmazonS3)_client, request)).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && S3Retry.Explain(e, _options, operation, target, Volatile.Read(ref attempts)) is { } explained)
        {
            throw explained;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
