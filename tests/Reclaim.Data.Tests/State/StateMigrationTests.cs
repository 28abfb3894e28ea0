using Microsoft.Data.Sqlite;
using Npgsql;
using Reclaim.Core.State;
using Reclaim.Data.State;
using Reclaim.Testing;

namespace Reclaim.Data.Tests.State;

/// <summary>
/// A state database made by schema version 2 (before own-queue requests recorded who enqueued them) is upgraded
/// in place by <see cref="SqlStateStore.MigrateAsync"/> on SQLite and PostgreSQL: its requests read back with no
/// requester, new ones carry theirs, and migrating again changes nothing.
/// </summary>
public sealed class StateMigrationTests
{
    private const long CreatedAtMs = 1_740_000_000_000;

    /// <summary>Schema version 2 exactly as Reclaim created it; <c>{0}</c> is the identity column's type.</summary>
    internal const string SchemaV2 = """
        CREATE TABLE IF NOT EXISTS reclaim_schema (version INTEGER NOT NULL);
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
          id {0},
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
        CREATE TABLE IF NOT EXISTS reclaim_queue_leases (
          source TEXT NOT NULL,
          request_id TEXT NOT NULL,
          worker TEXT NOT NULL,
          lease_until BIGINT NOT NULL,
          attempts INTEGER NOT NULL,
          last_error TEXT,
          PRIMARY KEY (source, request_id));
        CREATE TABLE IF NOT EXISTS reclaim_queue (
          id {0},
          store TEXT NOT NULL,
          key TEXT,
          prefix TEXT,
          action TEXT NOT NULL,
          created_at BIGINT NOT NULL,
          processed_at BIGINT,
          error TEXT);
        CREATE INDEX IF NOT EXISTS reclaim_queue_pending ON reclaim_queue (processed_at, created_at, id);
        INSERT INTO reclaim_schema (version) VALUES (1);
        INSERT INTO reclaim_schema (version) VALUES (2);
        """;

    /// <summary>Two requests of a version-2 database: one pending, one failed.</summary>
    private const string RowsV2 = """
        INSERT INTO reclaim_queue (store, key, prefix, action, created_at, processed_at, error)
          VALUES ('media', 'uploads/old/video.mp4', NULL, 'delete', 1740000000000, NULL, NULL);
        INSERT INTO reclaim_queue (store, key, prefix, action, created_at, processed_at, error)
          VALUES ('media', NULL, 'uploads/gone/', 'quarantine', 1740000000000, 1740000001000, 'failed after 5 attempts: denied');
        """;

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Migrate_StateMadeBySchemaV2_AddsTheRequesterAndOldRequestsReadBackWithoutOne(string provider)
    {
        using var folder = new TemporaryFolder("reclaim-migrate");
        await using var database = provider == "postgres" ? await PostgresDatabase.CreateAsync() : null;
        var sqlitePath = folder.Combine("state.db");
        async Task ExecuteAsync(string sql)
        {
            if (database is not null)
            {
                await database.ExecuteAsync(sql);
                return;
            }

            await using var connection = new SqliteConnection($"Data Source={sqlitePath};Pooling=false");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        }

        await ExecuteAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, SchemaV2,
            database is null ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"));
        await ExecuteAsync(RowsV2);
        (await ColumnsAsync(database, sqlitePath)).Should().NotContain("requested_by", "the database is as version 2 left it");

        await using (var state = Open(database, sqlitePath))
        {
            (await state.MigrateAsync(CancellationToken.None)).Should().Be(SqlStateStore.SchemaVersion);

            var pending = (await state.PendingOwnAsync(10, CancellationToken.None)).Should().ContainSingle().Subject;
            pending.Should().Be(new OwnQueueRequest(1, "media", "uploads/old/video.mp4", null, ActionKind.Delete,
                DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs), null, null, null));
            var failed = (await state.OwnFailuresAsync(10, CancellationToken.None)).Should().ContainSingle().Subject;
            failed.Id.Should().Be(2);
            failed.Prefix.Should().Be("uploads/gone/");
            failed.Error.Should().Be("failed after 5 attempts: denied");
            failed.RequestedBy.Should().BeNull("nobody recorded who enqueued it under version 2");

            var ids = await state.EnqueueAsync(
                [new OwnQueueRequest(0, "media", "uploads/new/video.mp4", null, ActionKind.Quarantine, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs + 5000), RequestedBy: "cli:deploy@media-1")],
                CancellationToken.None);
            ids.Should().Equal(3L);
            (await state.GetOwnAsync(3, CancellationToken.None))!.RequestedBy.Should().Be("cli:deploy@media-1");
            (await state.GetOwnAsync(1, CancellationToken.None))!.RequestedBy.Should().BeNull();
        }

        // A second start (every command migrates on first use) finds the column and changes nothing.
        await using (var again = Open(database, sqlitePath))
        {
            (await again.MigrateAsync(CancellationToken.None)).Should().Be(SqlStateStore.SchemaVersion);
            (await again.PendingOwnAsync(10, CancellationToken.None)).Select(r => (r.Id, r.RequestedBy)).Should().Equal((1L, null), (3L, "cli:deploy@media-1"));
        }

        (await ColumnsAsync(database, sqlitePath)).Where(c => c == "requested_by").Should().ContainSingle();
        (await ScalarAsync(database, sqlitePath, "SELECT MAX(version) FROM reclaim_schema")).Should().Be(SqlStateStore.SchemaVersion);
    }

    private static SqlStateStore Open(PostgresDatabase? database, string sqlitePath) =>
        database is null ? SqlStateStore.Sqlite(sqlitePath) : SqlStateStore.Postgres(database.ConnectionString);

    private static async Task<List<string>> ColumnsAsync(PostgresDatabase? database, string sqlitePath)
    {
        var sql = database is null
            ? "SELECT name FROM pragma_table_info('reclaim_queue')"
            : "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'reclaim_queue'";
        await using var connection = Connection(database, sqlitePath);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private static async Task<long> ScalarAsync(PostgresDatabase? database, string sqlitePath, string sql)
    {
        await using var connection = Connection(database, sqlitePath);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static System.Data.Common.DbConnection Connection(PostgresDatabase? database, string sqlitePath) =>
        database is null ? new SqliteConnection($"Data Source={sqlitePath};Pooling=false") : new NpgsqlConnection(database.ConnectionString);
}
