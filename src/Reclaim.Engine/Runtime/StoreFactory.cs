using Microsoft.Extensions.Logging;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Runtime;

/// <summary>Creates stores from their config.</summary>
public static class StoreFactory
{
    /// <summary>Creates the store a config entry describes.</summary>
    /// <param name="config">The store's config.</param>
    /// <param name="loggerFactory">Logging.</param>
    /// <returns>The store.</returns>
    public static IObjectStore Create(StoreConfig config, ILoggerFactory loggerFactory) =>
        throw new NotSupportedException($"store type '{config.Type}' ({loggerFactory})");
}
