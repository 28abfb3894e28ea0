using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Reclaim.Server.Tests;

/// <summary>
/// A compat route whose run outlasts its <c>wait</c>: the answer is <c>202 Accepted</c> with the run's id and
/// <c>Location</c>, the run goes on and finishes; a second request for the same policy meanwhile is a <c>409</c>.
/// The run is held by an exclusive lock on the SQLite catalog (its references query waits for it), not by a timer.
/// </summary>
public sealed class CompatWaitTests
{
    [Fact]
    public async Task BulkCleanup_RunLongerThanItsWait_Is202WithTheRun_AndFinishes()
    {
        await using var host = await ServerHost.StartAsync(extraYaml: "  compat:\n    bulk_cleanup:\n      policies: [uploads]\n      wait: 1s\n");
        using var admin = host.As("admin");
        var catalog = Path.Combine(Path.GetDirectoryName(host.ConfigPath)!, "app.db");
        string runId;
        await using (var holder = new SqliteConnection($"Data Source={catalog};Pooling=false"))
        {
            await holder.OpenAsync();
            await using (var begin = holder.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                await begin.ExecuteNonQueryAsync();
            }

            using var first = await admin.PostAsJsonAsync("api/cleanup/bulk/", new { dry_run = true });
            using var second = await admin.PostAsJsonAsync("api/cleanup/bulk/", new { dry_run = true });

            first.StatusCode.Should().Be(HttpStatusCode.Accepted, await first.Content.ReadAsStringAsync());
            var body = (await first.Content.ReadFromJsonAsync<JsonObject>())!;
            runId = body["run_id"]!.GetValue<string>();
            body["status"]!.GetValue<string>().Should().Be("running");
            body["message"]!.GetValue<string>().Should().Contain($"GET /api/v1/runs/{runId}");
            first.Headers.Location!.ToString().Should().Be($"/api/v1/runs/{runId}");
            second.StatusCode.Should().Be(HttpStatusCode.Conflict);
            (await second.Content.ReadFromJsonAsync<JsonObject>())!["run_id"]!.GetValue<string>().Should().Be(runId);
        }

        var run = await ServerHost.WaitForRunAsync(admin, runId);
        run["status"]!.GetValue<string>().Should().Be("succeeded");
        run["dry_run"]!.GetValue<bool>().Should().BeTrue();
    }
}
