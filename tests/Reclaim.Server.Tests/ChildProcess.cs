using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Reclaim.Server.Tests;

/// <summary>A <c>reclaim</c> command as a child process (the built <c>reclaim.dll</c> beside the tests), its output collected.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _stdout = new();

    private ChildProcess(Process process) => _process = process;

    /// <summary>Every line it wrote so far (stdout and stderr).</summary>
    public IEnumerable<string> Lines => _output;

    /// <summary>Everything it wrote, for failure messages.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>What it wrote on stdout only.</summary>
    public string Stdout => string.Join('\n', _stdout);

    /// <summary>Its process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>dotnet reclaim.dll ARGUMENTS</c>.</summary>
    /// <param name="arguments">The command and its options.</param>
    /// <param name="environment">Variables to set for it, or none.</param>
    /// <returns>The running process.</returns>
    public static ChildProcess Start(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "reclaim.dll"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var child = new ChildProcess(new Process { StartInfo = start });
        child._process.OutputDataReceived += (_, e) =>
        {
            child.Collect(e.Data);
            if (e.Data is not null)
            {
                child._stdout.Enqueue(e.Data);
            }
        };
        child._process.ErrorDataReceived += (_, e) => child.Collect(e.Data);
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>SIGKILL: the process dies at once, without shutting anything down.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM, then waits (at most 60 s) for the exit.</summary>
    /// <returns>The exit code.</returns>
    public async Task<int> StopAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Waits for it to exit by itself, its output read to the end.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The exit code.</returns>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
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

    private void Collect(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }
}
