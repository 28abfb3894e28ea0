using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Examples;

/// <summary>
/// One of the shipped examples (<c>examples/NAME/</c>) set up for an end-to-end test: its real config file
/// copied into a temporary folder, with an empty store and catalog behind it. Tests seed data from C# (so
/// object ages follow a <see cref="ManualClock"/>) and run the real command line against the copy.
/// </summary>
/// <param name="example">The example's folder name under <c>examples/</c>.</param>
/// <param name="configFile">The config file to copy (<c>reclaim.yaml</c>, <c>reclaim.s3.yaml</c>).</param>
public abstract class ExampleSite(string example, string configFile) : ReclaimSite($"reclaim-example-{example}-")
{
    /// <summary>The copied config file's path.</summary>
    public override string ConfigPath => Path.Combine(Dir, configFile);

    /// <summary>An SQL expression for the catalog's time <paramref name="days"/> days before its own now.</summary>
    /// <param name="days">Days.</param>
    /// <returns>The expression.</returns>
    public abstract string DaysAgo(int days);

    /// <summary>An SQL literal for <paramref name="time"/> (UTC, whole seconds) as the catalog stores timestamps: SQLite's text form by default.</summary>
    /// <param name="time">The time.</param>
    /// <returns>The literal.</returns>
    public virtual string Timestamp(DateTimeOffset time) => $"'{time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}'";

    /// <summary>Creates what the copied config points at: the catalog (set as <see cref="ReclaimSite.Database"/>), the bucket or folder, the <c>.env</c> file.</summary>
    /// <returns>A task.</returns>
    protected abstract Task PrepareAsync();

    /// <inheritdoc/>
    public override async Task InitializeAsync()
    {
        File.Copy(Path.Combine(TestEnvironment.RepositoryRoot, "examples", example, configFile), ConfigPath);
        await PrepareAsync();
        OpenStore();
    }

    /// <summary>Replaces text in the copied config (a test's variation on the example).</summary>
    /// <param name="oldText">Text that must occur in the config.</param>
    /// <param name="newText">Its replacement.</param>
    public void EditConfig(string oldText, string newText)
    {
        var yaml = File.ReadAllText(ConfigPath);
        yaml.Should().Contain(oldText, "the variation must change the example's config");
        File.WriteAllText(ConfigPath, yaml.Replace(oldText, newText, StringComparison.Ordinal));
    }

    /// <summary>The bytes a seeded object holds.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The content.</returns>
    public static byte[] Content(string key) => Encoding.UTF8.GetBytes($"sample bytes of {key}\n");

    /// <summary>Writes objects through the store, each holding <see cref="Content"/>.</summary>
    /// <param name="keys">The keys.</param>
    /// <returns>A task.</returns>
    public async Task PutAsync(params string[] keys)
    {
        foreach (var key in keys)
        {
            await PutAsync(key, Content(key));
        }
    }

    /// <summary>
    /// Writes <paramref name="old"/>, waits past a second boundary (S3 times are whole seconds), writes
    /// <paramref name="young"/>, and returns a clock at which the old objects are exactly <paramref name="age"/>
    /// old and the young ones younger.
    /// </summary>
    /// <param name="old">Keys that must count as old.</param>
    /// <param name="young">Keys that must count as young.</param>
    /// <param name="age">The age of the old objects at the returned clock.</param>
    /// <returns>The clock.</returns>
    public async Task<ManualClock> SeedObjectsAsync(string[] old, string[] young, TimeSpan age)
    {
        await PutAsync(old);
        var newest = (await ListAllAsync()).Max(o => o.LastModified);
        await Task.Delay(1200);
        await PutAsync(young);
        return new ManualClock(newest + age);
    }

    /// <summary>Every key outside the trash, sorted ordinally.</summary>
    /// <returns>The keys.</returns>
    public async Task<List<string>> LiveKeysAsync() =>
        (await ListAllAsync()).Select(o => o.Key).Where(k => !k.StartsWith(".reclaim-trash/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

    /// <summary>The original keys of every object in the trash, sorted ordinally.</summary>
    /// <returns>The keys (without the trash prefix and run folder).</returns>
    public async Task<List<string>> TrashedKeysAsync() =>
        (await ListAllAsync()).Select(o => o.Key).Where(k => k.StartsWith(".reclaim-trash/", StringComparison.Ordinal))
            .Select(k => k.Split('/', 3)[2]).Order(StringComparer.Ordinal).ToList();

    /// <summary>The actions <c>reclaim runs show</c> reports for a run.</summary>
    /// <param name="clock">The clock.</param>
    /// <param name="run">A CLI result whose JSON names the run.</param>
    /// <returns>The actions as (kind, key, outcome).</returns>
    public async Task<List<(string Kind, string Key, string Outcome)>> ActionsAsync(TimeProvider clock, CliResult run)
    {
        var id = run.Json.GetProperty("run").GetProperty("id").GetString()!;
        var show = await CliAsync(clock, "runs", "show", id);
        show.ExitCode.Should().Be(0, show.ToString());
        return show.Json.GetProperty("actions").EnumerateArray()
            .Select(a => (a.GetProperty("kind").GetString()!, a.GetProperty("key").GetString()!, a.GetProperty("outcome").GetString()!))
            .ToList();
    }

    /// <summary>
    /// Writes a catalog into the copied config where it reads <c>${CATALOG_PROVIDER}</c> and <c>${DATABASE_URL}</c>,
    /// and creates the folder store's root.
    /// </summary>
    /// <param name="provider">The catalog provider the copy must use.</param>
    /// <param name="connection">Its connection value.</param>
    /// <returns>A task.</returns>
    protected async Task UseCatalogAsync(string provider, string connection)
    {
        var yaml = await File.ReadAllTextAsync(ConfigPath);
        yaml.Should().Contain("${DATABASE_URL");
        yaml.Should().Match(y => y.Contains("${CATALOG_PROVIDER", StringComparison.Ordinal) || y.Contains($"provider: {provider}", StringComparison.Ordinal), "the copy must use {0}", provider);
        yaml = Regex.Replace(yaml, @"\$\{CATALOG_PROVIDER(:-[^}]*)?\}", provider);
        yaml = Regex.Replace(yaml, @"\$\{DATABASE_URL(:-[^}]*)?\}", $"\"{connection}\"");
        await File.WriteAllTextAsync(ConfigPath, yaml);
        CreateFolderStoreRoot();
    }

    /// <summary>Creates the root folder of the config's folder store.</summary>
    protected void CreateFolderStoreRoot() => Directory.CreateDirectory(ConfigLoader.Load(ConfigPath).Stores.Values.Single().Root!);

    /// <summary>An SQL literal for <paramref name="time"/> as a PostgreSQL <c>TIMESTAMPTZ</c> in UTC.</summary>
    /// <param name="time">The time.</param>
    /// <returns>The literal.</returns>
    protected static string PostgresTimestamp(DateTimeOffset time) => $"TIMESTAMPTZ '{time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}+00'";
}

/// <summary>An example on its folder store and SQLite catalog, as the example's config names them.</summary>
/// <param name="example">The example's folder name.</param>
/// <param name="database">The SQLite file the config names (relative to the config).</param>
public abstract class FolderSqliteSite(string example, string database) : ExampleSite(example, "reclaim.yaml")
{
    /// <inheritdoc/>
    public override string DaysAgo(int days) => $"datetime('now', '-{days} days')";

    /// <inheritdoc/>
    protected override Task PrepareAsync()
    {
        Database = new SqliteDatabase(Path.Combine(Dir, database));
        CreateFolderStoreRoot();
        return Task.CompletedTask;
    }
}

/// <summary>
/// An example on an s3rver bucket and a PostgreSQL database, written into the example's config where it reads
/// them from the environment (<c>${S3_BUCKET}</c>, <c>${DATABASE_URL}</c>, ...).
/// </summary>
/// <param name="example">The example's folder name.</param>
/// <param name="configFile">The config that reads S3 and PostgreSQL settings from the environment.</param>
public abstract class S3PostgresSite(string example, string configFile) : ExampleSite(example, configFile)
{
    /// <inheritdoc/>
    public override string Timestamp(DateTimeOffset time) => PostgresTimestamp(time);

    /// <inheritdoc/>
    public override string DaysAgo(int days) => $"now() - interval '{days} days'";

    /// <inheritdoc/>
    protected override async Task PrepareAsync()
    {
        var database = await PostgresDatabase.CreateAsync();
        Database = database;
        var bucket = await TestBucket.CreateAsync("example");
        // The values go into the copied file where the example reads them from the environment: the CLI loads a
        // .env file into the process environment, which in-process runs of parallel tests would share.
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["S3_BUCKET"] = bucket.Name,
            ["S3_ENDPOINT"] = bucket.EndpointText,
            ["S3_FORCE_PATH_STYLE"] = "true",
            ["S3_USE_CHUNK_ENCODING"] = "false",
            ["S3_ACCESS_KEY"] = TestEnvironment.S3rverAccessKey,
            ["S3_SECRET_KEY"] = TestEnvironment.S3rverSecretKey,
            ["DATABASE_URL"] = $"\"{database.ConnectionString}\"",
        };
        var yaml = await File.ReadAllTextAsync(ConfigPath);
        foreach (var (name, value) in values)
        {
            yaml.Should().Contain("${" + name, "the example reads {0} from the environment", name);
            yaml = Regex.Replace(yaml, @"\$\{" + name + @"(:-[^}]*)?\}", value.Replace("$", "$$", StringComparison.Ordinal));
        }

        await File.WriteAllTextAsync(ConfigPath, yaml);
    }
}

/// <summary>
/// An example on its folder store with a PostgreSQL catalog: the example's config reads the database from
/// <c>${DATABASE_URL}</c> (and, where one config serves both, the provider from <c>${CATALOG_PROVIDER:-sqlite}</c>),
/// which are written into the copied file.
/// </summary>
/// <param name="example">The example's folder name.</param>
/// <param name="configFile">The config to copy (default <c>reclaim.yaml</c>; <c>reclaim.postgres.yaml</c> for a PostgreSQL variant).</param>
public abstract class FolderPostgresSite(string example, string configFile = "reclaim.yaml") : ExampleSite(example, configFile)
{
    /// <inheritdoc/>
    public override string Timestamp(DateTimeOffset time) => PostgresTimestamp(time);

    /// <inheritdoc/>
    public override string DaysAgo(int days) => $"now() - interval '{days} days'";

    /// <inheritdoc/>
    protected override async Task PrepareAsync()
    {
        var database = await PostgresDatabase.CreateAsync();
        Database = database;
        await UseCatalogAsync("postgres", database.ConnectionString);
    }
}

/// <summary>
/// An example on its folder store with a MySQL catalog on MariaDB: the example's config reads the provider from
/// <c>${CATALOG_PROVIDER}</c> and the database from <c>${DATABASE_URL}</c>, written into the copied file as
/// <c>mysql</c> and a <c>mysql://</c> URL.
/// </summary>
/// <param name="example">The example's folder name.</param>
/// <param name="configFile">The config to copy.</param>
public abstract class FolderMariaDbSite(string example, string configFile = "reclaim.yaml") : ExampleSite(example, configFile)
{
    /// <inheritdoc/>
    public override string DaysAgo(int days) => $"NOW() - INTERVAL {days} DAY";

    /// <inheritdoc/>
    protected override async Task PrepareAsync()
    {
        var database = await MariaDbDatabase.CreateAsync();
        Database = database;
        await UseCatalogAsync("mysql", database.Url);
    }
}
