using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text;
using Reclaim.Core.Catalogs;

namespace Reclaim.Data.Catalogs;

/// <summary>
/// A catalog over any ADO.NET provider: wraps the user's query as a subquery and projects the wanted columns
/// as text (<c>CAST(r.col AS TEXT)</c>), so values are the database's own text form (an integer <c>42</c> is
/// <c>"42"</c>, a PostgreSQL uuid its lower-case canonical form).
/// </summary>
public abstract class SqlCatalog : ICatalog, IParameterizedCatalog
{
    /// <summary>Most tuples one re-check (<c>FindAsync</c>) call accepts.</summary>
    public const int MaxFindTuples = 1000;

    private static readonly IReadOnlyDictionary<string, object?> NoParameters = new Dictionary<string, object?>(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, object?> _bound = NoParameters;

    /// <summary>Creates the catalog.</summary>
    /// <param name="name">The catalog's name in the config.</param>
    protected SqlCatalog(string name)
    {
        Name = name;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>
    /// Whether rows are read with <see cref="DbDataReader.Read"/> rather than <see cref="DbDataReader.ReadAsync(CancellationToken)"/>:
    /// true for providers whose reads never wait on a network (SQLite), where the async path only adds overhead.
    /// </summary>
    protected virtual bool SynchronousReads => false;

    /// <summary>Opens a new connection.</summary>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>An open connection the caller disposes.</returns>
    protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Creates a parameter for a comparison value.</summary>
    /// <param name="command">The command.</param>
    /// <param name="name">The parameter's name without <c>@</c>.</param>
    /// <param name="value">The value.</param>
    /// <param name="typed">Whether the database should read the value in the compared column's type (see <see cref="FindAsync(string, IReadOnlyList{string}, IReadOnlyList{string[]}, bool, CancellationToken)"/>).</param>
    /// <returns>The parameter (not yet added).</returns>
    protected virtual DbParameter CreateParameter(DbCommand command, string name, object? value, bool typed = false)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        return parameter;
    }

    /// <summary>The parameters this instance binds into every query (empty but for a <see cref="WithParameters"/> view).</summary>
    protected IReadOnlyDictionary<string, object?> BoundParameters => _bound;

    /// <inheritdoc/>
    public ICatalog WithParameters(IReadOnlyDictionary<string, object?> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var bound = (SqlCatalog)MemberwiseClone();
        bound._bound = new Dictionary<string, object?>(parameters, StringComparer.Ordinal);
        return bound is IReferenceReader ? new ReferenceReaderCatalogView(bound) : new CatalogView(bound);
    }

    /// <summary>
    /// Adds <see cref="BoundParameters"/> that <paramref name="command"/>'s text names (<c>@name</c>) to it; call it
    /// once the text is set, on every command that runs the user's query.
    /// </summary>
    /// <param name="command">The command.</param>
    protected void AddBoundParameters(DbCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var (name, value) in _bound)
        {
            if (SqlText.NamesParameter(command.CommandText, name))
            {
                command.Parameters.Add(CreateParameter(command, name, value));
            }
        }
    }

    /// <inheritdoc/>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or ArgumentException or IOException)
        {
            throw new CatalogException($"catalog '{Name}': cannot connect: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<string?[]> ReadAsync(string query, IReadOnlyList<string> columns, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        SqlText.EnsureIdentifiers(columns);
        var sql = $"SELECT {Projection(columns)} FROM ({SqlText.AsSubquery(query)}) AS r";
        DbConnection connection;
        DbCommand command;
        DbDataReader reader;
        try
        {
            connection = await OpenAsync(cancellationToken);
            command = connection.CreateCommand();
            command.CommandText = sql;
            command.CommandTimeout = 0;
            AddBoundParameters(command);
            reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            throw new CatalogException($"catalog '{Name}': the query failed: {e.Message}", e);
        }

        await using (connection)
        await using (command)
        await using (reader)
        {
            var row = new string?[columns.Count];
            while (true)
            {
                try
                {
                    if (!(SynchronousReads ? reader.Read() : await reader.ReadAsync(cancellationToken)))
                    {
                        break;
                    }

                    for (var i = 0; i < row.Length; i++)
                    {
                        row[i] = reader.IsDBNull(i) ? null : reader.GetString(i);
                    }
                }
                catch (Exception e) when (e is DbException or InvalidOperationException)
                {
                    throw new CatalogException($"catalog '{Name}': reading the query's rows failed: {e.Message}", e);
                }

                yield return row;
            }
        }
    }

    /// <inheritdoc/>
    public virtual async Task<IReadOnlyList<string?[]>> FindAsync(string query, IReadOnlyList<string> columns, IReadOnlyList<string[]> tuples, CancellationToken cancellationToken)
    {
        return await FindAsync(query, columns, tuples, typed: false, cancellationToken);
    }

    /// <summary>
    /// Runs the re-check query. With <paramref name="typed"/> the comparison is <c>r.col = @p</c> (the database
    /// converts the text to the column's type, so indexes apply); otherwise <c>CAST(r.col AS TEXT) = @p</c>,
    /// exactly the streamed read's form.
    /// </summary>
    /// <param name="query">The user's SELECT.</param>
    /// <param name="columns">Columns.</param>
    /// <param name="tuples">Candidate values.</param>
    /// <param name="typed">Whether to compare in the column's type.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The matching rows.</returns>
    /// <exception cref="CatalogException">The query fails.</exception>
    protected async Task<IReadOnlyList<string?[]>> FindAsync(string query, IReadOnlyList<string> columns, IReadOnlyList<string[]> tuples, bool typed, CancellationToken cancellationToken)
    {
        SqlText.EnsureIdentifiers(columns);
        if (tuples.Count == 0)
        {
            return [];
        }

        if (tuples.Count > MaxFindTuples)
        {
            throw new ArgumentException($"at most {MaxFindTuples} tuples per call", nameof(tuples));
        }

        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            var where = new StringBuilder();
            var p = 0;
            if (columns.Count == 1)
            {
                where.Append(Operand(columns[0], typed)).Append(" IN (");
                for (var t = 0; t < tuples.Count; t++)
                {
                    where.Append(t == 0 ? "@p" : ", @p").Append(p);
                    command.Parameters.Add(CreateParameter(command, "p" + p, tuples[t][0], typed));
                    p++;
                }

                where.Append(')');
            }
            else
            {
                for (var t = 0; t < tuples.Count; t++)
                {
                    where.Append(t == 0 ? "(" : " OR (");
                    for (var c = 0; c < columns.Count; c++)
                    {
                        where.Append(c == 0 ? string.Empty : " AND ").Append(Operand(columns[c], typed)).Append(" = @p").Append(p);
                        command.Parameters.Add(CreateParameter(command, "p" + p, tuples[t][c], typed));
                        p++;
                    }

                    where.Append(')');
                }
            }

            command.CommandText = $"SELECT {Projection(columns)} FROM ({SqlText.AsSubquery(query)}) AS r WHERE {where}";
            AddBoundParameters(command);
            return await ReadTextRowsAsync(command, columns.Count, cancellationToken);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            throw new CatalogException($"catalog '{Name}': the re-check query failed: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public async Task<long> CountAsync(string query, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM ({SqlText.AsSubquery(query)}) AS r";
            AddBoundParameters(command);
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            throw new CatalogException($"catalog '{Name}': the query failed: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public async Task<int> ExecuteAsync(string statement, IReadOnlyDictionary<string, object?> parameters, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = statement;
            // Values are the text the catalog rendered; the database reads them in each column's own type.
            foreach (var (name, value) in parameters)
            {
                command.Parameters.Add(CreateParameter(command, name, value, typed: true));
            }

            return await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            throw new CatalogException($"catalog '{Name}': the statement failed: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>Runs a query whose columns are all text (or NULL) and returns every row.</summary>
    /// <param name="command">The command, with its text and parameters set.</param>
    /// <param name="columns">How many columns each row has.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The rows; a SQL NULL is <see langword="null"/>.</returns>
    /// <exception cref="DbException">The query fails.</exception>
    protected static async Task<IReadOnlyList<string?[]>> ReadTextRowsAsync(DbCommand command, int columns, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<string?[]>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new string?[columns];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetString(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>
    /// The SQL for the text form of a column of the user's query (aliased <c>r</c>): <c>CAST(r.col AS TEXT)</c> by
    /// default; a provider whose dialect spells it otherwise (MySQL's <c>CAST(r.col AS CHAR)</c>) overrides it.
    /// </summary>
    /// <param name="column">A plain identifier (checked by the caller).</param>
    /// <returns>An SQL expression.</returns>
    protected virtual string TextOf(string column) => $"CAST(r.{column} AS TEXT)";

    private string Projection(IReadOnlyList<string> columns) =>
        string.Join(", ", columns.Select(TextOf));

    private string Operand(string column, bool typed) => typed ? $"r.{column}" : TextOf(column);
}
