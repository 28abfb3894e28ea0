using Reclaim.Core.Catalogs;
using Reclaim.Core.Layouts;
using Reclaim.Core.References;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Reads a policy's references (or keep) query into a <see cref="ReferenceSet"/>: straight into fingerprints where the
/// catalog can (<see cref="IReferenceReader"/>), otherwise row by row through <see cref="Layout.RenderFingerprint(ReadOnlySpan{string})"/>.
/// </summary>
public static class ReferenceLoader
{
    /// <summary>Reads one query's rows into <paramref name="references"/> (not sealed).</summary>
    /// <param name="layout">The layout whose variables name the query's columns.</param>
    /// <param name="query">The SELECT.</param>
    /// <param name="catalog">The catalog it runs on.</param>
    /// <param name="references">Receives one fingerprint per row that renders to a key.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>Rows read, and rows that rendered to no key (NULL, empty, a '/' in a one-segment value).</returns>
    /// <exception cref="CatalogException">The query fails.</exception>
    public static async Task<(long Read, long Unrenderable)> LoadAsync(Layout layout, string query, ICatalog catalog, ReferenceSet references, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(catalog);
        if (catalog is IReferenceReader reader)
        {
            return await reader.ReadReferencesAsync(query, layout, references, cancellationToken);
        }

        long read = 0;
        long unrenderable = 0;
        await foreach (var row in catalog.ReadAsync(query, layout.Variables, cancellationToken))
        {
            read++;
            if (layout.RenderFingerprint(row) is not { } fingerprint)
            {
                unrenderable++;
                continue;
            }

            references.AddFingerprint(fingerprint);
        }

        return (read, unrenderable);
    }
}
