using Microsoft.Extensions.Logging.Abstractions;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Runtime;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Support;

/// <summary>
/// A store and a catalog for end-to-end scenarios: the same scenarios run on a folder + SQLite, on S3
/// (s3rver) + PostgreSQL, and (orphans, retention and records) on a folder + MariaDB.
/// </summary>
public abstract class Backend : IAsyncLifetime
{
    private IObjectStore? _store;

    /// <summary>A temporary folder for the config, state and plan files.</summary>
    public string Dir { get; } = Directory.CreateTempSubdirectory("reclaim-scenario-").FullName;

    /// <summary>The config file's path.</summary>
    public string ConfigPath => Path.Combine(Dir, "reclaim.yaml");

    /// <summary>The YAML under <c>stores:</c> defining a store named <c>media</c> (indented by 2).</summary>
    protected abstract string StoreYaml { get; }

    /// <summary>The YAML under <c>catalogs:</c> defining a catalog named <c>app</c> (indented by 2).</summary>
    protected abstract string CatalogYaml { get; }

    /// <summary>The store, as the product opens it.</summary>
    public IObjectStore Store => _store ?? throw new InvalidOperationException("write the config first");

    /// <summary>Runs SQL on the catalog.</summary>
    /// <param name="sql">Statements.</param>
    /// <returns>A task.</returns>
    public abstract Task ExecuteSqlAsync(string sql);

    /// <summary>Runs a query on the catalog; every column as text (SQL NULL as <see langword="null"/>).</summary>
    /// <param name="sql">A SELECT.</param>
    /// <returns>The rows.</returns>
    public abstract Task<List<string?[]>> QueryAsync(string sql);

    /// <summary>Whether the catalog is PostgreSQL.</summary>
    public abstract bool IsPostgres { get; }

    /// <summary>
    /// The column type for a text key in test tables: <c>TEXT</c>, or on MySQL, which cannot index a <c>TEXT</c>
    /// column without a prefix length, <c>VARCHAR(191)</c> (191 utf8mb4 characters fit InnoDB's 767-byte key prefix).
    /// </summary>
    public virtual string KeyText => "TEXT";

    /// <summary>The YAML of a <c>state:</c> section for this backend (PostgreSQL state for the S3 + PostgreSQL backend; empty for the default).</summary>
    public virtual string StateYaml => string.Empty;

    /// <summary>Runs a query on Reclaim's state database (the SQLite file next to the config, or the PostgreSQL of <see cref="StateYaml"/>); every column as text.</summary>
    /// <param name="sql">A SELECT.</param>
    /// <returns>The rows; none when the state has no tables yet.</returns>
    public virtual async Task<List<string?[]>> StateQueryAsync(string sql)
    {
        var path = Path.Combine(Dir, ".reclaim", "state.db");
        if (!File.Exists(path))
        {
            return [];
        }

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        try
        {
            return await ReadAllAsync(command);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
        {
            return [];
        }
    }

    /// <summary>Reads rows from any open ADO.NET command.</summary>
    /// <param name="command">The command.</param>
    /// <returns>The rows, as text.</returns>
    protected static async Task<List<string?[]>> ReadAllAsync(System.Data.Common.DbCommand command)
    {
        var rows = new List<string?[]>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var row = new string?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <inheritdoc/>
    public abstract Task InitializeAsync();

    /// <inheritdoc/>
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
    }

    /// <summary>Writes <c>reclaim.yaml</c> with the backend's store and catalog and opens the store.</summary>
    /// <param name="policies">YAML list items under <c>policies:</c> (indented by 2).</param>
    /// <param name="extra">More top-level YAML (guards, trash).</param>
    public void WriteConfig(string policies, string extra = "")
    {
        var yaml = $"""
            version: 1
            stores:
            {StoreYaml}
            catalogs:
            {CatalogYaml}
            policies:
            {policies}
            {extra}
            """;
        File.WriteAllText(ConfigPath, yaml);
        if (_store is null)
        {
            var config = ConfigLoader.Load(ConfigPath);
            _store = StoreFactory.Create(config.Stores["media"], NullLoggerFactory.Instance);
        }
    }

    /// <summary>Writes an object through the store.</summary>
    /// <param name="key">The key.</param>
    /// <param name="content">The bytes.</param>
    /// <returns>A task.</returns>
    public async Task PutAsync(string key, byte[] content)
    {
        await ((IObjectContent)Store).WriteAsync(key, new MemoryStream(content), CancellationToken.None);
    }

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

    /// <summary>Every key in the store, trash included.</summary>
    /// <returns>The keys.</returns>
    public async Task<HashSet<string>> KeysAsync() => (await ListAllAsync()).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);

    /// <summary>Runs the CLI with this backend's config.</summary>
    /// <param name="clock">The clock.</param>
    /// <param name="args">The arguments (without <c>-c</c>).</param>
    /// <returns>The result.</returns>
    public Task<CliResult> CliAsync(TimeProvider clock, params string[] args) => CliRun.RunAsync(clock, [.. args, "-c", ConfigPath]);
}

/// <summary>A folder store and a SQLite catalog.</summary>
public sealed class FolderSqliteBackend : Backend
{
    private string Root => Path.Combine(Dir, "media");

    private string Database => Path.Combine(Dir, "app.db");

    /// <inheritdoc/>
    protected override string StoreYaml => """
          media:
            type: filesystem
            root: ./media
        """;

    /// <inheritdoc/>
    protected override string CatalogYaml => """
          app:
            provider: sqlite
            connection: ./app.db
        """;

    /// <inheritdoc/>
    public override Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        return ExecuteSqlAsync("CREATE TABLE IF NOT EXISTS ping (x INTEGER)");
    }

    /// <inheritdoc/>
    public override async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Database};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <inheritdoc/>
    public override bool IsPostgres => false;

    /// <inheritdoc/>
    public override async Task<List<string?[]>> QueryAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Database};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await ReadAllAsync(command);
    }
}

/// <summary>An S3 bucket on s3rver and a PostgreSQL catalog.</summary>
public sealed class S3PostgresBackend : Backend
{
    private PostgresDatabase? _database;
    private string _bucket = string.Empty;
    private string _endpoint = string.Empty;

    /// <inheritdoc/>
    protected override string StoreYaml => $"""
          media:
            type: s3
            bucket: {_bucket}
            endpoint: {ProxyEndpoint ?? _endpoint}
            region: us-east-1
            force_path_style: true
            access_key: {TestEnvironment.S3rverAccessKey}
            secret_key: {TestEnvironment.S3rverSecretKey}
            use_chunk_encoding: false
        """;

    /// <inheritdoc/>
    protected override string CatalogYaml => $"""
          app:
            provider: postgres
            connection: "{_database!.ConnectionString}"
        """;

    /// <inheritdoc/>
    public override async Task InitializeAsync()
    {
        _database = await PostgresDatabase.CreateAsync();
        _bucket = "scenario-" + Guid.NewGuid().ToString("N")[..12];
        _endpoint = (await TestS3Service.CreateBucketAsync(_bucket)).ToString().TrimEnd('/');
    }

    /// <inheritdoc/>
    public override Task ExecuteSqlAsync(string sql) => _database!.ExecuteAsync(sql);

    /// <summary>An endpoint in front of the S3 server (a <see cref="Reclaim.Testing.FaultProxy"/>) that the config names instead of the server, once the config is written again; <see langword="null"/> for the server itself.</summary>
    public string? ProxyEndpoint { get; set; }

    /// <inheritdoc/>
    public override async Task<List<string?[]>> StateQueryAsync(string sql)
    {
        try
        {
            return await QueryAsync(sql);
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == "42P01")
        {
            return []; // undefined_table: not migrated yet
        }
    }

    /// <inheritdoc/>
    public override bool IsPostgres => true;

    /// <inheritdoc/>
    public override string StateYaml => $"""
        state:
          provider: postgres
          connection: "{_database!.ConnectionString}"
        """;

    /// <summary>The S3 endpoint.</summary>
    public string Endpoint => _endpoint;

    /// <summary>The Npgsql connection string of the database holding the catalog and the state.</summary>
    public string ConnectionString => _database!.ConnectionString;

    /// <inheritdoc/>
    public override async Task<List<string?[]>> QueryAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_database!.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return await ReadAllAsync(command);
    }

    /// <inheritdoc/>
    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

/// <summary>A folder store and a MySQL catalog on MariaDB (the test script's server), reached through a <c>mysql://</c> URL.</summary>
public sealed class FolderMariaDbBackend : Backend
{
    private MariaDbDatabase? _database;

    /// <inheritdoc/>
    protected override string StoreYaml => """
          media:
            type: filesystem
            root: ./media
        """;

    /// <inheritdoc/>
    protected override string CatalogYaml => $"""
          app:
            provider: mysql
            connection: "{_database!.Url}"
        """;

    /// <inheritdoc/>
    public override string KeyText => "VARCHAR(191)";

    /// <inheritdoc/>
    public override bool IsPostgres => false;

    /// <inheritdoc/>
    public override async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Dir, "media"));
        _database = await MariaDbDatabase.CreateAsync();
    }

    /// <inheritdoc/>
    public override Task ExecuteSqlAsync(string sql) => _database!.ExecuteAsync(sql);

    /// <inheritdoc/>
    public override async Task<List<string?[]>> QueryAsync(string sql)
    {
        await using var connection = new MySqlConnector.MySqlConnection(_database!.ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlConnector.MySqlCommand(sql, connection);
        return await ReadAllAsync(command);
    }

    /// <inheritdoc/>
    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
