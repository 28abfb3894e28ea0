using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Reclaim.Data.Catalogs;

/// <summary>A SQLite catalog (Microsoft.Data.Sqlite). Re-checks compare the text form exactly.</summary>
public sealed class SqliteCatalog : SqlCatalog
{
    private readonly string _connectionString;

    /// <summary>Creates the catalog.</summary>
    /// <param name="name">The catalog's name.</param>
    /// <param name="connection">A database file path or a full connection string (contains <c>=</c>); the file must exist.</param>
    /// <exception cref="FileNotFoundException">No file is at the database's path.</exception>
    /// <exception cref="ArgumentException">The connection string is not one SQLite accepts.</exception>
    public SqliteCatalog(string name, string connection)
        : base(name)
    {
        _connectionString = SqliteConnections.ForExistingDatabase(connection);
    }

    /// <inheritdoc/>
    protected override bool SynchronousReads => true;

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
    /// <summary>
    /// A connection string for an existing database: a path, or a connection string whose file must exist too. A
    /// connection string that would create its file (the default mode, <c>ReadWriteCreate</c>) is opened
    /// <c>ReadWrite</c> instead; other modes, in-memory databases and <c>file:</c> URIs are passed through.
    /// </summary>
    /// <param name="connection">A path or a connection string (contains <c>=</c>).</param>
    /// <returns>The connection string.</returns>
    /// <exception cref="FileNotFoundException">No file is at the path (SQLite would silently create an empty one, which would look like a catalog with no references).</exception>
    /// <exception cref="ArgumentException">The connection string has a keyword SQLite does not know or a value it cannot use.</exception>
    public static string ForExistingDatabase(string connection)
    {
        if (connection.Contains('=', StringComparison.Ordinal))
        {
            var builder = new SqliteConnectionStringBuilder(connection);
            var source = builder.DataSource;
            if (builder.Mode != SqliteOpenMode.ReadWriteCreate || source.Length == 0 || source == ":memory:" ||
                source.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            {
                return connection;
            }

            EnsureExists(source);
            builder.Mode = SqliteOpenMode.ReadWrite;
            return builder.ToString();
        }

        EnsureExists(connection);
        return new SqliteConnectionStringBuilder { DataSource = connection, Mode = SqliteOpenMode.ReadWrite, Pooling = true }.ToString();
    }

    private static void EnsureExists(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"no SQLite database at '{path}'", path);
        }
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
