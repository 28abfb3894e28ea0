namespace Reclaim.Core.State;

/// <summary>The actions of one kind done on one UTC day, added up.</summary>
/// <param name="Day">The UTC calendar day.</param>
/// <param name="Kind">What the actions did.</param>
/// <param name="Objects">How many actions (one per object).</param>
/// <param name="Bytes">The objects' sizes added up, in bytes.</param>
public sealed record DailyActionTotals(DateOnly Day, ActionKind Kind, long Objects, long Bytes);

/// <summary>Totals over recorded actions, for charts of what Reclaim removed over time.</summary>
public interface IActionHistory
{
    /// <summary>Actions done (outcome <see cref="ActionOutcome.Done"/>) at or after <paramref name="from"/>, per UTC day and kind.</summary>
    /// <param name="from">The earliest action time counted, UTC.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One row per day and kind that had actions, in no particular order; days without actions have no row.</returns>
    Task<IReadOnlyList<DailyActionTotals>> DoneByDayAsync(DateTimeOffset from, CancellationToken cancellationToken);
}
