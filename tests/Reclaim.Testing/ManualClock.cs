namespace Reclaim.Testing;

/// <summary>A clock tests set by hand (Microsoft.Extensions.TimeProvider.Testing is not available here).</summary>
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
