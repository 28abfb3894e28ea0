using Microsoft.Extensions.Logging;
using Reclaim.Core.Catalogs;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Data.Catalogs;
using Reclaim.Data.State;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Runtime;

/// <summary>
/// The stores, catalogs and state a config names, opened on first use and disposed together. One per command
/// (or per server process).
/// </summary>
public sealed class Workspace : IAsyncDisposable
{
    private readonly Dictionary<string, IObjectStore> _stores = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ICatalog> _catalogs = new(StringComparer.Ordinal);
    private readonly Lock _sync = new();
    private readonly ILoggerFactory _loggerFactory;
    private IStateStore? _state;
    private bool _migrated;

    /// <summary>Creates the workspace; nothing is opened yet.</summary>
    /// <param name="config">The loaded config.</param>
    /// <param name="loggerFactory">Logging.</param>
    public Workspace(ReclaimConfig config, ILoggerFactory loggerFactory)
    {
        Config = config;
        _loggerFactory = loggerFactory;
    }

    /// <summary>The config.</summary>
    public ReclaimConfig Config { get; }

    /// <summary>The named store, opened on first use.</summary>
    /// <param name="name">A store defined in the config.</param>
    /// <returns>The store.</returns>
    /// <exception cref="KeyNotFoundException">No store has that name.</exception>
    /// <exception cref="DirectoryNotFoundException">A filesystem store's root is missing.</exception>
    public IObjectStore Store(string name)
    {
        lock (_sync)
        {
            if (!_stores.TryGetValue(name, out var store))
            {
                var config = Config.Stores.TryGetValue(name, out var found) ? found : throw new KeyNotFoundException($"no store named '{name}'");
                store = StoreFactory.Create(config, _loggerFactory);
                _stores[name] = store;
            }

            return store;
        }
    }

    /// <summary>The named catalog, opened on first use.</summary>
    /// <param name="name">A catalog defined in the config.</param>
    /// <returns>The catalog.</returns>
    /// <exception cref="KeyNotFoundException">No catalog has that name.</exception>
    /// <exception cref="CatalogException">The catalog's connection settings are unusable (a missing SQLite file).</exception>
    public ICatalog Catalog(string name)
    {
        lock (_sync)
        {
            if (!_catalogs.TryGetValue(name, out var catalog))
            {
                var config = Config.Catalogs.TryGetValue(name, out var found) ? found : throw new KeyNotFoundException($"no catalog named '{name}'");
                try
                {
                    catalog = config.Provider switch
                    {
                        "postgres" => new PostgresCatalog(name, ConnectionStrings.ToNpgsql(config.Connection)),
                        "mysql" => new MySqlCatalog(name, ConnectionStrings.ToMySql(config.Connection)),
                        _ => new SqliteCatalog(name, config.Connection),
                    };
                }
                catch (Exception e) when (e is FileNotFoundException or ArgumentException)
                {
                    throw new CatalogException($"catalog '{name}': {e.Message}", e);
                }

                _catalogs[name] = catalog;
            }

            return catalog;
        }
    }

    /// <summary>Reclaim's state, migrated on first use.</summary>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The state store.</returns>
    public async Task<IStateStore> StateAsync(CancellationToken cancellationToken)
    {
        _state ??= Config.State.Provider == "postgres"
            ? SqlStateStore.Postgres(ConnectionStrings.ToNpgsql(Config.State.Connection))
            : SqlStateStore.Sqlite(Config.State.Connection);
        if (!_migrated)
        {
            await _state.MigrateAsync(cancellationToken);
            _migrated = true;
        }

        return _state;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores.Values)
        {
            await store.DisposeAsync();
        }

        foreach (var catalog in _catalogs.Values)
        {
            await catalog.DisposeAsync();
        }

        if (_state is not null)
        {
            await _state.DisposeAsync();
        }
    }
}
