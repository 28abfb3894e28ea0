using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Reclaim.Engine.Tests.Support;

/// <summary>
/// A real <c>reclaim</c> child process: the built command line (<c>reclaim.dll</c>, copied beside the tests) started
/// with <c>dotnet</c>, its output collected. <see cref="Kill"/> is SIGKILL; <see cref="SignalAsync"/> sends SIGINT or
/// SIGTERM as a terminal or a service manager would.
/// </summary>
public sealed class ReclaimProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    private ReclaimProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Everything written on stdout so far.</summary>
    public string Stdout => string.Join('\n', _stdout);

    /// <summary>Everything written on stderr so far.</summary>
    public string Stderr => string.Join('\n', _stderr);

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Starts <c>reclaim ARGS</c> (CI set, so nothing waits for a terminal).</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The running process.</returns>
    public static ReclaimProcess Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "reclaim.dll"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.Environment["CI"] = "true";
        var process = new Process { StartInfo = start };
        var child = new ReclaimProcess(process);
        process.OutputDataReceived += (_, e) => Collect(child._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Collect(child._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>SIGKILL: the process dies at once, in the middle of whatever it does.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    /// <summary>Sends a signal by name (<c>INT</c>, <c>TERM</c>) with <c>kill</c>.</summary>
    /// <param name="signal">The signal's name.</param>
    /// <returns>A task.</returns>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    /// <summary>Waits for the process to exit.</summary>
    /// <param name="seconds">How long at most.</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="TimeoutException">It did not exit in time.</exception>
    public async Task<int> WaitForExitAsync(int seconds = 120)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"reclaim did not exit within {seconds} s\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }

        _process.WaitForExit(); // the output handlers drain
        return _process.ExitCode;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"stdout:\n{Stdout}\nstderr:\n{Stderr}";

    private static void Collect(ConcurrentQueue<string> lines, string? line)
    {
        if (line is not null)
        {
            lines.Enqueue(line);
        }
    }
}
