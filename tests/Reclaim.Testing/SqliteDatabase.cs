using Microsoft.Data.Sqlite;

namespace Reclaim.Testing;

/// <summary>
/// A SQLite catalog file, opened without pooling on every call so that no connection outlives a statement (the file
/// can be deleted with its folder at once, and the product sees every committed row).
/// </summary>
/// <param name="path">The database file; created by the first statement.</param>
public sealed class SqliteDatabase(string path) : ITestDatabase
{
    /// <summary>The database file's path.</summary>
    public string Path { get; } = path;

    /// <summary>A Microsoft.Data.Sqlite connection string for the file, without pooling.</summary>
    public string ConnectionString => $"Data Source={Path};Pooling=false";

    /// <inheritdoc/>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<List<string?[]>> QueryAsync(string sql)
    {
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await SqlRows.ReadAllAsync(command).ConfigureAwait(false);
    }

    /// <summary>Runs SQL statements synchronously (for set-up in a constructor).</summary>
    /// <param name="sql">One or more statements.</param>
    public void Execute(string sql)
    {
        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Runs a query returning one integer, read-only.</summary>
    /// <param name="sql">A SELECT of one integer value.</param>
    /// <returns>The value.</returns>
    public long Count(string sql)
    {
        using var connection = new SqliteConnection(ConnectionString + ";Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Nothing to drop: the file goes with its folder.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
