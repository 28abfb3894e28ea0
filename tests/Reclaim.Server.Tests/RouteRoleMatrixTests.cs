using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Reclaim.Server.Tests;

/// <summary>Every route against every kind of caller: none, a bad token, an expired JWT, each role by API key and by JWT.</summary>
public sealed class RouteRoleMatrixTests(SharedServer server) : IClassFixture<SharedServer>
{
    private const string UnknownRun = "20200101-000000-abcdef";
    private readonly ServerHost _host = server.Host;

    public static TheoryData<string, string, string, string, int> Matrix()
    {
        // caller columns: none, bad, expired JWT, viewer, operator, admin
        (string Method, string Path, string? Body, int[] Expected)[] routes =
        [
            ("GET", "api/v1/config", null, [401, 401, 401, 200, 200, 200]),
            ("GET", "api/v1/status", null, [401, 401, 401, 200, 200, 200]),
            ("GET", "api/v1/runs", null, [401, 401, 401, 200, 200, 200]),
            ("GET", $"api/v1/runs/{UnknownRun}", null, [401, 401, 401, 404, 404, 404]),
            ("GET", $"api/v1/runs/{UnknownRun}/actions", null, [401, 401, 401, 404, 404, 404]),
            ("GET", "api/v1/usage", null, [401, 401, 401, 200, 200, 200]),
            ("GET", "api/v1/reclaimed?days=7", null, [401, 401, 401, 200, 200, 200]),
            ("POST", "api/v1/runs", """{"dry_run": true}""", [401, 401, 401, 403, 202, 202]),
            ("POST", "api/v1/runs", """{"dry_run": false}""", [401, 401, 401, 403, 403, 202]),
            ("POST", $"api/v1/runs/{UnknownRun}/restore", null, [401, 401, 401, 403, 403, 404]),
            ("POST", "api/v1/deletions", """{"store": "media", "keys": ["not-there/a.mp4"]}""", [401, 401, 401, 403, 202, 202]),
            ("GET", "api/v1/deletions/999999999", null, [401, 401, 401, 404, 404, 404]),
            ("GET", "api/v1/queue", null, [401, 401, 401, 200, 200, 200]),
            ("GET", "api/v1/schedule", null, [401, 401, 401, 200, 200, 200]),
            ("GET", "api/v1/me", null, [401, 401, 401, 200, 200, 200]),
            ("GET", "healthz", null, [200, 200, 200, 200, 200, 200]),
            ("GET", "readyz", null, [200, 200, 200, 200, 200, 200]),
            ("GET", "metrics", null, [200, 200, 200, 200, 200, 200]),
            ("GET", "openapi/v1.json", null, [200, 200, 200, 200, 200, 200]),
            ("GET", "", null, [200, 200, 200, 200, 200, 200]),
        ];
        string[] callers = ["none", "bad", "expired-jwt", "viewer", "operator", "admin"];
        var data = new TheoryData<string, string, string, string, int>();
        foreach (var (method, path, body, expected) in routes)
        {
            for (var i = 0; i < callers.Length; i++)
            {
                data.Add(method, path, body ?? string.Empty, callers[i], expected[i]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Route_ByApiKey_AnswersPerRole(string method, string path, string body, string caller, int expected)
    {
        var token = caller switch
        {
            "none" => null,
            "bad" => "rcl_not-a-configured-key",
            "expired-jwt" => ServerHost.Jwt("admin", DateTimeOffset.UtcNow.AddMinutes(-10)),
            _ => ServerHost.Keys[caller],
        };

        await AssertAsync(method, path, body, token, expected);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Route_ByJwt_AnswersPerRole(string method, string path, string body, string caller, int expected)
    {
        var token = caller switch
        {
            "none" => null,
            "bad" => ServerHost.Jwt("admin", DateTimeOffset.UtcNow.AddHours(1), secret: "another-secret-that-is-long-enough-0000"),
            "expired-jwt" => ServerHost.Jwt("viewer", DateTimeOffset.UtcNow.AddMinutes(-10)),
            _ => ServerHost.Jwt(caller, DateTimeOffset.UtcNow.AddHours(1)),
        };

        await AssertAsync(method, path, body, token, expected);
    }

    private async Task AssertAsync(string method, string path, string body, string? token, int expected)
    {
        using var client = _host.Client(token);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body.Length > 0)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request);

        ((int)response.StatusCode).Should().Be(expected, $"{method} /{path} → {await response.Content.ReadAsStringAsync()}");
        if (expected >= 400)
        {
            response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        }

        if (response.StatusCode == HttpStatusCode.Accepted && path == "api/v1/runs")
        {
            // Let the run finish so the next row does not meet it (409).
            var run = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            response.Headers.Location!.ToString().Should().Be($"/api/v1/runs/{run["id"]}");
            await ServerHost.WaitForRunAsync(_host.As("viewer"), run["id"]!.GetValue<string>());
        }
    }
}
