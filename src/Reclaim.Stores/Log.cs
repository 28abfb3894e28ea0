using Microsoft.Extensions.Logging;

namespace Reclaim.Stores;

/// <summary>The stores' log messages: stable event ids and names, units in the placeholders.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, EventName = "S3RequestRetrying", Level = LogLevel.Warning,
        Message = "S3 store '{Store}': {Operation} of {Target} failed on attempt {Attempt} of {MaxAttempts} ({Error}); retrying in {DelayMs:F0} ms")]
    public static partial void S3RequestRetrying(ILogger logger, string store, string operation, string target, int attempt, int maxAttempts, string error, double delayMs, Exception? exception);

    [LoggerMessage(EventId = 2002, EventName = "S3MoveSourceNotDeleted", Level = LogLevel.Warning,
        Message = "S3 store '{Store}' copied '{SourceKey}' to '{DestinationKey}' but could not delete the source")]
    public static partial void S3MoveSourceNotDeleted(ILogger logger, string store, string sourceKey, string destinationKey, Exception exception);
}
