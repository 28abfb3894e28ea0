namespace Reclaim.Testing;

/// <summary>Small helpers for asserting on streamed results.</summary>
public static class AsyncEnumerables
{
    /// <summary>Reads a stream to the end.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="items">The stream.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>Every item, in order.</returns>
    public static async Task<List<T>> CollectAsync<T>(this IAsyncEnumerable<T> items, CancellationToken cancellationToken = default)
    {
        var list = new List<T>();
        await foreach (var item in items.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            list.Add(item);
        }

        return list;
    }
}
