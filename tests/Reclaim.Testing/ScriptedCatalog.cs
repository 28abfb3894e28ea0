using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Reclaim.Core.Catalogs;

namespace Reclaim.Testing;

/// <summary>
/// A catalog whose rows a test sets (and changes while a run goes on): every query returns the rows, projected
/// to the columns asked for. <see cref="BeforeFind"/> runs at the start of each re-check, to commit a row then,
/// fail the query, or observe its order among the store's requests.
/// </summary>
/// <param name="name">The catalog's name.</param>
public sealed class ScriptedCatalog(string name = "app") : ICatalog
{
    /// <summary>The rows, each a column name to text value map.</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, string?>> Rows { get; } = new();

    /// <summary>Runs first in every <see cref="FindAsync"/>, with the tuples asked for; an exception it throws is the query's.</summary>
    public Func<IReadOnlyList<string[]>, Task>? BeforeFind { get; set; }

    /// <summary>When each re-check started (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>) and the tuples it asked for.</summary>
    public ConcurrentQueue<(long Timestamp, IReadOnlyList<string[]> Tuples)> Finds { get; } = new();

    /// <inheritdoc/>
    public string Name => name;

    /// <summary>Adds a row.</summary>
    /// <param name="columns">Column name and value pairs.</param>
    public void Add(params (string Column, string? Value)[] columns) =>
        Rows.Enqueue(columns.ToDictionary(c => c.Column, c => c.Value, StringComparer.Ordinal));

    /// <inheritdoc/>
    public Task PingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public async IAsyncEnumerable<string?[]> ReadAsync(string query, IReadOnlyList<string> columns, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var row in Rows)
        {
            yield return Project(row, columns);
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string?[]>> FindAsync(string query, IReadOnlyList<string> columns, IReadOnlyList<string[]> tuples, CancellationToken cancellationToken)
    {
        Finds.Enqueue((System.Diagnostics.Stopwatch.GetTimestamp(), tuples));
        if (BeforeFind is { } before)
        {
            await before(tuples);
        }

        return [.. Rows.Select(r => Project(r, columns)).Where(r => tuples.Any(t => r.SequenceEqual(t)))];
    }

    /// <inheritdoc/>
    public Task<long> CountAsync(string query, CancellationToken cancellationToken) => Task.FromResult((long)Rows.Count);

    /// <inheritdoc/>
    public Task<int> ExecuteAsync(string statement, IReadOnlyDictionary<string, object?> parameters, CancellationToken cancellationToken) => Task.FromResult(0);

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static string?[] Project(IReadOnlyDictionary<string, string?> row, IReadOnlyList<string> columns) =>
        [.. columns.Select(c => row.GetValueOrDefault(c))];
}
