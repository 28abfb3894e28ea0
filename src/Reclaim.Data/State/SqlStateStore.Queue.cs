using System.Data.Common;
using System.Globalization;
using Reclaim.Core.State;
using static Reclaim.Data.DbCommands;

namespace Reclaim.Data.State;

/// <summary>The queue's part of state: leases and Reclaim's own queue (schema step 2; its requester, step 3).</summary>
public sealed partial class SqlStateStore
{
    private const string OwnColumns = "id, store, key, prefix, action, created_at, processed_at, error, requested_by";

    /// <summary>Step 2 as version 2 had it: <c>requested_by</c> comes with step 3, so a database of any version gets the same steps.</summary>
    private static string QueueSchema(string identity) => $"""
        CREATE TABLE IF NOT EXISTS reclaim_queue_leases (
          source TEXT NOT NULL,
          request_id TEXT NOT NULL,
          worker TEXT NOT NULL,
          lease_until BIGINT NOT NULL,
          attempts INTEGER NOT NULL,
          last_error TEXT,
          PRIMARY KEY (source, request_id));
        CREATE TABLE IF NOT EXISTS reclaim_queue (
          id {identity},
          store TEXT NOT NULL,
          key TEXT,
          prefix TEXT,
          action TEXT NOT NULL,
          created_at BIGINT NOT NULL,
          processed_at BIGINT,
          error TEXT);
        CREATE INDEX IF NOT EXISTS reclaim_queue_pending ON reclaim_queue (processed_at, created_at, id);
        """;

    /// <inheritdoc/>
    public async Task<QueueLease?> TryLeaseAsync(string source, string requestId, string worker, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            INSERT INTO reclaim_queue_leases (source, request_id, worker, lease_until, attempts, last_error)
            VALUES (@source, @request, @worker, @until, 0, NULL)
            ON CONFLICT (source, request_id) DO UPDATE SET worker = excluded.worker, lease_until = excluded.lease_until
            WHERE reclaim_queue_leases.lease_until < @now
            RETURNING attempts, last_error
            """);
        Add(command, "source", source);
        Add(command, "request", requestId);
        Add(command, "worker", worker);
        Add(command, "until", until.ToUnixTimeMilliseconds());
        Add(command, "now", now.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new QueueLease(Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlySet<string>> ActiveLeasesAsync(string source, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT request_id FROM reclaim_queue_leases WHERE source = @source AND lease_until >= @now");
        Add(command, "source", source);
        Add(command, "now", now.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <inheritdoc/>
    public async Task RenewLeasesAsync(string source, IReadOnlyList<string> requestIds, string worker, DateTimeOffset until, CancellationToken cancellationToken)
    {
        if (requestIds.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = Command(connection, transaction,
            "UPDATE reclaim_queue_leases SET lease_until = @until WHERE source = @source AND request_id = @request AND worker = @worker");
        Add(command, "until", until.ToUnixTimeMilliseconds());
        Add(command, "source", source);
        Add(command, "request", string.Empty);
        Add(command, "worker", worker);
        foreach (var id in requestIds)
        {
            command.Parameters[2].Value = id;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<int> RecordAttemptAsync(string source, string requestId, string error, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "UPDATE reclaim_queue_leases SET attempts = attempts + 1, last_error = @error WHERE source = @source AND request_id = @request RETURNING attempts");
        Add(command, "error", error);
        Add(command, "source", source);
        Add(command, "request", requestId);
        var result = await command.ExecuteScalarAsync(cancellationToken);
        return result is null or DBNull ? 0 : Convert.ToInt32(result, CultureInfo.InvariantCulture);
    }

    /// <inheritdoc/>
    public async Task ReleaseLeaseAsync(string source, string requestId, string worker, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "UPDATE reclaim_queue_leases SET lease_until = 0 WHERE source = @source AND request_id = @request AND worker = @worker");
        Add(command, "source", source);
        Add(command, "request", requestId);
        Add(command, "worker", worker);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task ForgetLeaseAsync(string source, string requestId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "DELETE FROM reclaim_queue_leases WHERE source = @source AND request_id = @request");
        Add(command, "source", source);
        Add(command, "request", requestId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<long>> EnqueueAsync(IReadOnlyList<OwnQueueRequest> requests, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = Command(connection, transaction, """
            INSERT INTO reclaim_queue (store, key, prefix, action, created_at, processed_at, error, requested_by)
            VALUES (@store, @key, @prefix, @action, @created, NULL, NULL, @requested_by) RETURNING id
            """);
        string[] names = ["store", "key", "prefix", "action", "created", "requested_by"];
        foreach (var name in names)
        {
            Add(command, name, null);
        }

        var ids = new List<long>(requests.Count);
        foreach (var request in requests)
        {
            object?[] values = [request.Store, request.Key, request.Prefix, Text(request.Action), request.CreatedAt.ToUnixTimeMilliseconds(), request.RequestedBy];
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            ids.Add(Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
        }

        await transaction.CommitAsync(cancellationToken);
        return ids;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<OwnQueueRequest>> PendingOwnAsync(int limit, CancellationToken cancellationToken) =>
        ReadOwnAsync($"SELECT {OwnColumns} FROM reclaim_queue WHERE processed_at IS NULL ORDER BY created_at, id LIMIT @limit", "limit", Math.Max(1, limit), cancellationToken);

    /// <inheritdoc/>
    public async Task<OwnQueueRequest?> GetOwnAsync(long id, CancellationToken cancellationToken) =>
        (await ReadOwnAsync($"SELECT {OwnColumns} FROM reclaim_queue WHERE id = @id", "id", id, cancellationToken)).FirstOrDefault();

    /// <inheritdoc/>
    public Task<IReadOnlyList<OwnQueueRequest>> OwnFailuresAsync(int limit, CancellationToken cancellationToken) =>
        ReadOwnAsync($"SELECT {OwnColumns} FROM reclaim_queue WHERE error IS NOT NULL ORDER BY processed_at DESC, id DESC LIMIT @limit", "limit", Math.Max(1, limit), cancellationToken);

    /// <inheritdoc/>
    public async Task<bool> CompleteOwnAsync(long id, DateTimeOffset at, string? error, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "UPDATE reclaim_queue SET processed_at = @at, error = @error WHERE id = @id AND processed_at IS NULL");
        Add(command, "at", at.ToUnixTimeMilliseconds());
        Add(command, "error", error);
        Add(command, "id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc/>
    public async Task<(long Depth, DateTimeOffset? Oldest)> OwnDepthAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT COUNT(*), MIN(created_at) FROM reclaim_queue WHERE processed_at IS NULL");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var depth = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
        DateTimeOffset? oldest = reader.IsDBNull(1) ? null : DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture));
        return (depth, oldest);
    }

    /// <inheritdoc/>
    public async Task<bool> RetryOwnAsync(long id, CancellationToken cancellationToken)
    {
        bool changed;
        await using (var connection = await OpenAsync(cancellationToken))
        {
            await using var command = Command(connection, null, "UPDATE reclaim_queue SET processed_at = NULL, error = NULL WHERE id = @id AND error IS NOT NULL");
            Add(command, "id", id);
            changed = await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        }

        if (changed)
        {
            await ForgetLeaseAsync(OwnQueueSource, id.ToString(CultureInfo.InvariantCulture), cancellationToken);
        }

        return changed;
    }

    /// <summary>The source name of Reclaim's own queue in the leases table: <c>reclaim</c>.</summary>
    public const string OwnQueueSource = "reclaim";

    private async Task<IReadOnlyList<OwnQueueRequest>> ReadOwnAsync(string sql, string parameter, object value, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, sql);
        Add(command, parameter, value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<OwnQueueRequest>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadOwn(reader));
        }

        return list;
    }

    private static OwnQueueRequest ReadOwn(DbDataReader reader) => new(
        Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture),
        reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        reader.IsDBNull(3) ? null : reader.GetString(3),
        Enum.Parse<ActionKind>(reader.GetString(4), ignoreCase: true),
        DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(5), CultureInfo.InvariantCulture)),
        reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(6), CultureInfo.InvariantCulture)),
        reader.IsDBNull(7) ? null : reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8));
}
