using System.Text.Json;
using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>
/// <c>reclaim serve</c> and <c>reclaim worker</c>, which run for days, run on the runtime's default garbage collector
/// and code generation settings (none of the settings that pay for a plan that runs for seconds): each real process
/// logs the settings it runs with at start (<c>-v</c>, event <c>runtime_settings</c>), as the runtime reports them,
/// and its process id, which is still the one started (a service manager watches that process).
/// </summary>
public sealed class RuntimeDefaultsTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("runtime-defaults");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Serve_RunsOnTheRuntimesDefaultGcAndCodeGeneration()
    {
        var config = await ServiceHostingTests.WriteConfigAsync(_folder);

        await using var serve = await ServeProcess.StartAsync("runtime", config, arguments: ["-v"]);
        await Polling.WaitForAsync(() => Task.FromResult(RuntimeSettings(serve.Output) is not null), 30, () => $"the runtime_settings line:\n{serve.Output}");

        var settings = RuntimeSettings(serve.Output)!.Value;
        RuntimeDefaults(settings);
        settings.GetProperty("ProcessId").GetInt32().Should().Be(serve.ProcessId, "the process a service manager started serves: " + settings.GetRawText());
        (await serve.StopAsync()).Should().Be(0, serve.Output);
    }

    [Fact]
    public async Task Worker_RunsOnTheRuntimesDefaultGcAndCodeGeneration()
    {
        var config = await ServiceHostingTests.WriteConfigAsync(_folder);
        using var socket = new ServiceHostingTests.NotifySocket();

        await using var worker = ReclaimProcess.Start(["worker", "-c", config, "--format", "json", "-v"], socket.Environment(watchdogUsec: 400_000));
        await socket.WaitForAsync(m => m.Contains("READY=1"), "READY=1", worker);
        await socket.WaitForAsync(m => m.Count(x => x == "WATCHDOG=1") >= 3, "three WATCHDOG=1 pings (every 200 ms)", worker);
        await Polling.WaitForAsync(() => Task.FromResult(RuntimeSettings(worker.Output) is not null), 30, () => $"the runtime_settings line:\n{worker.Output}");

        var settings = RuntimeSettings(worker.Output)!.Value;
        RuntimeDefaults(settings);
        settings.GetProperty("ProcessId").GetInt32().Should().Be(worker.Id, "the process a service manager started works the queue: " + settings.GetRawText());
        (await worker.StopAsync()).Should().Be(0, worker.Output);
    }

    /// <summary>What a long-running process must run on: the runtime's defaults, none of a benchmark's settings.</summary>
    private static void RuntimeDefaults(JsonElement settings)
    {
        var text = settings.GetRawText();
        settings.GetProperty("GarbageCollector").GetString().Should().Be("workstation", text);
        settings.GetProperty("ConcurrentGc").GetBoolean().Should().BeTrue("background collections keep pauses short in a process that runs for days: " + text);
        settings.GetProperty("LatencyMode").GetString().Should().Be("Interactive", text);
        settings.GetProperty("TieredCompilation").GetString().Should().BeOneOf(["default", "true"], text);
        settings.GetProperty("TieredPgo").GetString().Should().BeOneOf(["default", "true"], "profile-guided optimisation pays in a process that runs for days: " + text);
        settings.GetProperty("ThreadPoolSpinLimit").GetString().Should().Be("default", text);
    }

    /// <summary>The <c>State</c> of the <c>runtime_settings</c> event (id 5001) among JSON log lines, or <see langword="null"/>.</summary>
    private static JsonElement? RuntimeSettings(string output)
    {
        foreach (var line in output.Split('\n'))
        {
            if (!line.StartsWith('{') || !line.Contains("\"EventId\":5001", StringComparison.Ordinal))
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            return document.RootElement.GetProperty("State").Clone();
        }

        return null;
    }
}
