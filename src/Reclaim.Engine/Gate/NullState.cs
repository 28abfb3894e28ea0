using System.Runtime.CompilerServices;
using Reclaim.Core.State;

namespace Reclaim.Engine.Gate;

/// <summary>State for dry runs: records nothing. The gate never writes to it (a dry run returns before recording).</summary>
internal sealed class NullState : IStateStore
{
    public static NullState Instance { get; } = new();

    public Task<int> MigrateAsync(CancellationToken cancellationToken) => Task.FromResult(0);

    public Task StartRunAsync(RunRecord run, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task FinishRunAsync(string runId, RunStatus status, DateTimeOffset finishedAt, string? summary, string? error, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task HeartbeatAsync(string runId, DateTimeOffset at, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<bool> InterruptRunAsync(string runId, RunStatus expected, DateTimeOffset at, string reason, CancellationToken cancellationToken) => Task.FromResult(false);

    public Task<IReadOnlyList<string>> UnsettledRunsAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);

    public Task<IReadOnlyList<ActionRecord>> RecordIntentAsync(IReadOnlyList<ActionRecord> actions, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("a dry run records no action");

    public Task RecordOutcomesAsync(IReadOnlyList<SettledAction> outcomes, DateTimeOffset at, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("a dry run records no action");

    public Task<IReadOnlyList<RunRecord>> ListRunsAsync(int limit, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<RunRecord>>([]);

    public Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken) => Task.FromResult<RunRecord?>(null);

    public async IAsyncEnumerable<ActionRecord> ListActionsAsync(string runId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        yield break;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
