using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Reclaim.Core;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>
/// The one retry policy of S3 requests: the SDK's own retries are off, so every attempt is counted and logged here.
/// Also how a failure is told: one line per retry, and a final error that names the store, the operation, what it
/// acted on, the attempts and the limits.
/// </summary>
internal static class S3Retry
{
    /// <summary>S3's throttling error code (with HTTP 503).</summary>
    public const string SlowDown = "SlowDown";

    /// <summary>What a request acts on (<c>'orgs/1/a.mp4'</c>), carried in its resilience context for the retry log.</summary>
    public static readonly ResiliencePropertyKey<string> TargetKey = new("reclaim.s3.target");

    /// <summary>The longest wait between two attempts.</summary>
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Builds the pipeline: up to <see cref="S3StoreOptions.MaxAttempts"/> attempts, exponential backoff from
    /// <see cref="S3StoreOptions.RetryBaseDelay"/> with jitter, capped at 30 s.
    /// </summary>
    public static ResiliencePipeline Create(S3StoreOptions options, ILogger logger)
    {
        if (options.MaxAttempts <= 1)
        {
            return ResiliencePipeline.Empty;
        }

        return new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome.Exception, args.Context.CancellationToken)),
                OnRetry = args =>
                {
                    // One line per retry; the exception, with its stack, only for -v (debug).
                    var target = args.Context.Properties.TryGetValue(TargetKey, out var value) ? value : "request";
                    Log.S3RequestRetrying(logger, options.Name, args.Context.OperationKey ?? "request", target, args.AttemptNumber + 1, options.MaxAttempts,
                        Describe(args.Outcome.Exception, options), args.RetryDelay.TotalMilliseconds,
                        logger.IsEnabled(LogLevel.Debug) ? args.Outcome.Exception : null);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>
    /// Whether a failed attempt is worth repeating: the service's 500/502/503/504 or its <c>SlowDown</c> and
    /// <c>InternalError</c> codes, a broken connection, an answer cut short (unparseable XML), a timeout, keys a DeleteObjects answer refused for such a
    /// reason. Never a 4xx answer (the request itself is wrong, or the object is missing), never the caller's
    /// cancellation, never a store's own verdict.
    /// </summary>
    public static bool IsTransient(Exception? exception, CancellationToken cancellationToken) => exception switch
    {
        null => false,
        S3KeysNotDeletedException => true,
        ObjectExistsException or ObjectNotFoundException or InvalidKeyException => false,
        AmazonServiceException service when IsTransientStatus(service.StatusCode) || IsTransientCode(service.ErrorCode) => true,
        AmazonServiceException { StatusCode: >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError } => false,
        AmazonServiceException { InnerException: { } inner } => IsTransient(inner, cancellationToken),
        AmazonClientException { InnerException: { } inner } => IsTransient(inner, cancellationToken),
        HttpRequestException or IOException or TimeoutException or TimeoutRejectedException => true,
        // An answer cut short (a connection dropped mid-body) reaches the SDK's parser as an empty or broken document.
        System.Xml.XmlException => true,
        // HttpClient reports its own timeout as a cancellation the caller did not ask for.
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    /// <summary>Whether an S3 error code (of a whole answer or of one key in a DeleteObjects answer) is a passing one.</summary>
    public static bool IsTransientCode(string? code) => code is SlowDown or "InternalError" or "ServiceUnavailable" or "RequestTimeout";

    /// <summary>
    /// Whether a failed attempt says the service is overloaded, so fewer requests should be in flight: <c>503</c>
    /// (S3's <c>SlowDown</c>) or a timeout (TCP reads a loss the same way). A 500 is an error, not congestion.
    /// </summary>
    public static bool IsCongestion(Exception? exception, CancellationToken cancellationToken) => exception switch
    {
        null => false,
        AmazonServiceException service when service.StatusCode == HttpStatusCode.ServiceUnavailable || service.ErrorCode == SlowDown => true,
        _ => IsTimeout(exception, cancellationToken),
    };

    /// <summary>Whether a failed attempt timed out (the client's <see cref="S3StoreOptions.Timeout"/>), not the caller's cancellation.</summary>
    public static bool IsTimeout(Exception? exception, CancellationToken cancellationToken) => exception switch
    {
        null => false,
        TimeoutException or TimeoutRejectedException => true,
        OperationCanceledException cancelled => !cancellationToken.IsCancellationRequested || cancelled.InnerException is TimeoutException,
        AmazonServiceException { InnerException: { } inner } => IsTimeout(inner, cancellationToken),
        AmazonClientException { InnerException: { } inner } => IsTimeout(inner, cancellationToken),
        _ => false,
    };

    /// <summary>A failed attempt in a few words, for the retry line: <c>503 SlowDown: Please reduce your request rate.</c>.</summary>
    public static string Describe(Exception? exception, S3StoreOptions options) => exception switch
    {
        null => "no error",
        _ when IsTimeout(exception, CancellationToken.None) => $"no answer within {Duration.Format(options.Timeout)}",
        S3KeysNotDeletedException keys => keys.Message,
        AmazonServiceException { StatusCode: not 0 } service => $"{(int)service.StatusCode} {service.ErrorCode}: {service.Message}".TrimEnd(' ', ':'),
        AmazonClientException { InnerException: { } inner } => Describe(inner, options),
        HttpRequestException { InnerException: { } inner } http => $"{http.Message} ({inner.Message})",
        _ => exception.Message,
    };

    /// <summary>
    /// The exception to throw for a request that failed for good, with a message naming the store, the operation, what
    /// it acted on, the attempts made and the limits; <see langword="null"/> to let <paramref name="exception"/> through
    /// (a store's own verdict, or a failure that is not the service's).
    /// </summary>
    /// <param name="exception">The last attempt's failure.</param>
    /// <param name="options">The store's options, for its name and limits.</param>
    /// <param name="operation">The S3 operation (<c>HeadObject</c>).</param>
    /// <param name="target">What it acted on (<c>'orgs/1/a.mp4'</c>).</param>
    /// <param name="attempts">Attempts made.</param>
    /// <returns>A <see cref="TimeoutException"/> for a timeout; an <see cref="AmazonS3Exception"/> with the answer's code and status for a service answer; an <see cref="IOException"/> for a broken connection.</returns>
    public static Exception? Explain(Exception exception, S3StoreOptions options, string operation, string target, int attempts)
    {
        var what = $"S3 store '{options.Name}': {operation} of {target}";
        var tries = $"attempt {attempts} of {options.MaxAttempts}";
        if (IsTimeout(exception, CancellationToken.None))
        {
            return new TimeoutException(
                $"{what} got no answer within the timeout on {tries} (timeout: {Duration.Format(options.Timeout)}, max_attempts: {options.MaxAttempts})", exception);
        }

        return exception switch
        {
            S3KeysNotDeletedException or ObjectExistsException or ObjectNotFoundException or InvalidKeyException => null,
            AmazonS3Exception s3 => new AmazonS3Exception(
                IsTransient(s3, CancellationToken.None)
                    ? $"{what} failed on {tries} (max_attempts: {options.MaxAttempts}): {Describe(s3, options)}"
                    : $"{what} was refused: {Describe(s3, options)}",
                s3, s3.ErrorType, s3.ErrorCode, s3.RequestId, s3.StatusCode),
            AmazonServiceException or AmazonClientException or HttpRequestException or IOException when IsTransient(exception, CancellationToken.None) =>
                new IOException($"{what} failed on {tries} (max_attempts: {options.MaxAttempts}): {Describe(exception, options)}", exception),
            _ => null,
        };
    }

    private static bool IsTransientStatus(HttpStatusCode status) => status is HttpStatusCode.InternalServerError
        or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;
}

/// <summary>Keys a DeleteObjects answer refused for a passing reason: retried by the pipeline, returned as key errors when attempts run out.</summary>
/// <param name="errors">The keys, at least one, each with the service's code and message.</param>
internal sealed class S3KeysNotDeletedException(IReadOnlyList<KeyError> errors)
    : Exception($"{errors.Count} keys refused for a passing reason ({errors[0].Error})")
{
    /// <summary>The keys and their errors.</summary>
    public IReadOnlyList<KeyError> Errors { get; } = errors;
}
