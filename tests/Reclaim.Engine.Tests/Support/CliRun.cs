using System.Text.Json;
using Reclaim.Cli;

namespace Reclaim.Engine.Tests.Support;

/// <summary>The result of running <c>reclaim</c> in-process.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Stdout">Standard output.</param>
/// <param name="Stderr">Standard error.</param>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Stdout parsed as JSON.</summary>
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;

    /// <inheritdoc/>
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>Runs the real command line in-process, with an injected clock.</summary>
public static class CliRun
{
    /// <summary>Runs <c>reclaim ARGS</c>; output is JSON unless <c>--format table</c> is given.</summary>
    /// <param name="clock">The clock the command sees.</param>
    /// <param name="args">The arguments.</param>
    /// <returns>The result.</returns>
    public static async Task<CliResult> RunAsync(TimeProvider clock, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await ReclaimCommandLine.RunAsync(args, stdout, stderr, clock);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}
