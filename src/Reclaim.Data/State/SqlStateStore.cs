using System.Data.Common;
using static Reclaim.Data.DbCommands;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Npgsql;
using Reclaim.Data.Catalogs;
using Reclaim.Core.State;

namespace Reclaim.Data.State;

/// <summary>
/// Reclaim's state (runs, actions, queue leases and its own queue) in SQLite or PostgreSQL, with one schema for both: times are Unix
/// milliseconds (UTC) in 64-bit integers, enums are lower-case text.
/// </summary>
public sealed partial class SqlStateStore : IStateStore, IQueueState
{
    /// <summary>
    /// The schema version this code writes and reads: the number of the last of <see cref="MigrationSteps"/> (7).
    /// </summary>
    public const int SchemaVersion = 7;

    private readonly bool _postgres;
    private readonly string _sqliteConnectionString = string.Empty;
    private readonly NpgsqlDataSource? _dataSource;

    private SqlStateStore(bool postgres, string connectionString)
    {
        _postgres = postgres;
        if (postgres)
        {
            _dataSource = NpgsqlDataSource.Create(connectionString);
        }
        else
        {
            _sqliteConnectionString = connectionString;
        }
    }

    /// <summary>One step of the schema: it brings a database at version <see cref="Version"/> - 1 to <see cref="Version"/>.</summary>
    /// <param name="Version">The version the step makes, from 1.</param>
    /// <param name="Change">What it adds, in words.</param>
    /// <param name="ApplyAsync">Makes the change, inside the migration's transaction.</param>
    private sealed record MigrationStep(int Version, string Change, Func<DbConnection, DbTransaction, CancellationToken, Task> ApplyAsync);

    /// <summary>
    /// The schema's steps, in order; a new version appends one (never edits an old one). Every step is safe to run
    /// on a database that already has what it adds (tables and indexes <c>IF NOT EXISTS</c>, columns looked up
    /// first), so a database an older Reclaim made whatever its recorded version is upgraded in place.
    /// </summary>
    /// <remarks>
    /// <list type="number">
    /// <item>runs and actions;</item>
    /// <item>the deletion-request queue: leases for every queue source, and Reclaim's own queue;</item>
    /// <item>who enqueued each own-queue request (<c>reclaim_queue.requested_by</c>);</item>
    /// <item>the run lifecycle: <c>reclaim_runs.error</c> (why a run failed or was interrupted), <c>owner</c> (the
    /// process running it: host, pid and start time) and <c>heartbeat_at</c>, and an index of pending actions;</item>
    /// <item>sightings for <c>confirm_after</c>: when each group was first seen orphaned, per policy (<c>reclaim_sightings</c>);</item>
    /// <item>partitioned runs: their key ranges, leases, plans and guard verdicts (<c>reclaim_partitioned_runs</c>, <c>reclaim_partition_ranges</c>);</item>
    /// <item>what a partitioned run plans and who started it, whether it is to be applied, and its summary run, so replicas join it by themselves (<c>reclaim_partitioned_runs.policies</c>, <c>forced</c>, <c>actor</c>, <c>apply_requested</c>, <c>summary_run_id</c>).</item>
    /// </list>
    /// </remarks>
    private IReadOnlyList<MigrationStep> MigrationSteps(string identity) =>
    [
        new(1, "runs and actions", (connection, transaction, token) => ExecuteAsync(connection, transaction, RunsSchema(identity), token)),
        new(2, "the deletion-request queue", (connection, transaction, token) => ExecuteAsync(connection, transaction, QueueSchema(identity), token)),
        new(3, "who enqueued each own-queue request", (connection, transaction, token) => AddColumnAsync(connection, transaction, "reclaim_queue", "requested_by", "TEXT", token)),
        new(4, "run errors, owners and heartbeats", AddRunLifecycleAsync),
        new(5, "sightings of orphaned groups", (connection, transaction, token) => ExecuteAsync(connection, transaction, SightingsSchema, token)),
        new(6, "partitioned runs and their key ranges", (connection, transaction, token) => ExecuteAsync(connection, transaction, PartitionsSchema, token)),
        new(7, "partitioned runs that replicas join by themselves", AddPartitionedRunRequestAsync),
    ];

    /// <summary>Opens state in a SQLite file, creating the file and its folder when missing.</summary>
    /// <param name="connection">A path (for example <c>/srv/app/.reclaim/state.db</c>) or a connection string.</param>
    /// <returns>The store; call <see cref="MigrateAsync"/> before use.</returns>
    public static SqlStateStore Sqlite(string connection) => new(false, SqliteConnections.ForOwnDatabase(connection));

    /// <summary>Opens state in PostgreSQL (for several replicas).</summary>
    /// <param name="connectionString">An Npgsql keyword connection string.</param>
    /// <returns>The store; call <see cref="MigrateAsync"/> before use.</returns>
    public static SqlStateStore Postgres(string connectionString) => new(true, connectionString);

    /// <inheritdoc/>
    /// <remarks>Applies, in one transaction, every step of the schema after the database's recorded version, recording each.</remarks>
    /// <exception cref="InvalidOperationException">The database has a newer schema than this Reclaim.</exception>
    public Task<int> MigrateAsync(CancellationToken cancellationToken) => MigrateToAsync(SchemaVersion, cancellationToken);

    /// <summary>
    /// Applies the steps after the database's recorded version up to <paramref name="targetVersion"/> only: tests
    /// use it to make a database exactly as an older Reclaim left it.
    /// </summary>
    /// <param name="targetVersion">The version to stop at, 0 to <see cref="SchemaVersion"/>.</param>
    /// <param name="cancellationToken">Cancels the migration (its transaction is rolled back).</param>
    /// <returns><paramref name="targetVersion"/>, or the database's own version when it is already past it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="targetVersion"/> is outside 0 to <see cref="SchemaVersion"/>.</exception>
    /// <exception cref="InvalidOperationException">The database has a newer schema than this Reclaim.</exception>
    internal async Task<int> MigrateToAsync(int targetVersion, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(targetVersion);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(targetVersion, SchemaVersion);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (_postgres)
        {
            // Replicas starting together take turns.
            await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(7280451)", cancellationToken);
        }

        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS reclaim_schema (version INTEGER NOT NULL)", cancellationToken);
        int version;
        await using (var read = Command(connection, transaction, "SELECT MAX(version) FROM reclaim_schema"))
        {
            var current = await read.ExecuteScalarAsync(cancellationToken);
            version = current is null or DBNull ? 0 : Convert.ToInt32(current, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (version > SchemaVersion)
        {
            throw new InvalidOperationException($"the state database has schema version {version}, newer than this Reclaim ({SchemaVersion}): upgrade Reclaim");
        }

        var identity = _postgres ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";
        foreach (var step in MigrationSteps(identity).Where(s => s.Version > version && s.Version <= targetVersion))
        {
            await step.ApplyAsync(connection, transaction, cancellationToken);
            await ExecuteAsync(connection, transaction, $"INSERT INTO reclaim_schema (version) VALUES ({step.Version})", cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return Math.Max(version, targetVersion);
    }

    private static string RunsSchema(string identity) => $"""
        CREATE TABLE IF NOT EXISTS reclaim_runs (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          started_at BIGINT NOT NULL,
          finished_at BIGINT,
          status TEXT NOT NULL,
          actor TEXT NOT NULL,
          policies TEXT NOT NULL,
          dry_run INTEGER NOT NULL,
          summary TEXT);
        CREATE TABLE IF NOT EXISTS reclaim_actions (
          id {identity},
          run_id TEXT NOT NULL,
          policy TEXT NOT NULL,
          store TEXT NOT NULL,
          kind TEXT NOT NULL,
          key TEXT NOT NULL,
          size BIGINT NOT NULL,
          group_key TEXT NOT NULL,
          reason TEXT NOT NULL,
          evidence TEXT,
          trash_key TEXT,
          outcome TEXT NOT NULL,
          error TEXT,
          at BIGINT NOT NULL);
        CREATE INDEX IF NOT EXISTS reclaim_actions_run ON reclaim_actions (run_id, id);
        CREATE INDEX IF NOT EXISTS reclaim_runs_started ON reclaim_runs (started_at);
        """;

    /// <summary>Step 4: the run's error, owner and heartbeat, and a partial index of pending actions (both databases have partial indexes).</summary>
    private async Task AddRunLifecycleAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await AddColumnAsync(connection, transaction, "reclaim_runs", "error", "TEXT", cancellationToken);
        await AddColumnAsync(connection, transaction, "reclaim_runs", "owner", "TEXT", cancellationToken);
        await AddColumnAsync(connection, transaction, "reclaim_runs", "heartbeat_at", "BIGINT", cancellationToken);
        await ExecuteAsync(connection, transaction,
            "CREATE INDEX IF NOT EXISTS reclaim_actions_pending ON reclaim_actions (run_id) WHERE outcome = 'pending'", cancellationToken);
    }

    /// <summary>
    /// Adds a column once. The column is looked up first, so an up-to-date database takes no <c>ALTER TABLE</c>
    /// lock; on PostgreSQL the statement is <c>ADD COLUMN IF NOT EXISTS</c> as well (SQLite has no such clause).
    /// Rows written before keep <c>NULL</c> in it.
    /// </summary>
    private async Task AddColumnAsync(DbConnection connection, DbTransaction transaction, string table, string column, string type, CancellationToken cancellationToken)
    {
        var exists = _postgres
            ? $"SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}' AND column_name = '{column}'"
            : $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'";
        await using var check = Command(connection, transaction, exists);
        if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            await ExecuteAsync(connection, transaction, $"ALTER TABLE {table} ADD COLUMN {(_postgres ? "IF NOT EXISTS " : string.Empty)}{column} {type}", cancellationToken);
        }
    }

    /// <inheritdoc/>
    public async Task StartRunAsync(RunRecord run, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            INSERT INTO reclaim_runs (id, kind, started_at, finished_at, status, actor, policies, dry_run, summary, error, owner, heartbeat_at)
            VALUES (@id, @kind, @started, NULL, @status, @actor, @policies, @dry, @summary, @error, @owner, @heartbeat)
            """);
        Add(command, "id", run.Id);
        Add(command, "kind", run.Kind);
        Add(command, "started", run.StartedAt.ToUnixTimeMilliseconds());
        Add(command, "status", Text(run.Status));
        Add(command, "actor", run.Actor);
        Add(command, "policies", run.Policies);
        Add(command, "dry", run.DryRun ? 1 : 0);
        Add(command, "summary", run.Summary);
        Add(command, "error", run.Error);
        Add(command, "owner", run.Owner);
        Add(command, "heartbeat", (run.HeartbeatAt ?? run.StartedAt).ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task FinishRunAsync(string runId, RunStatus status, DateTimeOffset finishedAt, string? summary, string? error, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "UPDATE reclaim_runs SET status = @status, finished_at = @finished, summary = @summary, error = @error WHERE id = @id");
        Add(command, "id", runId);
        Add(command, "status", Text(status));
        Add(command, "finished", finishedAt.ToUnixTimeMilliseconds());
        Add(command, "summary", summary);
        Add(command, "error", error);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task HeartbeatAsync(string runId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "UPDATE reclaim_runs SET heartbeat_at = @at WHERE id = @id AND status = 'running'");
        Add(command, "id", runId);
        Add(command, "at", at.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<bool> InterruptRunAsync(string runId, RunStatus expected, DateTimeOffset at, string reason, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            UPDATE reclaim_runs SET status = 'interrupted', finished_at = COALESCE(finished_at, @at),
              error = CASE WHEN error IS NULL THEN @reason ELSE error || '; ' || @reason END
            WHERE id = @id AND status = @expected
            """);
        Add(command, "id", runId);
        Add(command, "at", at.ToUnixTimeMilliseconds());
        Add(command, "reason", reason);
        Add(command, "expected", Text(expected));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc/>
    /// <remarks>Reads the partial index of pending actions (schema step 4), not the whole action table.</remarks>
    public async Task<IReadOnlyList<string>> UnsettledRunsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT id FROM reclaim_runs WHERE status = 'running'
            UNION SELECT run_id FROM reclaim_actions WHERE outcome = 'pending'
            ORDER BY 1
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var runs = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(reader.GetString(0));
        }

        return runs;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<ActionRecord>> RecordIntentAsync(IReadOnlyList<ActionRecord> actions, CancellationToken cancellationToken)
    {
        if (actions.Count == 0)
        {
            return [];
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = Command(connection, transaction, """
            INSERT INTO reclaim_actions (run_id, policy, store, kind, key, size, group_key, reason, evidence, trash_key, outcome, error, at)
            VALUES (@run, @policy, @store, @kind, @key, @size, @group, @reason, @evidence, @trash, @outcome, @error, @at)
            RETURNING id
            """);
        string[] names = ["run", "policy", "store", "kind", "key", "size", "group", "reason", "evidence", "trash", "outcome", "error", "at"];
        foreach (var name in names)
        {
            Add(command, name, null);
        }

        var recorded = new List<ActionRecord>(actions.Count);
        foreach (var action in actions)
        {
            object?[] values =
            [
                action.RunId, action.Policy, action.Store, Text(action.Kind), action.Key, action.Size, action.GroupKey,
                action.Reason, action.Evidence, action.TrashKey, Text(action.Outcome), action.Error, action.At.ToUnixTimeMilliseconds(),
            ];
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            var id = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            recorded.Add(action with { Id = id });
        }

        await transaction.CommitAsync(cancellationToken);
        return recorded;
    }

    /// <inheritdoc/>
    public async Task RecordOutcomesAsync(IReadOnlyList<SettledAction> outcomes, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (outcomes.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = Command(connection, transaction,
            "UPDATE reclaim_actions SET outcome = @outcome, error = @error, evidence = COALESCE(@evidence, evidence), at = @at WHERE id = @id");
        Add(command, "outcome", null);
        Add(command, "error", null);
        Add(command, "evidence", null);
        Add(command, "at", at.ToUnixTimeMilliseconds());
        Add(command, "id", 0L);
        foreach (var (id, outcome, error, evidence) in outcomes)
        {
            command.Parameters[0].Value = Text(outcome);
            command.Parameters[1].Value = (object?)error ?? DBNull.Value;
            command.Parameters[2].Value = (object?)evidence ?? DBNull.Value;
            command.Parameters[4].Value = id;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RunRecord>> ListRunsAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"SELECT {RunColumns} FROM reclaim_runs ORDER BY started_at DESC, id DESC LIMIT @limit");
        Add(command, "limit", Math.Max(1, limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var runs = new List<RunRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(ReadRun(reader));
        }

        return runs;
    }

    /// <inheritdoc/>
    public async Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"SELECT {RunColumns} FROM reclaim_runs WHERE id = @id");
        Add(command, "id", runId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRun(reader) : null;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ActionRecord> ListActionsAsync(string runId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT id, run_id, policy, store, kind, key, size, group_key, reason, evidence, trash_key, outcome, error, at
            FROM reclaim_actions WHERE run_id = @run ORDER BY id
            """);
        Add(command, "run", runId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new ActionRecord(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                Enum.Parse<ActionKind>(reader.GetString(4), ignoreCase: true),
                reader.GetString(5),
                reader.GetInt64(6),
                reader.GetString(7),
                reader.GetString(8),
                reader.IsDBNull(9) ? null : reader.GetString(9),
                reader.IsDBNull(10) ? null : reader.GetString(10),
                Enum.Parse<ActionOutcome>(reader.GetString(11), ignoreCase: true),
                reader.IsDBNull(12) ? null : reader.GetString(12),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(13)));
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }

    private const string RunColumns = "id, kind, started_at, finished_at, status, actor, policies, dry_run, summary, error, owner, heartbeat_at";

    private static RunRecord ReadRun(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
        reader.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
        ParseStatus(reader.GetString(4)),
        reader.GetString(5),
        reader.GetString(6),
        Convert.ToInt64(reader.GetValue(7), System.Globalization.CultureInfo.InvariantCulture) != 0,
        reader.IsDBNull(8) ? null : reader.GetString(8),
        reader.IsDBNull(9) ? null : reader.GetString(9),
        reader.IsDBNull(10) ? null : reader.GetString(10),
        reader.IsDBNull(11) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11)));

    private static string Text<T>(T value)
        where T : struct, Enum => value switch
        {
            RunStatus.PartiallyFailed => "partially_failed",
            _ => value.ToString().ToLowerInvariant(),
        };

    private static RunStatus ParseStatus(string text) =>
        text == "partially_failed" ? RunStatus.PartiallyFailed : Enum.Parse<RunStatus>(text, ignoreCase: true);

    private async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_dataSource is not null)
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken);
        }

        var connection = new SqliteConnection(_sqliteConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        // WAL with synchronous=NORMAL: no corruption on a crash, and a commit needs no fsync of its own (the WAL is
        // synced at checkpoints), which the queue's small per-request transactions need to be fast.
        pragma.CommandText = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }
}
