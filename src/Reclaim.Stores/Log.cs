using Microsoft.Extensions.Logging;

namespace Reclaim.Stores;

/// <summary>The stores' log messages: stable event ids and names, units in the placeholders.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, EventName = "S3RequestRetrying", Level = LogLevel.Warning,
        Message = "S3 {Operation} on store '{Store}' failed (attempt {Attempt}); retrying in {DelayMs} ms")]
    public static partial void S3RequestRetrying(ILogger logger, string operation, string store, int attempt, double delayMs, Exception? exception);

    [LoggerMessage(EventId = 2002, EventName = "S3MoveSourceNotDeleted", Level = LogLevel.Warning,
        Message = "S3 store '{Store}' copied '{SourceKey}' to '{DestinationKey}' but could not delete the source")]
    public static partial void S3MoveSourceNotDeleted(ILogger logger, string store, string sourceKey, string destinationKey, Exception exception);
}
