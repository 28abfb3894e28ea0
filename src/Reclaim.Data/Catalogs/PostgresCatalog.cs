using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using Reclaim.Core.Catalogs;

namespace Reclaim.Data.Catalogs;

/// <summary>
/// A PostgreSQL catalog (Npgsql). Rows stream from the server (no client-side buffering). The re-check first
/// compares in the column's own type (<c>r.id = $1</c> with an untyped parameter, so an index on the column
/// applies); a value that is not valid for the column's type (22P02 and friends) cannot equal any row's text
/// form, and the query is then repeated with the exact text comparison.
/// </summary>
public sealed class PostgresCatalog : SqlCatalog
{
    private readonly NpgsqlDataSource _dataSource;

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
        try
        {
            return await FindAsync(query, columns, tuples, typed: true, cancellationToken);
        }
        catch (CatalogException e) when (e.InnerException is PostgresException { SqlState: var state } && IsConversionError(state))
        {
            return await FindAsync(query, columns, tuples, typed: false, cancellationToken);
        }
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
