using Microsoft.Extensions.Logging.Abstractions;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Runtime;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Support;

/// <summary>
/// What every end-to-end harness holds: a temporary folder with a Reclaim config in it, the store the config names
/// opened as the product opens it, and the catalog database behind the config. The scenario backends
/// (<see cref="Backend"/>) write their config; the example sites (<see cref="Examples.ExampleSite"/>) copy a shipped one.
/// </summary>
/// <param name="label">A word the temporary folder's name starts with.</param>
public abstract class ReclaimSite(string label) : IAsyncLifetime
{
    private IObjectStore? _store;

    /// <summary>The temporary folder holding the config, its store folder, catalog, state and plan files.</summary>
    public string Dir { get; } = Directory.CreateTempSubdirectory(label).FullName;

    /// <summary>The config file's path.</summary>
    public abstract string ConfigPath { get; }

    /// <summary>The store, as the product opens it from the config.</summary>
    public IObjectStore Store => _store ?? throw new InvalidOperationException("write or copy the config first");

    /// <summary>The catalog database (<see langword="null"/> until set up); disposed, and so dropped, with the site.</summary>
    protected ITestDatabase? Database { get; set; }

    private ITestDatabase Catalog => Database ?? throw new InvalidOperationException("initialize first");

    /// <summary>Runs statements on the catalog.</summary>
    /// <param name="sql">Statements.</param>
    /// <returns>A task.</returns>
    public Task ExecuteSqlAsync(string sql) => Catalog.ExecuteAsync(sql);

    /// <summary>Runs a query on the catalog; every column as text (SQL NULL as <see langword="null"/>).</summary>
    /// <param name="sql">A SELECT.</param>
    /// <returns>The rows.</returns>
    public Task<List<string?[]>> QueryAsync(string sql) => Catalog.QueryAsync(sql);

    /// <summary>The first column of a query's rows on the catalog, as text, sorted ordinally.</summary>
    /// <param name="sql">A SELECT.</param>
    /// <returns>The values.</returns>
    public async Task<List<string>> ColumnAsync(string sql) =>
        (await QueryAsync(sql)).Select(row => row[0] ?? string.Empty).Order(StringComparer.Ordinal).ToList();

    /// <summary>Opens the store the config names (its only one, or <paramref name="name"/>), unless it is open already.</summary>
    /// <param name="name">The store's name; <see langword="null"/> for a config with one store.</param>
    protected void OpenStore(string? name = null)
    {
        if (_store is null)
        {
            var config = ConfigLoader.Load(ConfigPath);
            _store = StoreFactory.Create(name is null ? config.Stores.Values.Single() : config.Stores[name], NullLoggerFactory.Instance);
        }
    }

    /// <summary>Writes an object through the store.</summary>
    /// <param name="key">The key.</param>
    /// <param name="content">The bytes.</param>
    /// <returns>A task.</returns>
    public async Task PutAsync(string key, byte[] content) =>
        await ((IObjectContent)Store).WriteAsync(key, new MemoryStream(content), CancellationToken.None);

    /// <summary>Every object in the store, trash included, in key order.</summary>
    /// <returns>The objects.</returns>
    public async Task<List<StoredObject>> ListAllAsync()
    {
        var all = new List<StoredObject>();
        await foreach (var item in Store.ListAsync(string.Empty, CancellationToken.None))
        {
            all.Add(item);
        }

        return all;
    }

    /// <summary>Runs the CLI in-process with this site's config.</summary>
    /// <param name="clock">The clock the command sees.</param>
    /// <param name="args">The arguments (without <c>-c</c>).</param>
    /// <returns>The result.</returns>
    public Task<CliResult> CliAsync(TimeProvider clock, params string[] args) => CliRun.RunAsync(clock, [.. args, "-c", ConfigPath]);

    /// <inheritdoc/>
    public abstract Task InitializeAsync();

    /// <summary>Closes the store, removes the folder, then drops the catalog database.</summary>
    /// <returns>A task.</returns>
    public virtual async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }

        if (Database is not null)
        {
            await Database.DisposeAsync();
        }
    }
}
