using System.Data.Common;
using System.Text;
using MySqlConnector;
using Reclaim.Core.Catalogs;

namespace Reclaim.Data.Catalogs;

/// <summary>
/// A MySQL or MariaDB catalog (MySqlConnector). Values are read as UTF-8 text
/// (<c>CAST(r.col AS CHAR CHARACTER SET utf8mb4)</c>, so an integer <c>42</c> is <c>"42"</c> and a <c>DATETIME</c>
/// is <c>"2024-05-01 10:00:00"</c>), and rows stream from the server (MySqlConnector does not buffer a result set).
/// </summary>
/// <remarks>
/// The re-check compares bytes, not characters: MySQL's and MariaDB's default collations
/// (<c>utf8mb4_general_ci</c>, <c>utf8mb4_0900_ai_ci</c>) fold case and accents, and their <c>_bin</c> collations
/// still ignore trailing spaces (<c>PAD SPACE</c>), so <c>'a1'</c> would equal <c>'A1 '</c>. Both sides are compared
/// as binary strings instead (<c>CAST(... AS BINARY)</c>), which is exact, as keys are: byte for byte, trailing
/// spaces included. The tuples are one row-constructor <c>IN</c> list, which the server sorts once and searches
/// per row of the query.
/// </remarks>
public sealed class MySqlCatalog : SqlCatalog
{
    private readonly MySqlDataSource _dataSource;

    /// <summary>Creates the catalog; nothing is opened yet.</summary>
    /// <param name="name">The catalog's name.</param>
    /// <param name="connectionString">A MySqlConnector keyword connection string (<c>Server=...;Port=...;User ID=...;Password=...;Database=...</c>).</param>
    /// <exception cref="ArgumentException">The connection string has a keyword MySqlConnector does not know or a value it cannot use.</exception>
    public MySqlCatalog(string name, string connectionString)
        : base(name)
    {
        _dataSource = new MySqlDataSource(connectionString);
    }

    /// <summary>Checks a connection string without connecting.</summary>
    /// <param name="connectionString">A MySqlConnector keyword connection string.</param>
    /// <exception cref="ArgumentException">A keyword MySqlConnector does not know, or a value it cannot use (the message names it).</exception>
    public static void CheckConnectionString(string connectionString) => _ = new MySqlConnectionStringBuilder(connectionString);

    /// <inheritdoc/>
    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    /// <inheritdoc/>
    protected override string TextOf(string column) => $"CAST(r.{column} AS CHAR CHARACTER SET utf8mb4)";

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">More than <see cref="SqlCatalog.MaxFindTuples"/> tuples, or a column is not a plain identifier.</exception>
    /// <exception cref="CatalogException">The query fails.</exception>
    public override async Task<IReadOnlyList<string?[]>> FindAsync(string query, IReadOnlyList<string> columns, IReadOnlyList<string[]> tuples, CancellationToken cancellationToken)
    {
        SqlText.EnsureIdentifiers(columns);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tuples.Count, MaxFindTuples, nameof(tuples));
        if (tuples.Count == 0)
        {
            return [];
        }

        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            var sql = new StringBuilder("SELECT ")
                .AppendJoin(", ", columns.Select(TextOf))
                .Append(" FROM (").Append(SqlText.AsSubquery(query)).Append(") AS r WHERE (")
                .AppendJoin(", ", columns.Select(c => $"CAST({TextOf(c)} AS BINARY)"))
                .Append(") IN (");
            var p = 0;
            for (var t = 0; t < tuples.Count; t++)
            {
                sql.Append(t == 0 ? "(" : ", (");
                for (var c = 0; c < columns.Count; c++)
                {
                    sql.Append(c == 0 ? "@p" : ", @p").Append(p);
                    command.Parameters.Add(new MySqlParameter("@p" + p, MySqlDbType.VarBinary) { Value = Encoding.UTF8.GetBytes(tuples[t][c]) });
                    p++;
                }

                sql.Append(')');
            }

            command.CommandText = sql.Append(')').ToString();
            AddBoundParameters(command);
            return await ReadTextRowsAsync(command, columns.Count, cancellationToken);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            throw new CatalogException($"catalog '{Name}': the re-check query failed: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await base.DisposeAsync();
    }
}
