using Npgsql;

namespace Reclaim.Testing;

/// <summary>
/// A fresh database on the test PostgreSQL server (started by <c>scripts/test.sh</c>, which exports
/// <c>RECLAIM_TEST_PG</c>), dropped on dispose.
/// </summary>
public sealed class PostgresDatabase : ITestDatabase
{
    /// <summary>The environment variable holding the server's Npgsql connection string.</summary>
    public const string ServerVariable = "RECLAIM_TEST_PG";

    private readonly string _server;

    private PostgresDatabase(string server, string name)
    {
        _server = server;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name, Pooling = false }.ToString();
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>An Npgsql connection string for the database.</summary>
    public string ConnectionString { get; }

    /// <summary>The server's connection string.</summary>
    /// <exception cref="InvalidOperationException">The variable is unset: run the tests through <c>scripts/test.sh</c>.</exception>
    public static string Server => Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException($"{ServerVariable} is not set: run the tests with ./scripts/test.sh, which starts PostgreSQL");

    /// <summary>Creates a database with a unique name.</summary>
    /// <returns>The database.</returns>
    public static async Task<PostgresDatabase> CreateAsync()
    {
        var server = Server;
        var name = "reclaim_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return new PostgresDatabase(server, name);
    }

    /// <inheritdoc/>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <inheritdoc/>
    public async Task<List<string?[]>> QueryAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await SqlRows.ReadAllAsync(command);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
