using Reclaim.Core.Catalogs;
using Reclaim.Core.Layouts;
using Reclaim.Core.References;

namespace Reclaim.Data.Catalogs;

/// <summary>
/// A catalog with parameters bound (<see cref="SqlCatalog.WithParameters"/>): every call goes to a copy of the catalog
/// that binds them and shares its connections, and disposing the view leaves those connections to the catalog's owner.
/// </summary>
/// <param name="bound">The copy that binds the parameters.</param>
internal class CatalogView(SqlCatalog bound) : ICatalog
{
    /// <summary>The copy that binds the parameters.</summary>
    protected SqlCatalog Bound { get; } = bound;

    public string Name => Bound.Name;

    public Task PingAsync(CancellationToken cancellationToken) => Bound.PingAsync(cancellationToken);

    public IAsyncEnumerable<string?[]> ReadAsync(string query, IReadOnlyList<string> columns, CancellationToken cancellationToken) =>
        Bound.ReadAsync(query, columns, cancellationToken);

    public Task<IReadOnlyList<string?[]>> FindAsync(string query, IReadOnlyList<string> columns, IReadOnlyList<string[]> tuples, CancellationToken cancellationToken) =>
        Bound.FindAsync(query, columns, tuples, cancellationToken);

    public Task<long> CountAsync(string query, CancellationToken cancellationToken) => Bound.CountAsync(query, cancellationToken);

    public Task<int> ExecuteAsync(string statement, IReadOnlyDictionary<string, object?> parameters, CancellationToken cancellationToken) =>
        Bound.ExecuteAsync(statement, parameters, cancellationToken);

    /// <summary>Does nothing: the connections belong to the catalog the view was made from.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>A <see cref="CatalogView"/> of a catalog that reads references itself.</summary>
/// <param name="bound">The copy that binds the parameters; an <see cref="IReferenceReader"/>.</param>
internal sealed class ReferenceReaderCatalogView(SqlCatalog bound) : CatalogView(bound), IReferenceReader
{
    public Task<(long Rows, long Unrenderable)> ReadReferencesAsync(string query, Layout layout, ReferenceSet references, CancellationToken cancellationToken) =>
        ((IReferenceReader)Bound).ReadReferencesAsync(query, layout, references, cancellationToken);
}
