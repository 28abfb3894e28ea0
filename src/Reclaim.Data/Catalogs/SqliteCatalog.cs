using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Reclaim.Data.Catalogs;

/// <summary>A SQLite catalog (Microsoft.Data.Sqlite). Re-checks compare the text form exactly.</summary>
public sealed class SqliteCatalog : SqlCatalog
{
    private readonly string _connectionString;

    /// <summary>Creates the catalog.</summary>
    /// <param name="name">The catalog's name.</param>
    /// <param name="connection">A database file path (must exist) or a full connection string (contains <c>=</c>).</param>
    /// <exception cref="FileNotFoundException">A path was given and no file is there.</exception>
    public SqliteCatalog(string name, string connection)
        : base(name)
    {
        _connectionString = SqliteConnections.ForExistingDatabase(connection);
    }

    /// <inheritdoc/>
    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var pragma = connection.CreateCommand())
        {
            // Wait for an application's writer instead of failing at once.
            pragma.CommandText = "PRAGMA busy_timeout = 5000";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
        }

        return connection;
    }
}

/// <summary>Connection strings for SQLite files.</summary>
public static class SqliteConnections
{
    /// <summary>A connection string for an existing database: a path, or a connection string passed through.</summary>
    /// <param name="connection">A path or a connection string (contains <c>=</c>).</param>
    /// <returns>The connection string.</returns>
    /// <exception cref="FileNotFoundException">A path was given and no file is there (SQLite would silently create an empty one, which would look like a catalog with no references).</exception>
    public static string ForExistingDatabase(string connection)
    {
        if (connection.Contains('=', StringComparison.Ordinal))
        {
            return connection;
        }

        if (!File.Exists(connection))
        {
            throw new FileNotFoundException($"no SQLite database at '{connection}'", connection);
        }

        return new SqliteConnectionStringBuilder { DataSource = connection, Mode = SqliteOpenMode.ReadWrite, Pooling = true }.ToString();
    }

    /// <summary>A connection string that creates the database file (and its folder) when missing: for Reclaim's own state.</summary>
    /// <param name="connection">A path or a connection string.</param>
    /// <returns>The connection string.</returns>
    public static string ForOwnDatabase(string connection)
    {
        if (connection.Contains('=', StringComparison.Ordinal))
        {
            return connection;
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(connection));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        return new SqliteConnectionStringBuilder { DataSource = connection, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
    }
}
