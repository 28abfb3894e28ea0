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

    /// <summary>
    /// The name of the re-check's table of candidate tuples, a common table expression: the user's query sees it
    /// (a table of theirs by this name would be shadowed in the re-check), so it is one no application uses.
    /// </summary>
    public const string CandidatesTable = "reclaim_recheck_candidates";

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
    /// <param name="typed">Whether the database should read the value in the type of the column it is compared with or assigned to (an <c>after:</c> statement's parameters).</param>
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
        return await FindAsync(query, columns, tuples, columnTypes: null, cancellationToken);
    }

    /// <summary>
    /// Runs the re-check query: the candidate tuples are a table of their own (<see cref="CandidateRows"/>, a
    /// <c>VALUES</c> list by default, with <see cref="CandidatesTable"/> for <c>t</c>), so the statement's expression
    /// tree has one comparison per column whatever the number of tuples (a chain of <c>(a = @p AND b = @q) OR ...</c>
    /// terms goes past SQLite's expression depth limit of 1000 at a few hundred tuples). Without
    /// <paramref name="columnTypes"/> the user's rows are matched in their text form, exactly the streamed read's,
    /// by a row-value membership test,
    /// <c>WITH t(c0, c1) AS (VALUES (@p0, @p1), ...) SELECT ... FROM (query) AS r WHERE (CAST(r.a AS TEXT), CAST(r.b AS TEXT)) IN (SELECT c0, c1 FROM t)</c>:
    /// SQLite answers it with one lookup per row in an index it builds on <c>t</c>, where a join on those
    /// expressions scanned the whole query once per candidate (1000 candidates against 27,000 rows took 3–10 s, the
    /// membership test 5 ms). With <paramref name="columnTypes"/> the query is joined to <c>t</c>,
    /// <c>... FROM (query) AS r JOIN t ON r.a = CAST(t.c0 AS type) AND ...</c>, in the column's own type,
    /// so an index on it applies; rows equal in that type but not in text (an upper-case uuid) are then returned
    /// too, in their text form, and match no candidate once rendered.
    /// </summary>
    /// <param name="query">The user's SELECT.</param>
    /// <param name="columns">Columns.</param>
    /// <param name="tuples">Candidate values, at most <see cref="MaxFindTuples"/>.</param>
    /// <param name="columnTypes">The SQL type to compare each column in (already quoted as the provider needs), or <see langword="null"/> to compare text.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The matching rows of the user's query.</returns>
    /// <exception cref="CatalogException">The query fails.</exception>
    /// <exception cref="ArgumentException">More than <see cref="MaxFindTuples"/> tuples, a tuple of another width than <paramref name="columns"/>, or a column name that is not a plain identifier.</exception>
    protected async Task<IReadOnlyList<string?[]>> FindAsync(string query, IReadOnlyList<string> columns, IReadOnlyList<string[]> tuples, IReadOnlyList<string>? columnTypes, CancellationToken cancellationToken)
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

        if (tuples.Any(t => t.Length != columns.Count))
        {
            throw new ArgumentException($"every tuple must hold {columns.Count} values, one per column", nameof(tuples));
        }

        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            var names = string.Join(", ", columns.Select((_, i) => CandidateColumn(i)));
            var candidates = $"WITH {CandidatesTable}({names}) AS ({CandidateRows(command, columns.Count, tuples)}) ";
            command.CommandText = columnTypes is null
                ? candidates + $"SELECT {Projection(columns)} FROM ({SqlText.AsSubquery(query)}) AS r WHERE ({Projection(columns)}) IN (SELECT {names} FROM {CandidatesTable})"
                : candidates + $"SELECT {Projection(columns)} FROM ({SqlText.AsSubquery(query)}) AS r JOIN {CandidatesTable} ON " +
                  string.Join(" AND ", columns.Select((column, i) => $"r.{column} = CAST({CandidatesTable}.{CandidateColumn(i)} AS {columnTypes[i]})"));
            AddBoundParameters(command);
            return await ReadTextRowsAsync(command, columns.Count, cancellationToken);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            throw new CatalogException($"catalog '{Name}': the re-check query failed: {e.Message}", e);
        }
    }

    /// <summary>The name of the candidate table's column <paramref name="index"/>: <c>c0</c>, <c>c1</c>, ...</summary>
    /// <param name="index">The column's position, from 0.</param>
    /// <returns>The name.</returns>
    protected static string CandidateColumn(int index) => "c" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The body of the candidate table <c>reclaim_recheck_candidates(c0, c1, ...)</c> of <see cref="FindAsync(string, IReadOnlyList{string}, IReadOnlyList{string[]}, IReadOnlyList{string}?, CancellationToken)"/>:
    /// a query whose rows are <paramref name="tuples"/>, one column per value, as text; it adds its parameters to
    /// <paramref name="command"/>. The default is the standard row constructor <c>VALUES (@p0, @p1), (@p2, @p3)</c>
    /// (SQLite, PostgreSQL, MariaDB); a provider overrides it for another syntax (MySQL's <c>VALUES ROW(...)</c>) or
    /// for a form with fewer parameters (PostgreSQL's <c>unnest</c> of one array per column).
    /// </summary>
    /// <param name="command">The command the parameters go to.</param>
    /// <param name="width">Values per tuple.</param>
    /// <param name="tuples">The tuples, each of <paramref name="width"/> values.</param>
    /// <returns>The SQL.</returns>
    protected virtual string CandidateRows(DbCommand command, int width, IReadOnlyList<string[]> tuples)
    {
        var sql = new StringBuilder("VALUES ");
        var p = 0;
        for (var t = 0; t < tuples.Count; t++)
        {
            sql.Append(t == 0 ? "(" : ", (");
            for (var c = 0; c < width; c++)
            {
                var name = "p" + p.ToString(System.Globalization.CultureInfo.InvariantCulture);
                sql.Append(c == 0 ? "@" : ", @").Append(name);
                command.Parameters.Add(CreateParameter(command, name, tuples[t][c]));
                p++;
            }

            sql.Append(')');
        }

        return sql.ToString();
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
}
