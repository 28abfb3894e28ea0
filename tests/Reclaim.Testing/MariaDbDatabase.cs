using MySqlConnector;

namespace Reclaim.Testing;

/// <summary>
/// A fresh database on the test MariaDB server (started by <c>scripts/test-services.sh</c>, which exports
/// <c>RECLAIM_TEST_MYSQL</c>), dropped on dispose.
/// </summary>
public sealed class MariaDbDatabase : ITestDatabase
{
    /// <summary>The environment variable holding the server's MySqlConnector connection string.</summary>
    public const string ServerVariable = "RECLAIM_TEST_MYSQL";

    private readonly string _server;

    private MariaDbDatabase(string server, string name)
    {
        _server = server;
        Name = name;
        var builder = new MySqlConnectionStringBuilder(server) { Database = name, Pooling = false };
        ConnectionString = builder.ConnectionString;
        Url = $"mysql://{Uri.EscapeDataString(builder.UserID)}@{builder.Server}:{builder.Port}/{name}";
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>A MySqlConnector keyword connection string for the database.</summary>
    public string ConnectionString { get; }

    /// <summary>The same database as a <c>mysql://user@host:port/database</c> URL.</summary>
    public string Url { get; }

    /// <summary>Whether the server's connection string is set (the services were started).</summary>
    public static bool Available => TestEnvironment.Get(ServerVariable) is not null;

    /// <summary>The server's connection string.</summary>
    /// <exception cref="InvalidOperationException">The variable is unset: run the tests through <c>scripts/test.sh</c>.</exception>
    public static string Server => TestEnvironment.Get(ServerVariable)
        ?? throw new InvalidOperationException($"{ServerVariable} is not set: run the tests with ./scripts/test.sh, which starts MariaDB");

    /// <summary>Creates a database with a unique name (utf8mb4, the server's default case-insensitive collation).</summary>
    /// <returns>The database.</returns>
    public static async Task<MariaDbDatabase> CreateAsync()
    {
        var server = Server;
        var name = "reclaim_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new MySqlConnection(server);
        await connection.OpenAsync();
        await using var command = new MySqlCommand($"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", connection);
        await command.ExecuteNonQueryAsync();
        return new MariaDbDatabase(server, name);
    }

    /// <inheritdoc/>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <inheritdoc/>
    public async Task<List<string?[]>> QueryAsync(string sql)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        return await SqlRows.ReadAllAsync(command);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await using var connection = new MySqlConnection(_server);
        await connection.OpenAsync();
        await using var command = new MySqlCommand($"DROP DATABASE IF EXISTS {Name}", connection);
        await command.ExecuteNonQueryAsync();
    }
}
