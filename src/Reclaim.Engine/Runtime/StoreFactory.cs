using Microsoft.Extensions.Logging;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Stores.FileSystem;
using Reclaim.Stores.S3;

namespace Reclaim.Engine.Runtime;

/// <summary>Creates stores from their config.</summary>
public static class StoreFactory
{
    /// <summary>Creates the store a config entry describes.</summary>
    /// <param name="config">The store's config (validated by the loader).</param>
    /// <param name="loggerFactory">Logging.</param>
    /// <returns>The store.</returns>
    /// <exception cref="DirectoryNotFoundException">A filesystem store's root does not exist.</exception>
    /// <exception cref="System.ComponentModel.DataAnnotations.ValidationException">An S3 store's settings are invalid (the loader never lets such a config through).</exception>
    public static IObjectStore Create(StoreConfig config, ILoggerFactory loggerFactory) => config.Type switch
    {
        "filesystem" => new FileSystemStore(config.Name, config.Root!),
        "s3" => new S3Store(config.S3!, loggerFactory.CreateLogger<S3Store>()),
        _ => throw new ArgumentException($"store '{config.Name}': unknown type '{config.Type}'", nameof(config)),
    };
}
