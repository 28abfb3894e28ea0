using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using Reclaim.Core.Catalogs;

namespace Reclaim.Data.Catalogs;

/// <summary>
/// A PostgreSQL catalog (Npgsql). Rows stream from the server (no client-side buffering). The re-check joins the
/// user's query to the candidate tuples, passed as one <c>text[]</c> parameter per column and unnested
/// (<c>unnest(@c0, @c1)</c>: the statement is the same whatever the number of tuples), and compares in each
/// column's own type (<c>r.id = CAST(t.c0 AS pg_catalog.int4)</c>, the types read once per query from the
/// statement's description), so an index on the column applies. A value that is not valid for the column's type
/// (22P02 and friends) cannot equal any row's text form, and the query is then repeated with the exact text
/// comparison.
/// </summary>
public sealed class PostgresCatalog : SqlCatalog
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<string>> _columnTypes = new(StringComparer.Ordinal);

    /// <summary>Creates the catalog.</summary>
    /// <param name="name">The catalog's name.</param>
    /// <param name="connectionString">An Npgsql keyword connection string.</param>
    /// <exception cref="ArgumentException">The connection string is malformed.</exception>
    public PostgresCatalog(string name, string connectionString)
        : base(name)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <inheritdoc/>
    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    /// <inheritdoc/>
    protected override DbParameter CreateParameter(DbCommand command, string name, object? value, bool typed = false)
    {
        if (typed)
        {
            return new NpgsqlParameter(name, NpgsqlDbType.Unknown) { Value = value ?? DBNull.Value };
        }

        return base.CreateParameter(command, name, value, typed);
    }

    /// <inheritdoc/>
    public override async Task<IReadOnlyList<string?[]>> FindAsync(string query, IReadOnlyList<string> columns, IReadOnlyList<string[]> tuples, CancellationToken cancellationToken)
    {
        if (tuples.Count == 0)
        {
            return [];
        }

        try
        {
            var types = await ColumnTypesAsync(query, columns, cancellationToken);
            return await FindAsync(query, columns, tuples, types, cancellationToken);
        }
        catch (CatalogException e) when (e.InnerException is PostgresException { SqlState: var state } && IsConversionError(state))
        {
            return await FindAsync(query, columns, tuples, columnTypes: null, cancellationToken);
        }
    }

    /// <inheritdoc/>
    protected override string CandidateRows(DbCommand command, int width, IReadOnlyList<string[]> tuples)
    {
        var arrays = new string[width];
        for (var c = 0; c < width; c++)
        {
            var values = new string[tuples.Count];
            for (var t = 0; t < values.Length; t++)
            {
                values[t] = tuples[t][c];
            }

            arrays[c] = "@" + CandidateColumn(c);
            command.Parameters.Add(new NpgsqlParameter(CandidateColumn(c), NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values });
        }

        return $"SELECT * FROM unnest({string.Join(", ", arrays)})";
    }

    /// <summary>
    /// The type of each of <paramref name="columns"/> in the user's query, as a quoted, schema-qualified name
    /// (<c>"pg_catalog"."int4"</c>), from the statement's description (no rows are read); remembered per query.
    /// </summary>
    private async Task<IReadOnlyList<string>> ColumnTypesAsync(string query, IReadOnlyList<string> columns, CancellationToken cancellationToken)
    {
        SqlText.EnsureIdentifiers(columns);
        var key = string.Join(',', columns) + "\n" + query;
        if (_columnTypes.TryGetValue(key, out var known))
        {
            return known;
        }

        try
        {
            await using var connection = (NpgsqlConnection)await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {string.Join(", ", columns.Select(c => $"r.{c}"))} FROM ({SqlText.AsSubquery(query)}) AS r";
            AddBoundParameters(command);
            await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SchemaOnly, cancellationToken);
            var types = new string[columns.Count];
            for (var i = 0; i < types.Length; i++)
            {
                var type = reader.GetPostgresType(i);
                types[i] = $"{Quote(type.Namespace)}.{Quote(type.InternalName)}";
            }

            return _columnTypes[key] = types;
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            throw new CatalogException($"catalog '{Name}': the re-check query failed: {e.Message}", e);
        }

        static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await base.DisposeAsync();
    }

    // 22P02 invalid_text_representation, 22003 numeric_value_out_of_range, 22007 invalid_datetime_format,
    // 22008 datetime_field_overflow, 42883 undefined_function (no '=' for the column's type and text).
    private static bool IsConversionError(string state) => state is "22P02" or "22003" or "22007" or "22008" or "42883" or "42804";
}
