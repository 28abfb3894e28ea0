using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using Reclaim.Data.State;
using Reclaim.Testing;

namespace Reclaim.Data.Tests.State;

/// <summary>
/// An empty state database for one test, SQLite (a file in a temporary folder) or PostgreSQL (a fresh database on
/// the test server), with raw SQL access beside the store: what the schema holds, and rows written as an older
/// Reclaim wrote them.
/// </summary>
internal sealed class StateDatabase : IAsyncDisposable
{
    private readonly TemporaryFolder _folder;
    private readonly PostgresDatabase? _postgres;

    private StateDatabase(TemporaryFolder folder, PostgresDatabase? postgres)
    {
        _folder = folder;
        _postgres = postgres;
    }

    public bool IsPostgres => _postgres is not null;

    private string SqlitePath => _folder.Combine("state.db");

    /// <summary>Creates an empty database.</summary>
    /// <param name="provider"><c>sqlite</c> or <c>postgres</c>.</param>
    public static async Task<StateDatabase> CreateAsync(string provider) =>
        new(new TemporaryFolder("reclaim-state"), provider == "postgres" ? await PostgresDatabase.CreateAsync() : null);

    /// <summary>A store on the database, as a command of Reclaim opens it.</summary>
    public SqlStateStore Open() => _postgres is null ? SqlStateStore.Sqlite(SqlitePath) : SqlStateStore.Postgres(_postgres.ConnectionString);

    /// <summary>Migrates the database to <paramref name="version"/> in a store of its own, as one start of a Reclaim of that version would.</summary>
    public async Task<int> MigrateToAsync(int version)
    {
        await using var state = Open();
        return await state.MigrateToAsync(version, CancellationToken.None);
    }

    public async Task ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = Connection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        await command.ExecuteNonQueryAsync();
    }

    public async Task<List<object?[]>> QueryAsync(string sql)
    {
        await using var connection = Connection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    public async Task<long> ScalarAsync(string sql) =>
        Convert.ToInt64((await QueryAsync(sql)).Single()[0], CultureInfo.InvariantCulture);

    /// <summary>Reclaim's tables (<c>reclaim_schema</c> included) and their columns, in the order the database keeps them.</summary>
    public async Task<List<StateColumn>> ColumnsAsync()
    {
        var sql = _postgres is null
            ? """
              SELECT m.name, c.name, c.type, c."notnull", c.dflt_value, c.pk,
                CASE WHEN c.pk = 1 AND c.type = 'INTEGER' AND (SELECT COUNT(*) FROM pragma_table_info(m.name) k WHERE k.pk > 0) = 1 THEN 1 ELSE 0 END
              FROM sqlite_master m, pragma_table_info(m.name) c
              WHERE m.type = 'table' AND m.name LIKE 'reclaim%' ORDER BY m.name, c.cid
              """
            : """
              SELECT c.table_name, c.column_name, c.data_type, CASE c.is_nullable WHEN 'NO' THEN 1 ELSE 0 END, c.column_default, 0,
                CASE c.is_identity WHEN 'YES' THEN 1 ELSE 0 END
              FROM information_schema.columns c
              WHERE c.table_schema = current_schema() AND c.table_name LIKE 'reclaim%' ORDER BY c.table_name, c.ordinal_position
              """;
        return (await QueryAsync(sql)).Select(r => new StateColumn(
            (string)r[0]!, (string)r[1]!, ((string)r[2]!).ToUpperInvariant(), Convert.ToInt64(r[3], CultureInfo.InvariantCulture) == 1,
            r[4] as string, Convert.ToInt64(r[5], CultureInfo.InvariantCulture), Convert.ToInt64(r[6], CultureInfo.InvariantCulture) == 1)).ToList();
    }

    /// <summary>
    /// The whole schema as lines of text that compare across two databases of one provider: every column (its
    /// type, nullability, default, key), every index with its definition and every constraint.
    /// </summary>
    public async Task<List<string>> SchemaAsync()
    {
        var lines = (await ColumnsAsync()).Select(c => c.ToString()).ToList();
        var sql = _postgres is null
            ? "SELECT 'index ' || name || ' on ' || tbl_name || ': ' || COALESCE(sql, '(automatic)') FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'reclaim%'"
            : """
              SELECT 'index ' || indexname || ' on ' || tablename || ': ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename LIKE 'reclaim%'
              UNION ALL
              SELECT 'constraint ' || conname || ' ' || contype::text || ' on ' || conrelid::regclass::text || ': ' || pg_get_constraintdef(oid)
              FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND conrelid::regclass::text LIKE 'reclaim%'
              """;
        lines.AddRange((await QueryAsync(sql)).Select(r => (string)r[0]!));
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        _folder.Dispose();
    }

    private DbConnection Connection() =>
        _postgres is null ? new SqliteConnection($"Data Source={SqlitePath};Pooling=false") : new NpgsqlConnection(_postgres.ConnectionString);
}

/// <summary>One column of a state table.</summary>
/// <param name="KeyPosition">On SQLite, the column's place in the primary key from 1 (0: not in it); always 0 on PostgreSQL, whose keys are constraints.</param>
/// <param name="Generated">A key the database fills (PostgreSQL identity, SQLite's integer primary key).</param>
internal sealed record StateColumn(string Table, string Name, string Type, bool NotNull, string? Default, long KeyPosition, bool Generated)
{
    public bool IsText => Type.Contains("TEXT", StringComparison.Ordinal) || Type.Contains("CHAR", StringComparison.Ordinal);

    /// <summary>One line of a schema listing: <c>table.column TYPE [NOT NULL] [DEFAULT x] [KEY n] [GENERATED]</c>.</summary>
    public override string ToString() =>
        $"{Table}.{Name} {Type}{(NotNull ? " NOT NULL" : string.Empty)}{(Default is null ? string.Empty : " DEFAULT " + Default)}" +
        $"{(KeyPosition > 0 ? " KEY " + KeyPosition.ToString(CultureInfo.InvariantCulture) : string.Empty)}{(Generated ? " GENERATED" : string.Empty)}";
}
