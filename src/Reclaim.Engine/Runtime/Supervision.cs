using Polly;
using Polly.Retry;

namespace Reclaim.Engine.Runtime;

/// <summary>Retry pipelines for long-lived loops that must come back after a failure (a worker, a listening connection).</summary>
public static class Supervision
{
    /// <summary>
    /// A Polly pipeline that retries without limit, exponentially from 1 s up to <paramref name="maxDelay"/>, with
    /// jitter (Polly's decorrelated jitter for exponential backoff).
    /// </summary>
    /// <param name="maxDelay">The longest wait between attempts.</param>
    /// <param name="shouldRetry">Whether a failure is retried; any other ends the pipeline with that failure.</param>
    /// <param name="onRetry">Called before each wait with the failure and the wait.</param>
    /// <param name="timeProvider">The clock the waits use; <see langword="null"/> for the system clock.</param>
    /// <returns>The pipeline.</returns>
    public static ResiliencePipeline RetryForever(TimeSpan maxDelay, Func<Exception, bool> shouldRetry, Action<Exception?, TimeSpan> onRetry, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(shouldRetry);
        ArgumentNullException.ThrowIfNull(onRetry);
        return new ResiliencePipelineBuilder { TimeProvider = timeProvider ?? TimeProvider.System }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = maxDelay,
                ShouldHandle = new PredicateBuilder().Handle(shouldRetry),
                OnRetry = args =>
                {
                    onRetry(args.Outcome.Exception, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }
}
