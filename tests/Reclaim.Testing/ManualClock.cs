namespace Reclaim.Testing;

/// <summary>
/// A wall clock tests set by hand, whose timers, delays and timestamps run in real time: for whole command runs
/// (a sweep, a worker cycle, a server) whose grace periods and retention read the date, while their poll delays,
/// heartbeats and the gate's measured windows need time to pass. <c>FakeTimeProvider</c> cannot stand in there: its
/// timers fire and its timestamps move only when a test advances it, so a worker's poll delay would never end. Tests
/// of one component that only reads the date use <c>FakeTimeProvider</c>.
/// </summary>
/// <param name="now">The initial time.</param>
public sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    private DateTimeOffset _now = now;

    /// <summary>A clock at 2026-06-01T12:00:00Z.</summary>
    public ManualClock()
        : this(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero))
    {
    }

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => _now;

    /// <summary>Moves the clock forward.</summary>
    /// <param name="by">How far.</param>
    public void Advance(TimeSpan by) => _now += by;
}
