using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Reclaim.Server.Tests;

/// <summary>Start-up runs, several schedule entries, and a run whose plan cannot be made, through a real server.</summary>
public sealed class StartupAndFailureTests
{
    [Fact]
    public async Task RunOnStartup_RunsTheEntrysPoliciesOnceWhenTheServerStarts()
    {
        await using var host = await ServerHost.StartAsync(extraYaml: """
            schedule:
              - policies: [uploads]
                cron: "0 0 3 1 1 ?"
                run_on_startup: true
            """);
        using var viewer = host.As("viewer");

        var runs = await WaitForRunsAsync(viewer, runs => runs.Any(r => Actor(r) == "startup:0" && Status(r) != "running"));

        runs.Where(r => Actor(r) == "startup:0").Should().ContainSingle()
            .Which!["status"]!.GetValue<string>().Should().Be("succeeded");
        runs.Should().NotContain(r => Actor(r) == "schedule:0", "the entry's cron is not due");
        host.StoreKeys().Should().NotContain(k => k.StartsWith("uploads/gone", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TwoScheduleEntries_EachFiresUnderItsOwnTrigger()
    {
        await using var host = await ServerHost.StartAsync(extraYaml: """
            schedule:
              - policies: [uploads]
                cron: "0/2 * * * * ?"
              - policies: [uploads]
                cron: "1/2 * * * * ?"
            """);
        using var viewer = host.As("viewer");

        var runs = await WaitForRunsAsync(viewer, runs => runs.Any(r => Actor(r) == "schedule:0") && runs.Any(r => Actor(r) == "schedule:1"));

        runs.Select(Actor).Should().Contain(["schedule:0", "schedule:1"]);
    }

    [Fact]
    public async Task PlanningFailure_IsRecordedAsAFailedRunWithItsError_AndSentToTheWebhook()
    {
        await using var webhook = await WebhookReceiver.StartAsync();

        // Indented, the extra YAML continues the server section.
        await using var host = await ServerHost.StartAsync(referencesQuery: "SELECT id AS asset FROM no_such_table", extraYaml: $"  webhook_url: {webhook.Url}");
        using var admin = host.As("admin");
        var before = host.StoreKeys();

        var run = await ServerHost.RunAsync(admin, new { policies = new[] { "uploads" }, dry_run = false });
        var runId = run["id"]!.GetValue<string>();

        run["status"]!.GetValue<string>().Should().Be("failed");
        run["error"]!.GetValue<string>().Should().Contain("no_such_table");
        var recorded = (await admin.GetFromJsonAsync<JsonArray>("api/v1/runs"))!.Single(r => r!["id"]!.GetValue<string>() == runId)!;
        recorded["status"]!.GetValue<string>().Should().Be("failed", "the history in state has the run, not only this server's memory");
        recorded["error"]!.GetValue<string>().Should().Contain("no_such_table");
        recorded["finished_at"].Should().NotBeNull();
        recorded["actor"]!.GetValue<string>().Should().Be("api:admin");
        host.StoreKeys().Should().BeEquivalentTo(before);

        var message = await webhook.WaitForMessageAsync();
        message.Should().Contain(runId).And.Contain("failed").And.Contain("no_such_table");
    }

    private static string Actor(JsonNode? run) => run!["actor"]!.GetValue<string>();

    private static string Status(JsonNode? run) => run!["status"]!.GetValue<string>();

    private static async Task<JsonArray> WaitForRunsAsync(HttpClient client, Func<JsonArray, bool> done)
    {
        JsonArray runs = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(60); !done(runs) && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(100);
            runs = (await client.GetFromJsonAsync<JsonArray>("api/v1/runs"))!;
        }

        return runs;
    }

    /// <summary>A loopback HTTP endpoint that keeps the <c>text</c> of every JSON message posted to it.</summary>
    private sealed class WebhookReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<string> _messages = new();

        private WebhookReceiver(WebApplication app) => _app = app;

        public string Url { get; private set; } = string.Empty;

        public static async Task<WebhookReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var receiver = new WebhookReceiver(builder.Build());
            receiver._app.MapPost("/hook", async (HttpRequest request) =>
            {
                var body = await request.ReadFromJsonAsync<JsonObject>();
                receiver._messages.Enqueue(body?["text"]?.GetValue<string>() ?? string.Empty);
                return Results.Ok();
            });
            await receiver._app.StartAsync();
            var address = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            receiver.Url = address.TrimEnd('/') + "/hook";
            return receiver;
        }

        public async Task<string> WaitForMessageAsync()
        {
            for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline;)
            {
                if (_messages.TryPeek(out var message))
                {
                    return message;
                }

                await Task.Delay(100);
            }

            throw new TimeoutException("no webhook message arrived within 60 s");
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
