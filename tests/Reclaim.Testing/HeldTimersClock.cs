namespace Reclaim.Testing;

/// <summary>
/// The system clock, except that timers due at or after <paramref name="holdFrom"/> (a worker's poll interval, say)
/// do not fire on their own: <see cref="ReleaseHeld"/> fires them, as if that much time had passed. Shorter
/// timers run in real time. <c>FakeTimeProvider</c> holds every timer, the short ones a run needs (retries,
/// heartbeats) too, so it cannot hold only the poll.
/// </summary>
/// <param name="holdFrom">The shortest due time that is held.</param>
public sealed class HeldTimersClock(TimeSpan holdFrom) : TimeProvider
{
    private readonly Lock _sync = new();
    private readonly List<HeldTimer> _held = [];

    /// <summary>Timers currently held.</summary>
    public int Held
    {
        get
        {
            lock (_sync)
            {
                return _held.Count;
            }
        }
    }

    /// <inheritdoc/>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime < holdFrom || dueTime == Timeout.InfiniteTimeSpan)
        {
            return System.CreateTimer(callback, state, dueTime, period);
        }

        var timer = new HeldTimer(this, callback, state);
        lock (_sync)
        {
            _held.Add(timer);
        }

        return timer;
    }

    /// <summary>Fires every held timer once.</summary>
    public void ReleaseHeld()
    {
        List<HeldTimer> due;
        lock (_sync)
        {
            due = [.. _held];
            _held.Clear();
        }

        foreach (var timer in due)
        {
            timer.Fire();
        }
    }

    private void Forget(HeldTimer timer)
    {
        lock (_sync)
        {
            _held.Remove(timer);
        }
    }

    private sealed class HeldTimer(HeldTimersClock clock, TimerCallback callback, object? state) : ITimer
    {
        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period) => true;

        public void Dispose() => clock.Forget(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
