using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Layouts;
using Reclaim.Core.References;
using SQLitePCL;

namespace Reclaim.Data.Catalogs;

/// <summary>
/// A SQLite catalog (Microsoft.Data.Sqlite). Re-checks compare the text form exactly. References are read
/// through SQLite's own API: the statement is prepared with SQLitePCLRaw (which Microsoft.Data.Sqlite is built on)
/// and stepped through <see cref="SqliteRows"/>; each value's UTF-8 is decoded into one reused buffer and
/// fingerprinted there, with no string per value.
/// </summary>
public sealed class SqliteCatalog : SqlCatalog, IReferenceReader
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
    public async Task<(long Rows, long Unrenderable)> ReadReferencesAsync(string query, Layout layout, ReferenceSet references, CancellationToken cancellationToken)
    {
        SqlText.EnsureIdentifiers(layout.Variables);

        // One column per variable, in the layout's order. sqlite3_column_text gives any value's text form (an
        // INTEGER id as its decimal digits), as CAST(... AS TEXT) would.
        var sql = $"SELECT {string.Join(", ", layout.Variables.Select(c => $"r.{c}"))} FROM ({SqlText.AsSubquery(query)}) AS r";
        await using var connection = (SqliteConnection)await OpenAsync(cancellationToken);
        var db = connection.Handle!;
        if (raw.sqlite3_prepare_v2(db, sql, out sqlite3_stmt statement) != raw.SQLITE_OK)
        {
            var message = raw.sqlite3_errmsg(db).utf8_to_string();
            statement.Dispose();
            throw new CatalogException($"catalog '{Name}': the query failed: SQLite Error: {message}");
        }

        using (statement)
        {
            Bind(statement, db);
            var added = false;
            statement.DangerousAddRef(ref added);
            try
            {
                var (rows, unrenderable, rc) = ReadRows(statement.DangerousGetHandle(), layout, references, cancellationToken);
                if (rc != raw.SQLITE_DONE)
                {
                    throw new CatalogException($"catalog '{Name}': reading the query's rows failed: SQLite Error {rc}: {raw.sqlite3_errmsg(db).utf8_to_string()}");
                }

                return (rows, unrenderable);
            }
            finally
            {
                if (added)
                {
                    statement.DangerousRelease();
                }
            }
        }
    }

    /// <summary>
    /// Steps a prepared statement to its end, fingerprinting each row: each value's UTF-8 is decoded into one reused
    /// buffer, so no string is made per value.
    /// </summary>
    /// <returns>Rows read, rows that render no key (a NULL or empty value, a value holding NUL, or one the layout
    /// cannot place), and the last result code of <c>sqlite3_step</c> (<c>SQLITE_DONE</c> when every row was read).</returns>
    private static unsafe (long Rows, long Unrenderable, int Result) ReadRows(nint statement, Layout layout, ReferenceSet references, CancellationToken cancellationToken)
    {
        var count = layout.Variables.Count;
        var ranges = new Range[count];
        var nulls = new bool[count];
        var buffer = new char[256];
        long rows = 0;
        long unrenderable = 0;
        int rc;
        while ((rc = SqliteRows.Step(statement)) == raw.SQLITE_ROW)
        {
            if ((++rows & 0xFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var length = 0;
            var renderable = true;
            for (var column = 0; column < count; column++)
            {
                var text = SqliteRows.ColumnText(statement, column);
                nulls[column] = text == 0;
                if (text == 0)
                {
                    ranges[column] = default;
                    continue;
                }

                var bytes = new ReadOnlySpan<byte>((void*)text, SqliteRows.ColumnBytes(statement, column));
                if (bytes.Contains((byte)0))
                {
                    renderable = false;
                    break;
                }

                if (length + bytes.Length > buffer.Length)
                {
                    Array.Resize(ref buffer, Math.Max(length + bytes.Length, buffer.Length * 2));
                }

                var chars = Encoding.UTF8.GetChars(bytes, buffer.AsSpan(length));
                ranges[column] = new Range(length, length + chars);
                length += chars;
            }

            if (!renderable || layout.RenderFingerprint(buffer, ranges, nulls) is not { } fingerprint)
            {
                unrenderable++;
                continue;
            }

            references.AddFingerprint(fingerprint);
        }

        return (rows, unrenderable, rc);
    }

    /// <summary>
    /// Binds <see cref="SqlCatalog.BoundParameters"/> that the statement names, as Microsoft.Data.Sqlite would: a
    /// <see cref="DateTime"/> as its text <c>yyyy-MM-dd HH:mm:ss.FFFFFFF</c> (SQLite's own <c>datetime()</c> form when
    /// the time has whole seconds), whole numbers as integers, anything else as its invariant text.
    /// </summary>
    private void Bind(sqlite3_stmt statement, sqlite3 db)
    {
        foreach (var (name, value) in BoundParameters)
        {
            var index = raw.sqlite3_bind_parameter_index(statement, "@" + name);
            if (index <= 0)
            {
                continue;
            }

            var rc = value switch
            {
                null => raw.sqlite3_bind_null(statement, index),
                long or int => raw.sqlite3_bind_int64(statement, index, Convert.ToInt64(value, CultureInfo.InvariantCulture)),
                DateTime time => raw.sqlite3_bind_text(statement, index, time.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture)),
                _ => raw.sqlite3_bind_text(statement, index, Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty),
            };
            if (rc != raw.SQLITE_OK)
            {
                throw new CatalogException($"catalog '{Name}': binding @{name} failed: SQLite Error {rc}: {raw.sqlite3_errmsg(db).utf8_to_string()}");
            }
        }
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
