using System.Collections;
using System.Runtime.InteropServices;

namespace Reclaim.Cli;

/// <summary>
/// Keeps <c>reclaim serve</c> and <c>reclaim worker</c> on the runtime's defaults. This executable's runtime config
/// (<c>reclaim.runtimeconfig.json</c>) turns tiered PGO off, which pays for a command that runs for seconds
/// (bench/results/ab-micro-optimisations.md) but is not how a process that runs for days should run. The runtime reads
/// the setting once, as it starts, so a long-running command starts the program again in the same process
/// (<c>execve(2)</c>: the same process id, as a service manager expects, and the same arguments) with the
/// <c>DOTNET_</c> variable that restores the default, which takes precedence over the runtime config (.NET 9 and later).
/// </summary>
/// <remarks>
/// Linux only (the arguments come from <c>/proc/self/cmdline</c>); elsewhere, or where <c>execve</c> fails, the command
/// runs on as it started. A variable the caller already set is left as it is.
/// </remarks>
internal static partial class LongRunningCommands
{
    /// <summary>The runtime config properties this executable sets away from the default, and the variable and value that restore it.</summary>
    private static readonly (string Property, string Variable, string Default)[] Restored =
    [
        ("System.Runtime.TieredPGO", "DOTNET_TieredPGO", "1"),
    ];

    /// <summary>When <paramref name="args"/> name a long-running command and the runtime is not on its defaults, starts again on them; otherwise returns.</summary>
    /// <param name="args">The command line's arguments.</param>
    public static void RestartOnRuntimeDefaults(string[] args)
    {
        if (!OperatingSystem.IsLinux() || !IsLongRunning(args) || Environment.ProcessPath is not { } program)
        {
            return;
        }

        var overrides = Restored
            .Where(r => AppContext.GetData(r.Property) is { } value && !IsTrue(value) && Environment.GetEnvironmentVariable(r.Variable) is null)
            .ToList();
        if (overrides.Count == 0)
        {
            return;
        }

        string[] argv;
        try
        {
            argv = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0');
        }
        catch (IOException)
        {
            return;
        }

        var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>().Select(e => $"{e.Key}={e.Value}")
            .Concat(overrides.Select(o => $"{o.Variable}={o.Default}"));
        Execute(program, argv, [.. environment]);
    }

    /// <summary>Whether the command is <c>serve</c> or <c>worker</c>: the first argument that is neither an option nor the value of <c>-c</c>/<c>--config</c>/<c>--format</c>.</summary>
    /// <param name="args">The command line's arguments.</param>
    /// <returns><see langword="true"/> for <c>serve</c> and <c>worker</c>.</returns>
    internal static bool IsLongRunning(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is "-c" or "--config" or "--format")
            {
                i++;
            }
            else if (!args[i].StartsWith('-'))
            {
                return args[i] is "serve" or "worker";
            }
        }

        return false;
    }

    private static bool IsTrue(object value) => value.ToString() is { } text && (text == "1" || text.Equals("true", StringComparison.OrdinalIgnoreCase));

    /// <summary>Replaces the process image; returns only when <c>execve</c> failed.</summary>
    private static void Execute(string program, string[] argv, string[] environment)
    {
        var pointers = new List<nint>();
        nint[] Strings(string[] values)
        {
            var array = new nint[values.Length + 1];
            for (var i = 0; i < values.Length; i++)
            {
                array[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
                pointers.Add(array[i]);
            }

            return array;
        }

        try
        {
            _ = Execve(program, Strings(argv), Strings(environment));
        }
        finally
        {
            pointers.ForEach(Marshal.FreeCoTaskMem);
        }
    }

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Execve(string path, nint[] argv, nint[] envp);
}
