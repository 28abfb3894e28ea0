using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>
/// The one retry policy of S3 requests: the SDK's own retries are off, so every attempt is counted and logged here.
/// </summary>
internal static class S3Retry
{
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
                    Log.S3RequestRetrying(logger, args.Context.OperationKey ?? "request", options.Name, args.AttemptNumber + 1,
                        args.RetryDelay.TotalMilliseconds, args.Outcome.Exception);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>
    /// Whether a failed attempt is worth repeating: the service's 500/502/503/504 or its <c>SlowDown</c> and
    /// <c>InternalError</c> codes, a broken connection, a timeout. Never a 4xx answer (the request itself is
    /// wrong, or the object is missing), never the caller's cancellation, never a store's own verdict.
    /// </summary>
    public static bool IsTransient(Exception? exception, CancellationToken cancellationToken) => exception switch
    {
        null => false,
        ObjectExistsException or ObjectNotFoundException or InvalidKeyException => false,
        AmazonServiceException service when IsTransientStatus(service.StatusCode) || service.ErrorCode is "SlowDown" or "InternalError" => true,
        AmazonServiceException { StatusCode: >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError } => false,
        AmazonServiceException { InnerException: { } inner } => IsTransient(inner, cancellationToken),
        AmazonClientException { InnerException: { } inner } => IsTransient(inner, cancellationToken),
        HttpRequestException or IOException or TimeoutException or TimeoutRejectedException => true,
        // HttpClient reports its own timeout as a cancellation the caller did not ask for.
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    private static bool IsTransientStatus(HttpStatusCode status) => status is HttpStatusCode.InternalServerError
        or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;
}
