using System.Collections.Concurrent;
using System.Diagnostics;

namespace Reclaim.Testing;

/// <summary>
/// A real <c>reclaim</c> command (<c>sweep</c>, <c>worker</c>, <c>serve</c>…) as a child process: the built command line
/// (<c>reclaim.dll</c>, copied beside the tests by the test project's reference to the CLI) started with <c>dotnet</c>,
/// with <c>CI=true</c> and a standard input of its own, so that nothing in it waits for a terminal. Its output is
/// collected line by line as it comes. <see cref="Kill"/> is SIGKILL; <see cref="SignalAsync"/> sends SIGINT or SIGTERM
/// as a terminal or a service manager would; <see cref="Polling.FreezeWhenAsync"/> freezes it by <see cref="Id"/>.
/// </summary>
public sealed class ReclaimProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    private ReclaimProcess(Process process) => _process = process;

    /// <summary>Every line it wrote so far, stdout and stderr in the order they were read.</summary>
    public IEnumerable<string> Lines => _output;

    /// <summary>Everything it wrote so far (stdout and stderr), one line a line, for logs and failure messages.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Everything it wrote on stdout so far.</summary>
    public string Stdout => string.Join('\n', _stdout);

    /// <summary>Everything it wrote on stderr so far.</summary>
    public string Stderr => string.Join('\n', _stderr);

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Its process id.</summary>
    public int Id => _process.Id;

    /// <summary>Starts <c>reclaim ARGUMENTS</c>.</summary>
    /// <param name="arguments">The command and its options.</param>
    /// <returns>The running process.</returns>
    public static ReclaimProcess Start(params string[] arguments) => Start(arguments, null);

    /// <summary>Starts <c>reclaim ARGUMENTS</c> with more environment variables.</summary>
    /// <param name="arguments">The command and its options.</param>
    /// <param name="environment">Variables to set for it (over the test's own and <c>CI=true</c>), or none.</param>
    /// <returns>The running process.</returns>
    public static ReclaimProcess Start(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "reclaim.dll"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.Environment["CI"] = "true";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var child = new ReclaimProcess(new Process { StartInfo = start });
        child._process.OutputDataReceived += (_, e) => child.Collect(child._stdout, e.Data);
        child._process.ErrorDataReceived += (_, e) => child.Collect(child._stderr, e.Data);
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>SIGKILL: the process (and any child of its) dies at once, in the middle of whatever it does.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    /// <summary>Sends a signal by name (<c>INT</c>, <c>TERM</c>, <c>STOP</c>, <c>CONT</c>) with <c>kill</c>.</summary>
    /// <param name="signal">The signal's name.</param>
    /// <returns>A task that completes once <c>kill</c> has sent it.</returns>
    public Task SignalAsync(string signal) => Polling.SignalAsync([_process.Id], signal);

    /// <summary>SIGTERM, then waits at most 60 s for the exit.</summary>
    /// <returns>The exit code.</returns>
    /// <exception cref="OperationCanceledException">It did not exit within 60 s.</exception>
    public async Task<int> StopAsync()
    {
        await SignalAsync("TERM").ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await WaitForExitAsync(timeout.Token).ConfigureAwait(false);
    }

    /// <summary>Waits for it to exit by itself, its output read to the end.</summary>
    /// <param name="seconds">How long at most, in seconds; default 120.</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="TimeoutException">It did not exit in time (the message carries its output).</exception>
    public async Task<int> WaitForExitAsync(int seconds = 120)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            return await WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"reclaim did not exit within {seconds} s\n{this}");
        }
    }

    /// <summary>Waits for it to exit by itself, its output read to the end.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        _process.WaitForExit(); // the output handlers drain
        return _process.ExitCode;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"stdout:\n{Stdout}\nstderr:\n{Stderr}";

    private void Collect(ConcurrentQueue<string> stream, string? line)
    {
        if (line is not null)
        {
            stream.Enqueue(line);
            _output.Enqueue(line);
        }
    }
}
