using System.Diagnostics;
using System.Globalization;

namespace Reclaim.Testing;

/// <summary>
/// Waiting for a state that child processes (<c>reclaim serve</c>, <c>worker</c>, <c>sweep</c>) pass through, and holding
/// them in it: a test that only polls for a passing state and then acts on it (kills a process, asserts on it) races
/// the processes, which may have left the state by then, the more so under load. Freezing them (SIGSTOP) and reading
/// the state again makes the test see what it acts on.
/// </summary>
public static class Polling
{
    /// <summary>Polls <paramref name="condition"/> until it holds.</summary>
    /// <param name="condition">The condition.</param>
    /// <param name="seconds">How long to wait, in seconds.</param>
    /// <param name="what">What is awaited, for the failure message.</param>
    /// <param name="pollMilliseconds">The pause between two looks, in milliseconds; default 100.</param>
    /// <returns>A task.</returns>
    /// <exception cref="TimeoutException">It did not hold in time.</exception>
    public static async Task WaitForAsync(Func<Task<bool>> condition, int seconds, Func<string> what, int pollMilliseconds = 100)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(what);
        var clock = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                throw new TimeoutException($"waited {seconds} s for {what()}");
            }

            await Task.Delay(pollMilliseconds).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds and freezes the processes <paramref name="processIds"/> (SIGSTOP)
    /// in that state: a process seen holding a lease can finish its work before a kill lands, so the state is read again
    /// once they are frozen, and they are let go on (SIGCONT) when it changed in between. The caller kills them or lets
    /// them go on (<see cref="ResumeAsync"/>).
    /// </summary>
    /// <param name="processIds">The processes to freeze.</param>
    /// <param name="condition">The state to freeze them in.</param>
    /// <param name="seconds">How long at most, in seconds.</param>
    /// <param name="what">What is waited for, for the timeout's message.</param>
    /// <param name="pollMilliseconds">The pause between two looks while waiting, in milliseconds; default 100.</param>
    /// <returns>A task.</returns>
    /// <exception cref="TimeoutException">The state was not seen with the processes frozen in time.</exception>
    public static async Task FreezeWhenAsync(IReadOnlyList<int> processIds, Func<Task<bool>> condition, int seconds, Func<string> what, int pollMilliseconds = 100)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = (int)Math.Max(1, seconds - clock.Elapsed.TotalSeconds);
            await WaitForAsync(condition, left, what, pollMilliseconds).ConfigureAwait(false);
            await SignalAsync(processIds, "STOP").ConfigureAwait(false);
            await Task.Delay(100).ConfigureAwait(false); // delivered: what they had sent is committed or not
            if (await condition().ConfigureAwait(false))
            {
                return;
            }

            await SignalAsync(processIds, "CONT").ConfigureAwait(false);
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                throw new TimeoutException($"waited {seconds} s to freeze the processes while {what()}");
            }
        }
    }

    /// <summary>Lets frozen processes go on (SIGCONT).</summary>
    /// <param name="processIds">The processes.</param>
    /// <returns>A task.</returns>
    public static Task ResumeAsync(params int[] processIds) => SignalAsync(processIds, "CONT");

    /// <summary>Sends a signal with <c>kill</c>; a frozen process receives it once it goes on.</summary>
    /// <param name="processIds">The processes.</param>
    /// <param name="signal">The signal's name: <c>STOP</c>, <c>CONT</c>, <c>TERM</c>.</param>
    /// <returns>A task.</returns>
    public static async Task SignalAsync(IReadOnlyList<int> processIds, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", .. processIds.Select(id => id.ToString(CultureInfo.InvariantCulture))]);
        await kill.WaitForExitAsync().ConfigureAwait(false);
    }
}
