using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>
/// OTLP export: a server given a collector's address posts OTLP/HTTP protobuf to its <c>/v1/metrics</c>, and the
/// export after a run carries the run counter. The collector is a loopback <see cref="HttpListener"/> that keeps
/// every request.
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Metrics_AfterARun_ArePostedToTheOtlpCollector()
    {
        var port = FreePort.Find();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var received = new ConcurrentQueue<(string Path, string? ContentType, byte[] Body)>();
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                received.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        });

        await using (var host = await ServerHost.StartAsync(otlpEndpoint: new Uri($"http://127.0.0.1:{port}/")))
        {
            using var admin = host.As("admin");
            using var started = await admin.PostAsJsonAsync("api/v1/runs", new { dry_run = false });
            started.StatusCode.Should().Be(HttpStatusCode.Accepted);
            var run = await ServerHost.WaitForRunAsync(admin, (await started.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
            run["status"]!.GetValue<string>().Should().Be("succeeded");

            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!received.Any(r => r.Path == "/v1/metrics" && Contains(r.Body, "reclaim.runs")) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }

        await stop.CancelAsync();
        listener.Stop();
        await collector;

        var metrics = received.Where(r => r.Path == "/v1/metrics").ToList();
        metrics.Should().NotBeEmpty("the server exports metrics to the collector");
        metrics.Should().OnlyContain(r => r.ContentType == "application/x-protobuf");
        metrics.Should().Contain(r => Contains(r.Body, "reclaim.runs") && Contains(r.Body, "reclaim.removed.size") && Contains(r.Body, "uploads"),
            "an export after the run carries the run's counters, tagged with its policy");
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
