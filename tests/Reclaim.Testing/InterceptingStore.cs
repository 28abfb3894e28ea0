using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Reclaim.Core.Storage;

namespace Reclaim.Testing;

/// <summary>One request a <see cref="InterceptingStore"/> saw.</summary>
/// <param name="Timestamp">When it was asked for (<see cref="Stopwatch.GetTimestamp"/>).</param>
/// <param name="Operation"><c>list</c>, <c>list-range</c>, <c>stat</c>, <c>delete</c>, <c>move</c> or <c>copy</c>.</param>
/// <param name="Keys">The key, range bound or keys it names (the source of a move or copy first).</param>
public sealed record StoreRequest(long Timestamp, string Operation, IReadOnlyList<string> Keys);

/// <summary>
/// A real store behind a hook: every request is recorded in order, and <see cref="Before"/> runs first — to fail it,
/// delay it, cancel something, or change the store underneath (another writer). Passes
/// <see cref="IRangeListing"/> and <see cref="IObjectContent"/> through when the inner store has them.
/// </summary>
/// <param name="inner">The real store.</param>
public class InterceptingStore(IObjectStore inner) : IObjectStore, IRangeListing, IObjectContent
{
    /// <summary>Runs before each request is passed on; an exception it throws is the request's.</summary>
    public Func<StoreRequest, CancellationToken, Task>? Before { get; set; }

    /// <summary>Every request so far, in the order asked.</summary>
    public ConcurrentQueue<StoreRequest> Requests { get; } = new();

    /// <summary>Answers for particular keys of a delete instead of the store (the key is then not deleted).</summary>
    public ConcurrentDictionary<string, string> DeleteErrors { get; } = new(StringComparer.Ordinal);

    /// <summary>The real store.</summary>
    protected IObjectStore Inner => inner;

    /// <inheritdoc/>
    public string Name => inner.Name;

    /// <inheritdoc/>
    /// <remarks><see cref="BatchSize"/> when set: a small batch makes many sub-batches of a few objects.</remarks>
    public int MaxDeleteBatch => BatchSize ?? inner.MaxDeleteBatch;

    /// <summary>The delete batch the store reports instead of the real store's; <see langword="null"/> for the real one.</summary>
    public int? BatchSize { get; set; }

    /// <inheritdoc/>
    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await SeeAsync("list", [prefix], cancellationToken);
        await foreach (var item in inner.ListAsync(prefix, cancellationToken))
        {
            yield return item;
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<StoredObject> ListRangeAsync(KeyRange range, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await SeeAsync("list-range", [range.From, range.Through], cancellationToken);
        await foreach (var item in ((IRangeListing)inner).ListRangeAsync(range, cancellationToken))
        {
            yield return item;
        }
    }

    /// <inheritdoc/>
    public async Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        await SeeAsync("stat", [key], cancellationToken);
        return await inner.StatAsync(key, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<KeyError>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        await SeeAsync("delete", keys, cancellationToken);
        var errors = keys.Where(DeleteErrors.ContainsKey).Select(k => new KeyError(k, DeleteErrors[k])).ToList();
        var errors2 = await inner.DeleteAsync([.. keys.Where(k => !DeleteErrors.ContainsKey(k))], cancellationToken);
        return [.. errors, .. errors2];
    }

    /// <inheritdoc/>
    public async Task MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken)
    {
        await SeeAsync("move", [sourceKey, destinationKey], cancellationToken);
        await inner.MoveAsync(sourceKey, destinationKey, cancellationToken);
    }

    /// <inheritdoc/>
    public Task WriteAsync(string key, Stream content, CancellationToken cancellationToken) => ((IObjectContent)inner).WriteAsync(key, content, cancellationToken);

    /// <inheritdoc/>
    public Task<byte[]> ReadAllAsync(string key, CancellationToken cancellationToken) => ((IObjectContent)inner).ReadAllAsync(key, cancellationToken);

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return inner.DisposeAsync();
    }

    /// <summary>Records a request and runs <see cref="Before"/>.</summary>
    /// <param name="operation">The operation.</param>
    /// <param name="keys">The keys it names.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <returns>A task.</returns>
    protected async Task SeeAsync(string operation, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var request = new StoreRequest(Stopwatch.GetTimestamp(), operation, keys);
        Requests.Enqueue(request);
        if (Before is { } before)
        {
            await before(request, cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }
}

/// <summary>
/// An <see cref="InterceptingStore"/> that also copies (<see cref="IObjectCopy"/>) by reading and writing the
/// content, as a service-side copy would: the gate then quarantines on it as on S3 (copies, then one delete).
/// </summary>
/// <param name="inner">The real store; it must have <see cref="IObjectContent"/>.</param>
public sealed class CopyingStore(IObjectStore inner) : InterceptingStore(inner), IObjectCopy
{
    /// <summary>Keys whose copy answers "not found" although the object is there (an S3 service's 404 after a listing).</summary>
    public ConcurrentDictionary<string, bool> CopyNotFound { get; } = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public async Task CopyAsync(StoredObject source, string destinationKey, CancellationToken cancellationToken)
    {
        await SeeAsync("copy", [source.Key, destinationKey], cancellationToken);
        var current = await Inner.StatAsync(source.Key, cancellationToken);
        if (current is null || CopyNotFound.ContainsKey(source.Key))
        {
            throw new ObjectNotFoundException(source.Key);
        }

        if (!current.Value.IsUnchangedSince(source))
        {
            throw new ObjectChangedException(source.Key);
        }

        var content = (IObjectContent)Inner;
        await content.WriteAsync(destinationKey, new MemoryStream(await content.ReadAllAsync(source.Key, cancellationToken)), cancellationToken);
    }
}
