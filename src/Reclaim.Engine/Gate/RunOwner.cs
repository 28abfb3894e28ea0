using System.Diagnostics;
using System.Globalization;
using Reclaim.Core.State;

namespace Reclaim.Engine.Gate;

/// <summary>
/// Who runs a run: <c>host:pid:start</c>, the machine, the process id and the process's start time (Unix
/// milliseconds, so that a pid the system has handed to a new process is not taken for the old one). A running run
/// whose owner is gone ended without recording its outcomes, and is settled from the store's state by the next
/// command that touches it.
/// </summary>
public static class RunOwner
{
    /// <summary>How often a running run records that its process is alive: every 15 seconds.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a run on another machine may go without a heartbeat before it is taken for dead: 2 minutes (eight
    /// missed heartbeats). A run on this machine is judged by its process instead.
    /// </summary>
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    /// <summary>Two start times of one process may be read this far apart (the kernel counts in clock ticks from boot).</summary>
    private static readonly TimeSpan StartTimeTolerance = TimeSpan.FromSeconds(2);

    private static readonly Lazy<string> CurrentOwner = new(() =>
    {
        using var self = Process.GetCurrentProcess();
        return Format(Environment.MachineName, self.Id, StartOf(self));
    });

    /// <summary>This process, as a run's owner.</summary>
    public static string Current => CurrentOwner.Value;

    /// <summary>Whether <paramref name="run"/>, recorded as running, has a live owner.</summary>
    /// <param name="run">A run whose status is <see cref="RunStatus.Running"/>.</param>
    /// <param name="now">Now, UTC (from the engine's clock).</param>
    /// <returns>
    /// <see langword="false"/> when its owner is on this machine and that process is gone (or the pid belongs to
    /// another process now), or when its owner is elsewhere (or unknown) and its last heartbeat (or start) is older
    /// than <see cref="Lease"/>; otherwise <see langword="true"/>.
    /// </returns>
    public static bool IsAlive(RunRecord run, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (TryParse(run.Owner, out var host, out var pid, out var start) && string.Equals(host, Environment.MachineName, StringComparison.Ordinal))
        {
            return IsRunning(pid, start);
        }

        return now - (run.HeartbeatAt ?? run.StartedAt) <= Lease;
    }

    private static bool IsRunning(int pid, DateTimeOffset start)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && (StartOf(process) - start).Duration() <= StartTimeTolerance;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return false; // no such process, or it exited while being read
        }
    }

    private static DateTimeOffset StartOf(Process process) => new DateTimeOffset(process.StartTime.ToUniversalTime(), TimeSpan.Zero);

    private static string Format(string host, int pid, DateTimeOffset start) =>
        string.Create(CultureInfo.InvariantCulture, $"{host}:{pid}:{start.ToUnixTimeMilliseconds()}");

    private static bool TryParse(string? owner, out string host, out int pid, out DateTimeOffset start)
    {
        host = string.Empty;
        pid = 0;
        start = default;
        var parts = owner?.Split(':');
        if (parts is not { Length: 3 } || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out pid) ||
            !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            return false;
        }

        host = parts[0];
        start = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        return true;
    }
}
