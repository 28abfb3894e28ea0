using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>
/// Every JSON log line of <c>reclaim serve</c> and <c>reclaim worker</c> names its event next to its id
/// (<c>"EventId": 4005, "event": "cleanup_complete"</c>), under the names of the worker Reclaim replaces.
/// </summary>
public sealed class EventNameLogTests
{
    private static readonly string[] WorkerEvents = ["job_dequeue", "cleanup_start", "cleanup_complete", "job_cycle_complete"];

    [Fact]
    public void Formatter_WritesTheEventNameNextToItsId_AndTheStateTyped()
    {
        var formatter = new EventJsonConsoleFormatter(new StaticOptions(new JsonConsoleFormatterOptions()));
        using var writer = new StringWriter();
        var state = new List<KeyValuePair<string, object?>> { new("RequestId", "42"), new("ObjectCount", 3L), new("Final", true), new("{OriginalFormat}", "request {RequestId}") };

        formatter.Write(new LogEntry<IReadOnlyList<KeyValuePair<string, object?>>>(LogLevel.Information, "Reclaim.Engine", new EventId(4005, "cleanup_complete"), state, null, (s, _) => "request 42"), null, writer);

        var line = writer.ToString();
        line.Should().Contain("\"EventId\":4005,\"event\":\"cleanup_complete\"");
        var json = JsonNode.Parse(line)!;
        json["LogLevel"]!.GetValue<string>().Should().Be("Information");
        json["Message"]!.GetValue<string>().Should().Be("request 42");
        json["State"]!["ObjectCount"]!.GetValue<long>().Should().Be(3);
        json["State"]!["Final"]!.GetValue<bool>().Should().BeTrue();
        json["State"]!["RequestId"]!.GetValue<string>().Should().Be("42");
    }

    [Fact]
    public void Formatter_UnnamedEvent_HasANullEvent()
    {
        var formatter = new EventJsonConsoleFormatter(new StaticOptions(new JsonConsoleFormatterOptions()));
        using var writer = new StringWriter();

        formatter.Write(new LogEntry<string>(LogLevel.Warning, "Microsoft.Hosting.Lifetime", new EventId(0), "x", null, (s, _) => s), null, writer);

        var json = JsonNode.Parse(writer.ToString())!.AsObject();
        json.ContainsKey("event").Should().BeTrue();
        json["event"].Should().BeNull();
    }

    [Fact]
    public async Task Serve_JsonLogs_NameTheQueueEventsAsTheReplacedWorkerDid()
    {
        using var folder = new TemporaryFolder("reclaim-events");
        await ServerHost.SeedAsync(folder);
        var config = folder.Combine("reclaim.yaml");
        await File.WriteAllTextAsync(config, ServerHost.Yaml(extraYaml: "own_queue:\n  poll_interval: 1s\n"));
        await using var serve = await ServeProcess.StartAsync("events", config);
        using var client = new HttpClient { BaseAddress = serve.Address };
        client.DefaultRequestHeaders.Authorization = new("Bearer", ServerHost.Keys["operator"]);

        using var enqueued = await client.PostAsJsonAsync("api/v1/deletions", new { store = "media", prefixes = new[] { "uploads/gone0/" } });
        enqueued.StatusCode.Should().Be(HttpStatusCode.Accepted, await enqueued.Content.ReadAsStringAsync());
        await Polling.WaitForAsync(() => Task.FromResult(Events(serve.Output).Any(e => e.Event == "job_cycle_complete")), 60, () => $"job_cycle_complete in\n{serve.Output}");

        var events = Events(serve.Output);
        events.Should().NotBeEmpty().And.OnlyContain(e => e.HasEvent, "every JSON line has an \"event\" property");
        events.Should().Contain(e => e.Event == "cleanup_complete" && e.Id == 4005);
        events.Select(e => e.Event).Should().Contain(WorkerEvents);
    }

    [Fact]
    public async Task Worker_JsonLogs_NameTheQueueEventsAsTheReplacedWorkerDid()
    {
        using var folder = new TemporaryFolder("reclaim-events");
        await ServerHost.SeedAsync(folder);
        var config = folder.Combine("reclaim.yaml");
        await File.WriteAllTextAsync(config, ServerHost.Yaml());
        var enqueue = await Cli.ReclaimCommandLine.RunAsync(["enqueue", "--store", "media", "--prefix", "uploads/gone1/", "-c", config, "--format", "json"], new StringWriter(), new StringWriter());
        enqueue.Should().Be(0);

        var cli = Path.Combine(AppContext.BaseDirectory, "reclaim.dll");
        using var process = Process.Start(new ProcessStartInfo("dotnet", [cli, "worker", "--once", "--policy", "reclaim", "-c", config, "--format", "json"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        var logs = await stderr;
        var output = logs + "\n" + await stdout;

        process.ExitCode.Should().Be(0, output);
        var events = Events(logs);
        events.Should().NotBeEmpty(output).And.OnlyContain(e => e.HasEvent);
        events.Should().Contain(e => e.Event == "cleanup_complete" && e.Id == 4005, output);
        events.Select(e => e.Event).Should().Contain(WorkerEvents);
    }

    private static List<(int Id, bool HasEvent, string? Event)> Events(string output) =>
        [.. output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("{\"", StringComparison.Ordinal) && l.EndsWith('}')).Select(l =>
        {
            using var json = JsonDocument.Parse(l);
            var root = json.RootElement;
            var has = root.TryGetProperty("event", out var name);
            return (root.GetProperty("EventId").GetInt32(), has, has && name.ValueKind == JsonValueKind.String ? name.GetString() : null);
        })];

    private sealed class StaticOptions(JsonConsoleFormatterOptions value) : IOptionsMonitor<JsonConsoleFormatterOptions>
    {
        public JsonConsoleFormatterOptions CurrentValue => value;

        public JsonConsoleFormatterOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<JsonConsoleFormatterOptions, string?> listener) => null;
    }
}
