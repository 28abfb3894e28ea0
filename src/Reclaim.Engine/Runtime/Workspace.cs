using Microsoft.Data.Sqlite;
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
    /// <exception cref="ConfigException">SQLite state whose file or folder cannot be written (a read-only mount, a path through a file): the error names the path and <c>state.connection</c>.</exception>
    public async Task<IStateStore> StateAsync(CancellationToken cancellationToken)
    {
        if (_state is null && Config.State.Provider != "postgres")
        {
            EnsureWritable(Config);
        }

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

    /// <summary>
    /// Refuses SQLite state that cannot be written before anything is opened: the folder must exist or be creatable
    /// and take new files (SQLite writes its journal next to the database), and an existing database must open for
    /// writing. An in-memory database or a <c>file:</c> URI is not checked.
    /// </summary>
    /// <param name="config">The config.</param>
    /// <exception cref="ConfigException">The state cannot be written.</exception>
    private static void EnsureWritable(ReclaimConfig config)
    {
        var connection = config.State.Connection;
        var file = connection.Contains('=', StringComparison.Ordinal) ? new SqliteConnectionStringBuilder(connection).DataSource : connection;
        if (file.Length == 0 || file == ":memory:" || file.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        file = Path.GetFullPath(file, config.Directory);
        if (UnwritableReason(file) is not { } reason)
        {
            return;
        }

        var fix = $"set state.connection to a file in a writable folder, for example /var/lib/reclaim/state.db (a systemd unit with StateDirectory=reclaim passes that folder as {StateConfig.StateDirectoryVariable}, and the state defaults to state.db there)";
        var error = config.State.ConnectionAt is { } at
            ? new ConfigError(at, $"state.connection: the state database {file} cannot be written ({reason}); {fix}")
            : new ConfigError(new ConfigLocation(config.Path, 0, 0), $"state.connection is not set and the default state database {file} cannot be written ({reason}); {fix}");
        throw new ConfigException([error]);
    }

    private static string? UnwritableReason(string file)
    {
        try
        {
            var folder = Path.GetDirectoryName(file)!;
            Directory.CreateDirectory(folder);
            using (File.Create(Path.Join(folder, $".reclaim-write-check-{Environment.ProcessId}"), 1, FileOptions.DeleteOnClose))
            {
            }

            if (File.Exists(file))
            {
                using var _ = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
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
