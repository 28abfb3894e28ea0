namespace Reclaim.Core.Catalogs;

/// <summary>
/// The application's database, read through SQL the user writes in the config. Values are compared as the
/// database renders them to text (<c>CAST(column AS TEXT)</c>), so the streamed read and the gate's re-check
/// see identical strings.
/// </summary>
public interface ICatalog : IAsyncDisposable
{
    /// <summary>The catalog's name in the config.</summary>
    string Name { get; }

    /// <summary>Opens a connection and runs a trivial query.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <exception cref="CatalogException">The database cannot be reached.</exception>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Streams the rows of <paramref name="query"/>, projected to <paramref name="columns"/> as text; SQL NULL is
    /// <see langword="null"/>. Rows are never loaded as a list first.
    /// </summary>
    /// <param name="query">The user's SELECT (a trailing <c>;</c> is allowed).</param>
    /// <param name="columns">Column names the query returns (the layout's variables); plain identifiers.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>
    /// One array per row, in <paramref name="columns"/> order. The same array instance may be reused for the next
    /// row: copy values you keep.
    /// </returns>
    /// <exception cref="CatalogException">The query fails (bad SQL, a missing column, a lost connection).</exception>
    IAsyncEnumerable<string?[]> ReadAsync(string query, IReadOnlyList<string> columns, CancellationToken cancellationToken);

    /// <summary>
    /// The rows of <paramref name="query"/> whose projected columns equal one of <paramref name="tuples"/>: the
    /// gate's re-check for just the groups of one batch.
    /// </summary>
    /// <param name="query">The user's SELECT.</param>
    /// <param name="columns">Column names, as for <see cref="ReadAsync"/>.</param>
    /// <param name="tuples">Candidate values, one array per group, in <paramref name="columns"/> order; at most 1000.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The matching rows (fresh arrays).</returns>
    /// <exception cref="CatalogException">The query fails.</exception>
    Task<IReadOnlyList<string?[]>> FindAsync(string query, IReadOnlyList<string> columns, IReadOnlyList<string[]> tuples, CancellationToken cancellationToken);

    /// <summary>Counts the rows of a query (<c>SELECT COUNT(*) FROM (query)</c>).</summary>
    /// <param name="query">The user's SELECT.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The number of rows.</returns>
    /// <exception cref="CatalogException">The query fails.</exception>
    Task<long> CountAsync(string query, CancellationToken cancellationToken);

    /// <summary>Runs a statement with named parameters (<c>@name</c>), for policies that write (<c>after:</c>).</summary>
    /// <param name="statement">The SQL statement.</param>
    /// <param name="parameters">Parameter values by name (without <c>@</c>).</param>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <returns>The number of rows affected.</returns>
    /// <exception cref="CatalogException">The statement fails.</exception>
    Task<int> ExecuteAsync(string statement, IReadOnlyDictionary<string, object?> parameters, CancellationToken cancellationToken);
}

/// <summary>
/// Optional capability: reads a references (or keep) query straight into a <see cref="References.ReferenceSet"/>,
/// fingerprinting each row's rendered key without a string per value. Must agree exactly with rendering the
/// rows of <see cref="ICatalog.ReadAsync"/> through <see cref="Layouts.Layout.Render"/>.
/// </summary>
public interface IReferenceReader
{
    /// <summary>Reads the query's rows into <paramref name="references"/>.</summary>
    /// <param name="query">The user's SELECT.</param>
    /// <param name="layout">The layout whose variables name the columns.</param>
    /// <param name="references">Receives one fingerprint per row that renders to a key.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>Rows read, and rows that rendered to no key.</returns>
    /// <exception cref="CatalogException">The query fails.</exception>
    Task<(long Rows, long Unrenderable)> ReadReferencesAsync(string query, Layouts.Layout layout, References.ReferenceSet references, CancellationToken cancellationToken);
}

/// <summary>
/// Optional capability: a view of the catalog whose queries (<see cref="ICatalog.ReadAsync"/>,
/// <see cref="ICatalog.FindAsync"/>, <see cref="ICatalog.CountAsync"/> and <see cref="IReferenceReader"/>) are run with
/// named parameters bound, so a user's query may say <c>WHERE created_at &gt; @cutoff</c>.
/// </summary>
public interface IParameterizedCatalog
{
    /// <summary>
    /// A view running every query with <paramref name="parameters"/> bound by name (<c>@name</c> in the SQL). The view
    /// shares this catalog's connections; disposing it does nothing (the catalog's owner disposes the catalog).
    /// </summary>
    /// <param name="parameters">Values by name without <c>@</c>: text, whole numbers, or a UTC <see cref="DateTime"/> (sent as the database's timestamp; SQLite's text form <c>yyyy-MM-dd HH:mm:ss</c>).</param>
    /// <returns>The view; an <see cref="IReferenceReader"/> when this catalog is one.</returns>
    ICatalog WithParameters(IReadOnlyDictionary<string, object?> parameters);
}

/// <summary>A catalog could not be read or written; the message names the catalog and the database's error.</summary>
public sealed class CatalogException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="inner">The provider's exception.</param>
    public CatalogException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
