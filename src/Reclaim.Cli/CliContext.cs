using Microsoft.Extensions.Logging;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Storage;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Runtime;
using Reclaim.Server;

namespace Reclaim.Cli;

/// <summary>What every command shares: options, output, the engine, and the mapping of errors to exit codes.</summary>
/// <param name="ConfigPath">The config file (<c>-c</c>).</param>
/// <param name="Json">Whether output is JSON (<c>--format json</c>, or stdout is not a terminal).</param>
/// <param name="Verbose">Whether to log at debug level.</param>
/// <param name="Out">Standard output.</param>
/// <param name="Error">Standard error.</param>
internal sealed record CliContext(string ConfigPath, bool Json, bool Verbose, TextWriter Out, TextWriter Error)
{
    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Whether a person can answer a prompt: stdin and stderr are terminals and CI is not set.</summary>
    public bool Interactive { get; init; } =
        !Console.IsInputRedirected && !Console.IsErrorRedirected &&
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>Who runs the command, recorded as the actor.</summary>
    public static string Actor => $"cli:{Environment.UserName}@{Environment.MachineName}";

    /// <summary>Creates the logger factory: everything to stderr, warnings and up unless verbose.</summary>
    /// <returns>The factory.</returns>
    /// <param name="minimum">The least level logged when not verbose (default warnings).</param>
    public ILoggerFactory CreateLoggerFactory(LogLevel minimum = LogLevel.Warning) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(Verbose ? LogLevel.Debug : minimum);
        builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        if (Json && minimum < LogLevel.Warning)
        {
            // Long-running commands (the worker) log structured events: one JSON object a line, with the event name.
            builder.AddEventJsonConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        }
        else
        {
            builder.AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = "HH:mm:ss ";
            });
        }

        builder.AddFilter("Microsoft", LogLevel.Warning);
    });

    /// <summary>
    /// Loads the config, opens a workspace and runs <paramref name="body"/>, mapping errors to exit codes and
    /// clear messages on stderr.
    /// </summary>
    /// <param name="body">The command.</param>
    /// <returns>The exit code.</returns>
    /// <param name="minimum">The least level logged when not verbose (default warnings).</param>
    public Task<int> RunAsync(Func<ReclaimEngine, Task<int>> body, LogLevel minimum = LogLevel.Warning) => RunAsync((engine, _) => body(engine), minimum);

    /// <summary>As <see cref="RunAsync(Func{ReclaimEngine, Task{int}}, LogLevel)"/>, handing the command the logger factory too.</summary>
    /// <param name="body">The command.</param>
    /// <returns>The exit code.</returns>
    /// <param name="minimum">The least level logged when not verbose.</param>
    public async Task<int> RunAsync(Func<ReclaimEngine, ILoggerFactory, Task<int>> body, LogLevel minimum)
    {
        // Logging is set up only when something is logged: a command that logs nothing starts some 40 ms sooner.
        using var loggerFactory = new DeferredLoggerFactory(() => CreateLoggerFactory(minimum), Verbose ? LogLevel.Debug : minimum);
        return await GuardedAsync(async () =>
        {
            var config = ConfigLoader.Load(ConfigPath);
            await using var workspace = new Workspace(config, loggerFactory);
            var engine = new ReclaimEngine(workspace, Time, loggerFactory);
            return await body(engine, loggerFactory);
        });
    }

    /// <summary>Runs <paramref name="body"/>, mapping errors to exit codes.</summary>
    /// <param name="body">The command.</param>
    /// <returns>The exit code.</returns>
    public async Task<int> GuardedAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (ConfigException e)
        {
            ClearProgress();
            foreach (var error in e.Errors)
            {
                Error.WriteLine($"error: {error}");
            }

            return ExitCodes.Usage;
        }
        catch (Exception e) when (e is UsageException or PlanFileException or InvalidKeyException or DirectoryNotFoundException or Stores.Inventory.InventoryException)
        {
            ClearProgress();
            Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (GuardRefusedException e)
        {
            ClearProgress();
            Error.WriteLine($"refused: {e.Message}");
            Error.WriteLine("nothing was touched.");
            return ExitCodes.Refused;
        }
        catch (CatalogException e)
        {
            ClearProgress();
            Error.WriteLine($"error: {e.Message}");
            Error.WriteLine("nothing further was touched: a catalog that cannot be read never means 'nothing is referenced'.");
            return ExitCodes.Failed;
        }
        catch (OperationCanceledException)
        {
            ClearProgress();
            Error.WriteLine("cancelled.");
            return ExitCodes.Failed;
        }
        catch (Exception e)
        {
            ClearProgress();
            Error.WriteLine($"error: {e.Message}");
            if (Verbose)
            {
                Error.WriteLine(e.ToString());
            }

            return ExitCodes.Failed;
        }
    }

    /// <summary>Asks for confirmation on a terminal; without one, refuses.</summary>
    /// <param name="question">The question.</param>
    /// <returns><see langword="true"/> when the person typed yes.</returns>
    public bool Confirm(string question)
    {
        if (!Interactive)
        {
            Error.WriteLine("error: no terminal to confirm on; pass --yes to apply without confirmation.");
            return false;
        }

        Error.Write($"{question} [y/N] ");
        var answer = Console.ReadLine()?.Trim();
        return string.Equals(answer, "y", StringComparison.OrdinalIgnoreCase) || string.Equals(answer, "yes", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Progress on stderr once a listing has run for 2 seconds: objects, rate, references read, bytes sized.</summary>
    /// <returns>The progress sink (one per command: every call returns the same line).</returns>
    public IProgress<ScanProgress> Progress() => _progress;

    /// <summary>Erases the progress line from a terminal, if one is showing, so that what follows starts on a clean line.</summary>
    public void ClearProgress() => _progress.Clear();

    private readonly ProgressLine _progress = new(Error, !Console.IsErrorRedirected);

    /// <summary>
    /// The progress line: on a terminal, rewritten in place (cut to the terminal's width, so that a carriage return
    /// goes back to its start) and erased before the result; elsewhere a line every 10 seconds.
    /// </summary>
    private sealed class ProgressLine(TextWriter error, bool terminal) : IProgress<ScanProgress>
    {
        private readonly Lock _sync = new();
        private TimeSpan _last = TimeSpan.Zero;
        private int _shown;

        public void Report(ScanProgress value)
        {
            if (value.Elapsed < TimeSpan.FromSeconds(2) || value.Elapsed - _last < TimeSpan.FromSeconds(terminal ? 0.5 : 10))
            {
                return;
            }

            _last = value.Elapsed;
            var line = Text(value);
            lock (_sync)
            {
                if (!terminal)
                {
                    error.WriteLine(line);
                    return;
                }

                var width = Format.TerminalWidth(TerminalWidth()) - 1;
                if (line.Length > width)
                {
                    line = line[..Math.Max(0, width - 1)] + "…";
                }

                error.Write("\r" + line.PadRight(_shown));
                _shown = line.Length;
            }
        }

        public void Clear()
        {
            lock (_sync)
            {
                if (_shown > 0)
                {
                    error.Write("\r" + new string(' ', _shown) + "\r");
                    _shown = 0;
                }
            }
        }

        /// <summary>
        /// What the line says. Bytes appear only once some object's size is known: a folder store's plan reads sizes
        /// only of the objects no reference covers, after the listing, so a "0 B" there would not be true.
        /// </summary>
        private static string Text(ScanProgress value)
        {
            var text = $"{value.Policy}: {Format.Count(value.ObjectsScanned)} objects listed ({Format.Count((long)value.ObjectsPerSecond)}/s)";
            if (value.ReferencesRead > 0)
            {
                text += $", {Format.Count(value.ReferencesRead)} references read";
            }

            if (value.BytesScanned > 0)
            {
                text += $", {Format.Bytes(value.BytesScanned)} sized";
            }

            return text;
        }

        private static int? TerminalWidth()
        {
            try
            {
                return Console.WindowWidth;
            }
            catch (IOException)
            {
                return null;
            }
        }
    }
}
