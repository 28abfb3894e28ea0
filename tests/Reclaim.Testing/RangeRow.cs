using System.Globalization;

namespace Reclaim.Testing;

/// <summary>One key range of a partitioned run as the state holds it (<c>reclaim_partition_ranges</c>).</summary>
/// <param name="Index">The range, 0 to 15.</param>
/// <param name="Phase"><c>pending</c>, <c>planned</c> or <c>applied</c>.</param>
/// <param name="Owner">The participant holding its lease (<c>host:pid:start#I</c>), or <see langword="null"/>.</param>
/// <param name="PlannedBy">The participant that recorded its plan, or <see langword="null"/>.</param>
/// <param name="ApplyRunId">The run applying or having applied it, or <see langword="null"/>.</param>
/// <param name="AppliedBy">The participant that applied it, or <see langword="null"/>.</param>
/// <param name="Takeovers">How often its lease was taken over.</param>
/// <param name="Plan">Its plan's JSON, or <see langword="null"/>.</param>
public sealed record RangeRow(int Index, string Phase, string? Owner, string? PlannedBy, string? ApplyRunId, string? AppliedBy, int Takeovers, string? Plan)
{
    /// <summary>Reads a run's ranges in index order.</summary>
    /// <param name="query">Runs a query on the state database; every column as text.</param>
    /// <param name="runKey">The run's key (a test's own text, put in the SQL as it is).</param>
    /// <returns>The ranges; none before the run is recorded.</returns>
    public static async Task<List<RangeRow>> ReadAsync(Func<string, Task<List<string?[]>>> query, string runKey)
    {
        ArgumentNullException.ThrowIfNull(query);
        var rows = await query($"SELECT range_index, phase, owner, planned_by, apply_run_id, applied_by, takeovers, plan FROM reclaim_partition_ranges WHERE run_key = '{runKey}' ORDER BY range_index").ConfigureAwait(false);
        return [.. rows.Select(r => new RangeRow(int.Parse(r[0]!, CultureInfo.InvariantCulture), r[1]!, r[2], r[3], r[4], r[5], int.Parse(r[6]!, CultureInfo.InvariantCulture), r[7]))];
    }

    /// <summary>The process id in a participant's text (<c>host:pid:start#I</c>).</summary>
    /// <param name="participant">The text, or <see langword="null"/>.</param>
    /// <returns>The process id; 0 for <see langword="null"/>.</returns>
    public static int Pid(string? participant) => participant is null ? 0 : int.Parse(participant.Split(':')[^2], CultureInfo.InvariantCulture);
}

/// <summary>Two participants (processes) of one partitioned run, made to share it whatever their speeds.</summary>
public static class TwoParticipants
{
    /// <summary>
    /// Makes both participants plan a range of the run: once either has planned one, both are frozen (SIGSTOP); if only
    /// one has, the other alone is let go on until it has planned one of the ranges nobody holds, then both go on. Without it, a participant that starts late or runs slowly under load may find
    /// every range already planned by the other.
    /// </summary>
    /// <param name="ranges">Reads the run's ranges.</param>
    /// <param name="first">One participant's process id.</param>
    /// <param name="second">The other's.</param>
    /// <param name="seconds">How long each wait may take, in seconds.</param>
    /// <param name="logs">The processes' output, for failure messages.</param>
    /// <returns>A task that ends with both running.</returns>
    /// <exception cref="TimeoutException">A participant did not plan a range in time.</exception>
    /// <exception cref="InvalidOperationException">The first to plan had left no range for the other before it was frozen.</exception>
    public static async Task BothPlanARangeAsync(Func<Task<List<RangeRow>>> ranges, int first, int second, int seconds, Func<string> logs)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentNullException.ThrowIfNull(logs);
        await Polling.FreezeWhenAsync([first, second], async () => (await ranges().ConfigureAwait(false)).Any(r => r.PlannedBy != null), seconds,
            () => $"a participant to plan a range\n{logs()}").ConfigureAwait(false);
        var seen = await ranges().ConfigureAwait(false);
        var planners = seen.Where(r => r.PlannedBy != null).Select(r => RangeRow.Pid(r.PlannedBy)).ToHashSet();
        if (planners.Contains(first) && planners.Contains(second))
        {
            await Polling.ResumeAsync(first, second).ConfigureAwait(false);
            return;
        }

        var ahead = planners.Contains(first) ? first : second;
        var behind = ahead == first ? second : first;
        try
        {
            if (!seen.Any(r => r.Phase == "pending" && r.Owner is null))
            {
                throw new InvalidOperationException($"participant {ahead} planned every range before it could be frozen\n{logs()}");
            }

            await Polling.ResumeAsync(behind).ConfigureAwait(false);
            await Polling.WaitForAsync(async () => (await ranges().ConfigureAwait(false)).Any(r => RangeRow.Pid(r.PlannedBy) == behind), seconds,
                () => $"participant {behind} to plan a range while {ahead} is frozen\n{logs()}").ConfigureAwait(false);
        }
        finally
        {
            await Polling.ResumeAsync(first, second).ConfigureAwait(false);
        }
    }
}
