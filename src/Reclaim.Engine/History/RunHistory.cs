using Microsoft.Extensions.Logging;
using Reclaim.Core.State;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.History;

/// <summary>History: the runs in state with their actions (each run that ended without its outcomes settled first), and what was removed per day.</summary>
/// <param name="workspace">The config's state.</param>
/// <param name="timeProvider">The clock: which day is today.</param>
/// <param name="loggerFactory">Logging.</param>
internal sealed class RunHistory(Workspace workspace, TimeProvider timeProvider, ILoggerFactory loggerFactory)
{
    /// <summary>The most recent runs, newest first; a listed run that ended without its outcomes is settled first.</summary>
    /// <param name="limit">How many.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The runs.</returns>
    public async Task<IReadOnlyList<RunRecord>> RunsAsync(int limit, CancellationToken cancellationToken)
    {
        var state = await workspace.StateAsync(cancellationToken);
        var runs = await state.ListRunsAsync(limit, cancellationToken);
        var unsettled = (await state.UnsettledRunsAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var settled = false;
        foreach (var run in runs.Where(r => unsettled.Contains(r.Id)))
        {
            settled |= await new RunReconciler(workspace, state, timeProvider, loggerFactory).SettleAsync(run.Id, cancellationToken);
        }

        return settled ? await state.ListRunsAsync(limit, cancellationToken) : runs;
    }

    /// <summary>One run and its actions; a run that ended without its outcomes is settled first.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The run and its actions.</returns>
    /// <exception cref="UsageException">No such run.</exception>
    public async Task<(RunRecord Run, IReadOnlyList<ActionRecord> Actions)> RunAsync(string runId, CancellationToken cancellationToken)
    {
        var state = await workspace.StateAsync(cancellationToken);
        _ = await state.GetRunAsync(runId, cancellationToken) ?? throw new UsageException($"no run '{runId}' (see: reclaim runs)");
        await new RunReconciler(workspace, state, timeProvider, loggerFactory).SettleAsync(runId, cancellationToken);
        var run = await state.GetRunAsync(runId, cancellationToken);
        var actions = new List<ActionRecord>();
        await foreach (var action in state.ListActionsAsync(runId, cancellationToken))
        {
            actions.Add(action);
        }

        return (run!, actions);
    }

    /// <summary>
    /// What runs and the queue removed per UTC day over the last <paramref name="days"/> days (today included), from
    /// the actions recorded in state: deleted and quarantined objects count as removed; restores are shown apart.
    /// </summary>
    /// <param name="days">Days, 1 to 366.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One row per day, oldest first, days without actions included with zeros.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="days"/> is outside 1 to 366.</exception>
    public async Task<IReadOnlyList<ReclaimedDay>> ReclaimedByDayAsync(int days, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(days, 366);
        var today = DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime);
        var first = today.AddDays(1 - days);
        var state = await workspace.StateAsync(cancellationToken);
        var totals = state is IActionHistory history
            ? await history.DoneByDayAsync(new DateTimeOffset(first.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), cancellationToken)
            : [];
        var byDay = totals.ToLookup(t => t.Day);
        return [.. Enumerable.Range(0, days).Select(i =>
        {
            var day = first.AddDays(i);
            long Sum(ActionKind kind, bool bytes) => byDay[day].Where(t => t.Kind == kind).Sum(t => bytes ? t.Bytes : t.Objects);
            return new ReclaimedDay(day, Sum(ActionKind.Delete, false) + Sum(ActionKind.Quarantine, false), Sum(ActionKind.Delete, true), Sum(ActionKind.Quarantine, true), Sum(ActionKind.Restore, true));
        })];
    }
}
