using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Reclaim.Server.Tests;

/// <summary>A server whose JWTs carry the application's own roles, mapped by <c>server.jwt.role_map</c>.</summary>
public sealed class RoleMapServer : IAsyncLifetime
{
    /// <summary>The server.</summary>
    public ServerHost Host { get; private set; } = null!;

    /// <inheritdoc/>
    public async Task InitializeAsync() => Host = await ServerHost.StartAsync(
        jwtYaml: "    role_map: {therapist: operator, admin: admin, patient: none}",
        extraYaml: """
            schedule:
              - policies: [uploads]
                cron: "0 3 * * *"
                timezone: Europe/Tbilisi
              - policies: [uploads]
                cron: "30 12 * * 1"
            """);

    /// <inheritdoc/>
    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>
/// Application roles (<c>server.jwt.role_map</c>) and the answers a refused caller gets: a 403 naming the role needed
/// and the caller's, a 401 with <c>WWW-Authenticate: Bearer</c> saying how to send a key.
/// </summary>
public sealed class ApplicationRoleTests(RoleMapServer server) : IClassFixture<RoleMapServer>
{
    private readonly ServerHost _host = server.Host;

    private HttpClient AsApplicationRole(string role) => _host.Client(ServerHost.Jwt(role, DateTimeOffset.UtcNow.AddHours(1)));

    [Fact]
    public async Task TherapistJwt_ReadsStatus_ButIsRefusedARealRunNamingTheAdminRole()
    {
        using var therapist = AsApplicationRole("therapist");

        using var status = await therapist.GetAsync("api/v1/status");
        using var run = await therapist.PostAsJsonAsync("api/v1/runs", new { dry_run = false });

        status.StatusCode.Should().Be(HttpStatusCode.OK);
        run.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var problem = (await run.Content.ReadFromJsonAsync<JsonObject>())!;
        var detail = problem["detail"]!.GetValue<string>();
        detail.Should().Contain("admin role").And.Contain("'therapist'").And.Contain("operator");
        problem["required_role"]!.GetValue<string>().Should().Be("admin");
        problem["role"]!.GetValue<string>().Should().Be("operator");
    }

    [Fact]
    public async Task TherapistJwt_StartsADryRun()
    {
        using var therapist = AsApplicationRole("therapist");

        var run = await ServerHost.RunAsync(therapist, new { dry_run = true });

        run["status"]!.GetValue<string>().Should().Be("succeeded");
        run["actor"]!.GetValue<string>().Should().Be("api:user-therapist");
    }

    [Fact]
    public async Task PatientJwt_IsRefusedWithTheRoleNeededAndItsOwn()
    {
        using var patient = AsApplicationRole("patient");

        using var response = await patient.GetAsync("api/v1/status");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        problem["detail"]!.GetValue<string>().Should().Contain("GET /api/v1/status needs the viewer role")
            .And.Contain("'patient'").And.Contain("maps to none");
        problem["required_role"]!.GetValue<string>().Should().Be("viewer");
        problem["role"].Should().BeNull();
    }

    [Fact]
    public async Task UnmappedApplicationRole_IsRefusedNamingTheMap()
    {
        using var guest = AsApplicationRole("guest");

        using var response = await guest.GetAsync("api/v1/runs");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var detail = (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>();
        detail.Should().Contain("'guest' is not in server.jwt.role_map").And.Contain("therapist, admin, patient");
    }

    [Fact]
    public async Task ReclaimRoleNameInAJwt_GrantsNothingOnceARoleMapIsSet()
    {
        using var viewer = AsApplicationRole("viewer");

        using var response = await viewer.GetAsync("api/v1/status");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AdminApplicationRole_MapsToAdmin_AndApiKeysKeepTheirRoles()
    {
        using var admin = AsApplicationRole("admin");
        using var operatorKey = _host.As("operator");

        var real = await ServerHost.RunAsync(admin, new { dry_run = true });
        using var refused = await operatorKey.PostAsJsonAsync("api/v1/runs", new { dry_run = false });
        using var me = await operatorKey.GetAsync("api/v1/me");

        real["status"]!.GetValue<string>().Should().Be("succeeded");
        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await refused.Content.ReadAsStringAsync()).Should().Contain("the API key 'operator' has the role operator");
        var caller = (await me.Content.ReadFromJsonAsync<JsonObject>())!;
        caller["via"]!.GetValue<string>().Should().Be("api_key");
        caller["role"]!.GetValue<string>().Should().Be("operator");
    }

    [Theory]
    [InlineData("therapist", "operator", true, false)]
    [InlineData("admin", "admin", true, true)]
    [InlineData("patient", null, false, false)]
    public async Task Me_SaysWhoIsSignedInWithWhichRoleAndWhatItMayDo(string applicationRole, string? role, bool dryRun, bool run)
    {
        using var client = AsApplicationRole(applicationRole);

        var me = (await client.GetFromJsonAsync<JsonObject>("api/v1/me"))!;

        me["name"]!.GetValue<string>().Should().Be($"user-{applicationRole}");
        me["via"]!.GetValue<string>().Should().Be("jwt");
        me["role"]?.GetValue<string>().Should().Be(role);
        me["application_roles"]!.AsArray().Select(r => r!.GetValue<string>()).Should().Equal(applicationRole);
        me["can"]!["dry_run"]!.GetValue<bool>().Should().Be(dryRun);
        me["can"]!["run"]!.GetValue<bool>().Should().Be(run);
        me["description"]!.GetValue<string>().Should().Contain(applicationRole);
    }

    [Fact]
    public async Task NoCredentials_Is401WithBearerChallengeAndHowToSendAKey()
    {
        using var anonymous = _host.Client(null);

        using var response = await anonymous.GetAsync("api/v1/status");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Should().ContainSingle(h => h.Scheme == "Bearer");
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var detail = (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>();
        detail.Should().Contain("Authorization: Bearer <token>").And.Contain("reclaim token create").And.Contain("server.tokens");
    }

    [Theory]
    [InlineData("rcl_not-a-configured-key", "not a configured API key")]
    [InlineData("expired", "expired")]
    [InlineData("forged", "signature")]
    public async Task RejectedToken_Is401SayingWhy(string token, string why)
    {
        token = token switch
        {
            "expired" => ServerHost.Jwt("admin", DateTimeOffset.UtcNow.AddMinutes(-10)),
            "forged" => ServerHost.Jwt("admin", DateTimeOffset.UtcNow.AddHours(1), secret: "another-secret-that-is-long-enough-0000"),
            _ => token,
        };
        using var client = _host.Client(token);

        using var response = await client.GetAsync("api/v1/status");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Should().ContainSingle(h => h.Scheme == "Bearer" && h.Parameter!.Contains("invalid_token"));
        var detail = (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>();
        detail.Should().Contain(why).And.Contain("Authorization: Bearer <token>");
    }

    [Fact]
    public async Task UnknownBodyField_NamesTheFieldAndTheAcceptedOnes()
    {
        using var admin = _host.As("admin");

        using var response = await admin.PostAsync("api/v1/runs", new StringContent("""{"dry_run": true, "polices": ["uploads"]}""", Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var detail = problem["detail"]!.GetValue<string>();
        detail.Should().Contain("unknown field 'polices'").And.Contain("did you mean 'policies'?").And.Contain("accepted fields: policies, dry_run");
        detail.Should().NotContain(".NET").And.NotContain("Reclaim.Server");
        problem["field"]!.GetValue<string>().Should().Be("polices");
    }

    [Theory]
    [InlineData("""{"dry_run": "yes"}""", "'dry_run' must be true or false")]
    [InlineData("""{"dry_run": true, "policies": "uploads"}""", "'policies' must be a list of text values")]
    [InlineData("""{"dry_run": true, "policies": [1]}""", "'policies[0]' must be text")]
    [InlineData("""[true]""", "must be a JSON object with the fields policies, dry_run, not an array")]
    public async Task WrongFieldType_SaysWhatTheFieldTakes(string body, string says)
    {
        using var admin = _host.As("admin");

        using var response = await admin.PostAsync("api/v1/runs", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var detail = (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>();
        detail.Should().Contain(says).And.NotContain("System.");
    }

    [Fact]
    public async Task Schedule_ListsEachEntrysNextFiringsInItsTimeZoneAndUtc()
    {
        using var viewer = _host.As("viewer");

        var view = (await viewer.GetFromJsonAsync<JsonObject>("api/v1/schedule?count=3"))!;

        view["default_timezone"]!.GetValue<string>().Should().Be("UTC");
        var entries = view["entries"]!.AsArray();
        entries.Should().HaveCount(2);
        var tbilisi = entries[0]!;
        tbilisi["timezone"]!.GetValue<string>().Should().Be("Asia/Tbilisi", "the config takes the zone by its city and names it by its IANA id");
        tbilisi["quartz_cron"]!.GetValue<string>().Should().Be("0 0 3 * * ?");
        tbilisi["partitioned"]!.GetValue<bool>().Should().BeFalse("an entry is taken by one replica unless it says partitioned: true");
        var firings = tbilisi["next_firings"]!.AsArray();
        firings.Should().HaveCount(3);
        foreach (var firing in firings)
        {
            var local = DateTimeOffset.Parse(firing!["local"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
            var utc = DateTimeOffset.Parse(firing["utc"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
            local.Hour.Should().Be(3);
            local.Offset.Should().Be(TimeSpan.FromHours(4));
            utc.Offset.Should().Be(TimeSpan.Zero);
            utc.Hour.Should().Be(23);
            local.Should().Be(utc);
        }

        var weekly = entries[1]!;
        weekly["timezone"]!.GetValue<string>().Should().Be("UTC");
        var next = DateTimeOffset.Parse(weekly["next_firings"]![0]!["utc"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        next.DayOfWeek.Should().Be(DayOfWeek.Monday);
        (next.Hour, next.Minute).Should().Be((12, 30));
        next.Should().BeAfter(DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Schedule_CountOutOfRange_IsAProblem()
    {
        using var viewer = _host.As("viewer");

        using var response = await viewer.GetAsync("api/v1/schedule?count=0");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("count must be between 1 and 100");
    }
}
