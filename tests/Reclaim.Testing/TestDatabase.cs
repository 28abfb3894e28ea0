using System.Data.Common;
using System.Globalization;

namespace Reclaim.Testing;

/// <summary>
/// A catalog database a test seeds and reads: a SQLite file (<see cref="SqliteDatabase"/>), or a fresh database on the
/// test PostgreSQL (<see cref="PostgresDatabase"/>) or MariaDB (<see cref="MariaDbDatabase"/>) server, dropped on dispose.
/// </summary>
public interface ITestDatabase : IAsyncDisposable
{
    /// <summary>Runs SQL statements, each on a new connection (nothing pooled between tests).</summary>
    /// <param name="sql">One or more statements.</param>
    /// <returns>A task.</returns>
    Task ExecuteAsync(string sql);

    /// <summary>Runs a query; every column as invariant text, SQL NULL as <see langword="null"/>.</summary>
    /// <param name="sql">A SELECT.</param>
    /// <returns>The rows in the order the database returns them.</returns>
    Task<List<string?[]>> QueryAsync(string sql);
}

/// <summary>Reading rows of any ADO.NET provider as text, the form the tests compare.</summary>
public static class SqlRows
{
    /// <summary>Executes <paramref name="command"/> and reads every row; each column as invariant text, NULL as <see langword="null"/>.</summary>
    /// <param name="command">A command on an open connection.</param>
    /// <returns>The rows.</returns>
    public static async Task<List<string?[]>> ReadAllAsync(DbCommand command)
    {
        var rows = new List<string?[]>();
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            var row = new string?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture);
            }

            rows.Add(row);
        }

        return rows;
    }
}
