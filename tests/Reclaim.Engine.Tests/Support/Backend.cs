using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Support;

/// <summary>
/// A store and a catalog for end-to-end scenarios: the same scenarios run on a folder + SQLite, on S3
/// (s3rver) + PostgreSQL, and (orphans, retention and records) on a folder + MariaDB.
/// </summary>
public abstract class Backend() : ReclaimSite("reclaim-scenario-")
{
    /// <inheritdoc/>
    public override string ConfigPath => Path.Combine(Dir, "reclaim.yaml");

    /// <summary>The YAML under <c>stores:</c> defining a store named <c>media</c> (indented by 2).</summary>
    protected abstract string StoreYaml { get; }

    /// <summary>The YAML under <c>catalogs:</c> defining a catalog named <c>app</c> (indented by 2).</summary>
    protected abstract string CatalogYaml { get; }

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
            return await SqlRows.ReadAllAsync(command);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
        {
            return [];
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
        OpenStore("media");
    }

    /// <summary>Every key in the store, trash included.</summary>
    /// <returns>The keys.</returns>
    public async Task<HashSet<string>> KeysAsync() => (await ListAllAsync()).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
}

/// <summary>A folder store and a SQLite catalog.</summary>
public sealed class FolderSqliteBackend : Backend
{
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
    public override bool IsPostgres => false;

    /// <inheritdoc/>
    public override Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Dir, "media"));
        Database = new SqliteDatabase(Path.Combine(Dir, "app.db"));
        return ExecuteSqlAsync("CREATE TABLE IF NOT EXISTS ping (x INTEGER)");
    }
}

/// <summary>
/// A backend whose catalog and state are one fresh database on the test PostgreSQL server; the store is the subclass's.
/// </summary>
public abstract class PostgresBackend : Backend
{
    private PostgresDatabase? _postgres;

    /// <summary>The Npgsql connection string of the database holding the catalog and the state.</summary>
    public string ConnectionString => Postgres.ConnectionString;

    /// <inheritdoc/>
    public override bool IsPostgres => true;

    /// <inheritdoc/>
    public override string StateYaml => $"""
        state:
          provider: postgres
          connection: "{ConnectionString}"
        """;

    /// <inheritdoc/>
    protected override string CatalogYaml => $"""
          app:
            provider: postgres
            connection: "{ConnectionString}"
        """;

    private PostgresDatabase Postgres => _postgres ?? throw new InvalidOperationException("initialize first");

    /// <inheritdoc/>
    public override async Task InitializeAsync() => Database = _postgres = await PostgresDatabase.CreateAsync();

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
}

/// <summary>An S3 bucket on s3rver and a PostgreSQL catalog.</summary>
public sealed class S3PostgresBackend : PostgresBackend
{
    private TestBucket? _bucket;

    /// <inheritdoc/>
    protected override string StoreYaml => $"""
          media:
            type: s3
            bucket: {_bucket?.Name}
            endpoint: {ProxyEndpoint ?? Endpoint}
            region: us-east-1
            force_path_style: true
            access_key: {TestEnvironment.S3rverAccessKey}
            secret_key: {TestEnvironment.S3rverSecretKey}
            use_chunk_encoding: false
        """;

    /// <inheritdoc/>
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _bucket = await TestBucket.CreateAsync("scenario");
    }

    /// <summary>An endpoint in front of the S3 server (a <see cref="Reclaim.Testing.FaultProxy"/>) that the config names instead of the server, once the config is written again; <see langword="null"/> for the server itself.</summary>
    public string? ProxyEndpoint { get; set; }

    /// <summary>The S3 endpoint, without a trailing slash.</summary>
    public string Endpoint => _bucket?.EndpointText ?? string.Empty;
}

/// <summary>A folder store and a MySQL catalog on MariaDB (the test script's server), reached through a <c>mysql://</c> URL.</summary>
public sealed class FolderMariaDbBackend : Backend
{
    private MariaDbDatabase? _mariaDb;

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
            connection: "{_mariaDb!.Url}"
        """;

    /// <inheritdoc/>
    public override string KeyText => "VARCHAR(191)";

    /// <inheritdoc/>
    public override bool IsPostgres => false;

    /// <inheritdoc/>
    public override async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Dir, "media"));
        Database = _mariaDb = await MariaDbDatabase.CreateAsync();
    }
}

/// <summary>
/// A folder store whose catalog and state are one real PostgreSQL database: what participants of a partitioned run on
/// several machines share (a folder store, so that a test is about the run, not the store's speed).
/// </summary>
public sealed class FolderPostgresBackend : PostgresBackend
{
    /// <inheritdoc/>
    protected override string StoreYaml => """
          media:
            type: filesystem
            root: ./media
        """;

    /// <inheritdoc/>
    public override async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Dir, "media"));
        await base.InitializeAsync();
    }
}
