using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Reclaim.Server.Tests;

/// <summary>Bad input gets an RFC 9457 problem (application/problem+json with type, title, status) and the right status.</summary>
public sealed class ProblemDetailsTests(SharedServer server) : IClassFixture<SharedServer>
{
    private const string UnknownRun = "20200101-000000-abcdef";
    private readonly ServerHost _host = server.Host;

    public static TheoryData<string, string, string, string?, string, int, string> Cases() => new()
    {
        // role, method, path, body, content type, status, a word the detail or title must contain
        { "admin", "POST", "api/v1/runs", "{", "application/json", 400, "Malformed JSON" },
        { "admin", "POST", "api/v1/runs", "[]", "application/json", 400, "Malformed JSON" },
        { "admin", "POST", "api/v1/runs", """{"dry_run": true, "force": true}""", "application/json", 400, "force" },
        { "admin", "POST", "api/v1/runs", """{"dry_run": "yes"}""", "application/json", 400, "dry_run" },
        { "admin", "POST", "api/v1/runs", """{"policies": "uploads", "dry_run": true}""", "application/json", 400, "policies" },
        { "admin", "POST", "api/v1/runs", "{}", "application/json", 400, "dry_run is required" },
        { "admin", "POST", "api/v1/runs", """{"policies": [""], "dry_run": true}""", "application/json", 400, "non-empty" },
        { "admin", "POST", "api/v1/runs", null, "application/json", 400, "JSON body is required" },
        { "admin", "POST", "api/v1/runs", "dry_run=true", "text/plain", 415, "Unsupported Media Type" },
        { "admin", "POST", "api/v1/runs", """{"policies": ["nope"], "dry_run": true}""", "application/json", 422, "no policy named 'nope'" },
        { "admin", "POST", "api/v1/runs", "null", "application/json", 400, "not null" },
        { "viewer", "POST", "api/v1/runs", """{"dry_run": true}""", "application/json", 403, "Forbidden" },
        { "operator", "POST", "api/v1/runs", """{"dry_run": false}""", "application/json", 403, "admin role" },
        { "viewer", "GET", $"api/v1/runs/{UnknownRun}", null, "", 404, UnknownRun },
        { "viewer", "GET", "api/v1/runs/not-a-run", null, "", 400, "not a run id" },
        { "viewer", "GET", $"api/v1/runs/{UnknownRun}/actions", null, "", 404, UnknownRun },
        { "viewer", "GET", "api/v1/runs/not-a-run/actions", null, "", 400, "not a run id" },
        { "admin", "POST", $"api/v1/runs/{UnknownRun}/restore", null, "", 404, UnknownRun },
        { "admin", "POST", "api/v1/runs/not-a-run/restore", null, "", 400, "not a run id" },
        { "admin", "POST", $"api/v1/runs/{UnknownRun}/restore", """{"keys": 3}""", "application/json", 400, "Malformed JSON" },
        { "viewer", "GET", "api/v1/runs?limit=0", null, "", 400, "limit" },
        { "viewer", "GET", "api/v1/runs?limit=abc", null, "", 400, "Bad Request" },
        { "viewer", "GET", "api/v1/usage?depth=0", null, "", 400, "depth" },
        { "viewer", "GET", "api/v1/usage?store=nope", null, "", 404, "no store named 'nope'" },
        { "viewer", "GET", "api/v1/nothing-here", null, "", 404, "Not Found" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media"}""", "application/json", 400, "at least one key or prefix" },
        { "operator", "POST", "api/v1/deletions", """{"keys": ["a.mp4"]}""", "application/json", 400, "store is required" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media", "keys": "a.mp4"}""", "application/json", 400, "Malformed JSON" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media", "keys": [null]}""", "application/json", 400, "not null" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media", "keys": ["a.mp4"], "bucket": "x"}""", "application/json", 400, "bucket" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media", "keys": ["a.mp4"], "action": "shred"}""", "application/json", 400, "delete or quarantine" },
        { "operator", "POST", "api/v1/deletions", null, "application/json", 400, "JSON body is required" },
        { "operator", "POST", "api/v1/deletions", "store=media", "text/plain", 415, "Unsupported Media Type" },
        { "operator", "POST", "api/v1/deletions", """{"store": "nope", "keys": ["a.mp4"]}""", "application/json", 422, "no store named 'nope'" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media", "keys": ["uploads/../etc/passwd"]}""", "application/json", 422, "'..'" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media", "prefixes": ["uploads/a1"]}""", "application/json", 422, "does not end in '/'" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media", "prefixes": ["uploads\\a1/"]}""", "application/json", 422, "backslash" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media", "keys": ["a\u0000b"]}""", "application/json", 422, "NUL" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media", "keys": [""]}""", "application/json", 422, "empty" },
        { "operator", "POST", "api/v1/deletions", """{"store": "media", "prefixes": [".reclaim-trash/"]}""", "application/json", 422, "in the trash" },
        { "viewer", "POST", "api/v1/deletions", """{"store": "media", "keys": ["a.mp4"]}""", "application/json", 403, "Forbidden" },
        { "viewer", "GET", "api/v1/deletions/abc", null, "", 400, "not a deletion request id" },
        { "viewer", "GET", "api/v1/deletions/999999999", null, "", 404, "no deletion request 999999999" },
        { "viewer", "GET", "api/v1/queue?failures=-1", null, "", 400, "failures" },
        { "viewer", "GET", "api/v1/reclaimed?days=0", null, "", 400, "days must be between 1 and 366" },
        { "viewer", "GET", "api/v1/reclaimed?days=400", null, "", 400, "days must be between 1 and 366" },
        { "viewer", "GET", "api/v1/queue?queue=nope", null, "", 404, "no queue named 'nope'" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequest_IsAProblemDocument(string role, string method, string path, string? body, string contentType, int status, string mentions)
    {
        using var client = _host.As(role);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, contentType);
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        ((int)response.StatusCode).Should().Be(status, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = JsonNode.Parse(text)!.AsObject();
        problem["status"]!.GetValue<int>().Should().Be(status);
        problem["title"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        problem["type"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        $"{problem["title"]} {problem["detail"]} {problem["errors"]?.ToJsonString()}".Should().Contain(mentions);
    }

    [Fact]
    public async Task Restore_OfADryRun_IsAConflictProblem()
    {
        using var admin = _host.As("admin");
        using var started = await admin.PostAsJsonAsync("api/v1/runs", new { dry_run = true });
        var runId = (await started.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        await ServerHost.WaitForRunAsync(admin, runId);

        using var response = await admin.PostAsync($"api/v1/runs/{runId}/restore", null);

        ((int)response.StatusCode).Should().Be(409);
        (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>().Should().Contain("quarantined nothing");
    }

    [Fact]
    public async Task NoToken_IsAnUnauthorizedProblem()
    {
        using var client = _host.Client(null);

        using var response = await client.GetAsync("api/v1/runs");

        ((int)response.StatusCode).Should().Be(401);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }
}
