using Reclaim.Core.State;

namespace Reclaim.Engine.Gate;

/// <summary>
/// Records, every <see cref="RunOwner.HeartbeatInterval"/> while a run is running, that its process is alive; a
/// failed write is retried at the next beat (a missed heartbeat only matters after <see cref="RunOwner.Lease"/>).
/// Disposing stops it.
/// </summary>
internal sealed class RunHeartbeat : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private RunHeartbeat(IStateStore state, string runId, TimeProvider timeProvider)
    {
        _loop = BeatAsync(state, runId, timeProvider, _stop.Token);
    }

    /// <summary>Starts the heartbeat of a recorded run; <see langword="null"/> state (a dry run not recorded) beats nothing.</summary>
    public static RunHeartbeat? Start(IStateStore? state, string runId, TimeProvider timeProvider) =>
        state is null or NullState ? null : new RunHeartbeat(state, runId, timeProvider);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private static async Task BeatAsync(IStateStore state, string runId, TimeProvider timeProvider, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(RunOwner.HeartbeatInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    await state.HeartbeatAsync(runId, timeProvider.GetUtcNow(), stop);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The next beat tries again.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
