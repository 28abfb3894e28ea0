using System.Data.Common;
using static Reclaim.Data.DbCommands;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Reclaim.Core.Catalogs;
using Reclaim.Data.Catalogs;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Queue;

/// <summary>One pending row of an application's deletion-request table (the RugbyCodex cleanup worker's <c>media_cleanup_jobs</c>).</summary>
/// <param name="Id">The row's id as text.</param>
/// <param name="Bucket">The <c>bucket</c> column, or <see langword="null"/> when the table has none or it is NULL.</param>
/// <param name="Path">The <c>storage_path</c> column.</param>
/// <param name="CreatedAt">The <c>created_at</c> column as text, or <see langword="null"/>.</param>
public sealed record AppQueueRow(string Id, string? Bucket, string? Path, string? CreatedAt);

/// <summary>A failed row: id, path, error and when.</summary>
/// <param name="Id">The row's id.</param>
/// <param name="Path">Its path.</param>
/// <param name="Error">Its error.</param>
/// <param name="ProcessedAt">When it was processed, as the database renders it.</param>
public sealed record AppQueueFailure(string Id, string? Path, string Error, string? ProcessedAt);

/// <summary>
/// The application's deletion-request table, on PostgreSQL or SQLite, with its exact columns (<c>id, bucket,
/// storage_path, created_at, processed_at, error</c>; <c>bucket</c> optional). Reclaim reads pending rows
/// (<c>processed_at IS NULL</c>) oldest first and writes only <c>processed_at</c> and <c>error</c>.
/// </summary>
/// <remarks>
/// Claiming: on PostgreSQL the candidate rows are locked with <c>FOR UPDATE SKIP LOCKED</c> while the caller takes
/// their leases in state, so concurrent workers claim disjoint rows; on SQLite the claim runs in a
/// <c>BEGIN IMMEDIATE</c> transaction (one writer at a time). The lease, not the row lock, is what keeps a request
/// with one worker while it is executed: a killed worker's lease expires and the row is taken again.
/// </remarks>
internal sealed class AppQueueTable : IAsyncDisposable
{
    private readonly string _table;
    private readonly bool _postgres;
    private readonly NpgsqlDataSource? _dataSource;
    private readonly string _sqlite = string.Empty;
    private bool? _hasBucket;

    public AppQueueTable(CatalogConfig catalog, string table)
    {
        _table = table;
        _postgres = catalog.Provider == "postgres";
        try
        {
            if (_postgres)
            {
                _dataSource = NpgsqlDataSource.Create(ConnectionStrings.ToNpgsql(catalog.Connection));
            }
            else
            {
                _sqlite = SqliteConnections.ForExistingDatabase(catalog.Connection);
            }
        }
        catch (Exception e) when (e is FileNotFoundException or ArgumentException)
        {
            throw new CatalogException($"catalog '{catalog.Name}': {e.Message}", e);
        }

        Catalog = catalog.Name;
    }

    public string Catalog { get; }

    /// <summary>
    /// Reads up to <paramref name="limit"/> pending rows oldest first and offers each to <paramref name="take"/>
    /// (which takes the lease) while the rows are locked; returns the rows taken.
    /// </summary>
    public async Task<List<AppQueueRow>> ClaimAsync(int limit, Func<AppQueueRow, Task<bool>> take, CancellationToken cancellationToken)
    {
        return await Guard(async () =>
        {
            await using var connection = await OpenAsync(cancellationToken);
            var bucket = await HasBucketAsync(connection, cancellationToken) ? "bucket" : "NULL";
            await using var transaction = _postgres
                ? await connection.BeginTransactionAsync(cancellationToken)
                : null;
            if (!_postgres)
            {
                await ExecuteAsync(connection, null, "BEGIN IMMEDIATE", cancellationToken);
            }

            var committed = false;
            try
            {
                var sql = $"SELECT CAST(id AS TEXT), CAST({bucket} AS TEXT), storage_path, CAST(created_at AS TEXT) FROM {_table} " +
                          $"WHERE processed_at IS NULL ORDER BY created_at, id LIMIT {limit.ToString(CultureInfo.InvariantCulture)}" +
                          (_postgres ? " FOR UPDATE SKIP LOCKED" : string.Empty);
                var rows = new List<AppQueueRow>();
                await using (var command = Command(connection, transaction, sql))
                await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                {
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        rows.Add(new AppQueueRow(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1),
                            reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
                    }
                }

                var taken = new List<AppQueueRow>();
                foreach (var row in rows)
                {
                    if (await take(row))
                    {
                        taken.Add(row);
                    }
                }

                if (transaction is not null)
                {
                    await transaction.CommitAsync(cancellationToken);
                }
                else
                {
                    await ExecuteAsync(connection, null, "COMMIT", cancellationToken);
                }

                committed = true;
                return taken;
            }
            finally
            {
                if (!committed && transaction is null)
                {
                    await ExecuteAsync(connection, null, "ROLLBACK", CancellationToken.None);
                }
            }
        });
    }

    /// <summary>Whether the row is still pending (another worker may have finished it since it was read).</summary>
    public Task<bool> IsPendingAsync(string id, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT COUNT(*) FROM {_table} WHERE id = @id AND processed_at IS NULL");
        AddId(command, id);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0;
    });

    /// <summary>Sets <c>processed_at</c> (and <c>error</c>) on a pending row; a processed row is left as it is.</summary>
    /// <returns><see langword="true"/> when this call marked the row.</returns>
    public Task<bool> CompleteAsync(string id, DateTimeOffset at, string? error, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"UPDATE {_table} SET processed_at = @at, error = @error WHERE id = @id AND processed_at IS NULL");
        AddTime(command, "at", at);
        Add(command, "error", error);
        AddId(command, id);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    /// <summary>Pending rows and the oldest pending <c>created_at</c> (as the database renders it).</summary>
    public Task<(long Depth, string? Oldest)> DepthAsync(CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT COUNT(*), CAST(MIN(created_at) AS TEXT) FROM {_table} WHERE processed_at IS NULL");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), reader.IsDBNull(1) ? null : reader.GetString(1));
    });

    /// <summary>The most recently processed rows with an error, newest first.</summary>
    public Task<List<AppQueueFailure>> FailuresAsync(int limit, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"SELECT CAST(id AS TEXT), storage_path, error, CAST(processed_at AS TEXT) FROM {_table} WHERE error IS NOT NULL ORDER BY processed_at DESC LIMIT {limit.ToString(CultureInfo.InvariantCulture)}");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<AppQueueFailure>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new AppQueueFailure(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return list;
    });

    /// <summary>Makes a failed row pending again (clears <c>processed_at</c> and <c>error</c>).</summary>
    /// <returns><see langword="true"/> when a failed row with that id was reset.</returns>
    public Task<bool> RetryAsync(string id, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"UPDATE {_table} SET processed_at = NULL, error = NULL WHERE id = @id AND error IS NOT NULL");
        AddId(command, id);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    /// <summary>Runs <paramref name="sql"/> (several statements) in one transaction; PostgreSQL only.</summary>
    public Task<bool> ExecuteInTransactionAsync(string sql, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, sql, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    });

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }

    private async Task<bool> HasBucketAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (_hasBucket is { } known)
        {
            return known;
        }

        await using var command = Command(connection, null, $"SELECT * FROM {_table} WHERE 1 = 0");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var found = Enumerable.Range(0, reader.FieldCount).Any(i => string.Equals(reader.GetName(i), "bucket", StringComparison.OrdinalIgnoreCase));
        _hasBucket = found;
        return found;
    }

    private async Task<T> Guard<T>(Func<Task<T>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception e) when (e is DbException or InvalidOperationException && e is not ObjectDisposedException)
        {
            throw new CatalogException($"catalog '{Catalog}', table {_table}: {e.Message}", e);
        }
    }

    private async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_dataSource is not null)
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken);
        }

        var connection = new SqliteConnection(_sqlite);
        await connection.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "PRAGMA busy_timeout = 30000", cancellationToken);
        return connection;
    }

    // PostgreSQL: an untyped parameter, so the server reads it in the id column's type (uuid, bigint, text) and
    // the primary key's index applies.
    private void AddId(DbCommand command, string id)
    {
        if (_postgres)
        {
            command.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Unknown) { Value = id });
        }
        else
        {
            Add(command, "id", id);
        }
    }

    // The table's processed_at is 'timestamp' (without time zone): UTC wall time. SQLite: the CURRENT_TIMESTAMP form.
    private void AddTime(DbCommand command, string name, DateTimeOffset at)
    {
        if (_postgres)
        {
            command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Unknown) { Value = at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) });
        }
        else
        {
            Add(command, name, at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture));
        }
    }
}
