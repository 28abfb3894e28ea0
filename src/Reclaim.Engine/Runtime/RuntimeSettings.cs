using System.Runtime;
using Microsoft.Extensions.Logging;

namespace Reclaim.Engine.Runtime;

/// <summary>
/// The garbage collector and code generation settings this process runs with, as the runtime reports them: the
/// collector's mode from <see cref="GCSettings"/>, the rest from the process's runtime configuration
/// (<c>reclaim.runtimeconfig.json</c>, read through <see cref="AppContext.GetData(string)"/>) or the matching
/// <c>DOTNET_*</c> environment variable, which takes precedence; <c>default</c> where neither sets one.
/// </summary>
/// <param name="GarbageCollector"><c>workstation</c> or <c>server</c>.</param>
/// <param name="ConcurrentGc">Whether background (concurrent) collections are on: <c>System.GC.Concurrent</c>, <c>true</c> by default.</param>
/// <param name="LatencyMode">The collector's latency mode now (<c>Interactive</c> with concurrent collections, <c>Batch</c> without).</param>
/// <param name="TieredCompilation"><c>System.Runtime.TieredCompilation</c>: <c>true</c>, <c>false</c> or <c>default</c>.</param>
/// <param name="TieredPgo"><c>System.Runtime.TieredPGO</c>: <c>true</c>, <c>false</c> or <c>default</c>.</param>
/// <param name="ThreadPoolSpinLimit"><c>System.Threading.ThreadPool.UnfairSemaphoreSpinLimit</c>: a number or <c>default</c>.</param>
public sealed record RuntimeSettings(string GarbageCollector, bool ConcurrentGc, string LatencyMode, string TieredCompilation, string TieredPgo, string ThreadPoolSpinLimit)
{
    /// <summary>The settings of the running process.</summary>
    /// <returns>The settings.</returns>
    public static RuntimeSettings Current() => new(
        GCSettings.IsServerGC ? "server" : "workstation",
        !string.Equals(Setting("System.GC.Concurrent", "DOTNET_gcConcurrent"), "false", StringComparison.Ordinal),
        GCSettings.LatencyMode.ToString(),
        Setting("System.Runtime.TieredCompilation", "DOTNET_TieredCompilation"),
        Setting("System.Runtime.TieredPGO", "DOTNET_TieredPGO"),
        Setting("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"));

    /// <summary>Logs the settings and the process id at debug level (event <c>runtime_settings</c>), for a long-running command's first lines.</summary>
    /// <param name="logger">The logger.</param>
    public void Log(ILogger logger) => RuntimeLog.Settings(logger, Environment.ProcessId, GarbageCollector, ConcurrentGc, LatencyMode, TieredCompilation, TieredPgo, ThreadPoolSpinLimit);

    /// <summary>
    /// A setting's <c>DOTNET_</c> environment variable (<c>0</c>/<c>1</c> read as booleans), which takes precedence since
    /// .NET 9, else its runtime config property, else <c>default</c>.
    /// </summary>
    private static string Setting(string property, string variable) => Environment.GetEnvironmentVariable(variable) switch
    {
        null or "" => AppContext.GetData(property) is { } value ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!.ToLowerInvariant() : "default",
        "0" => "false",
        "1" => "true",
        var other => other.ToLowerInvariant(),
    };
}

/// <summary>The log event of <see cref="RuntimeSettings"/> (source-generated).</summary>
internal static partial class RuntimeLog
{
    [LoggerMessage(5001, LogLevel.Debug, "Runtime of process {ProcessId}: {GarbageCollector} GC, concurrent {ConcurrentGc}, latency mode {LatencyMode}, tiered compilation {TieredCompilation}, tiered PGO {TieredPgo}, thread pool spin limit {ThreadPoolSpinLimit}", EventName = "runtime_settings")]
    public static partial void Settings(ILogger logger, int processId, string garbageCollector, bool concurrentGc, string latencyMode, string tieredCompilation, string tieredPgo, string threadPoolSpinLimit);
}
