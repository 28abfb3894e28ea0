using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Examples;

/// <summary>
/// <c>examples/viral-clips</c> served by <c>reclaim serve</c>: the replaced service's own bulk cleanup requests (its curl bodies)
/// against <c>POST /api/cleanup/bulk/</c>, the answers compared field by field with the replaced service's documented shape, on a
/// folder + SQLite and on S3 (s3rver) + PostgreSQL.
/// </summary>
public abstract class ViralClipsBulkCleanupTests<TSite> : IAsyncLifetime
    where TSite : ExampleSite, new()
{
    /// <summary>The replaced service's documented response: each field and its JSON kind.</summary>
    private static readonly (string Field, JsonValueKind Kind)[] SeedShape =
    [
        ("success", JsonValueKind.True), ("message", JsonValueKind.String), ("deleted_count", JsonValueKind.Number),
        ("deleted_size_mb", JsonValueKind.Number), ("retained_count", JsonValueKind.Number), ("total_files_scanned", JsonValueKind.Number),
        ("dry_run", JsonValueKind.False), ("deleted_files_sample", JsonValueKind.Array), ("retention_days", JsonValueKind.Number),
    ];

    private static readonly string[] Removed =
        ["audio/j1/audio.wav", "clips/j1/c3.mp4", "clips/j4/c2.mp4", "uploads/j1/source.mp4", "uploads/j1/thumb.jpg", "uploads/j3/source.mp4", "uploads/j6/source.mp4"];

    /// <summary>A completed clip created four days ago: kept with 5 retention days, not with 3.</summary>
    private const string FourDayClip = "clips/j1/c5.mp4";

    /// <summary>Completed clips created yesterday, kept whatever the retention: with them, what 3 days removes stays under the guard's share.</summary>
    private static readonly string[] KeptClips = ["clips/j1/c6.mp4", "clips/j1/c7.mp4"];

    private readonly TSite _site = new();
    private ManualClock _clock = new();
    private ExampleServer? _server;

    private ExampleServer Server => _server!;

    public async Task InitializeAsync()
    {
        await _site.InitializeAsync();
        _clock = await _site.SeedObjectsAsync(
            ["uploads/j1/source.mp4", "uploads/j1/thumb.jpg", "uploads/j2/source.mp4", "uploads/j3/source.mp4", "uploads/j5/source.mp4", "uploads/j6/source.mp4",
             "audio/j1/audio.wav", "audio/j2/audio.wav", "clips/j1/c1.mp4", "clips/j4/c2.mp4", "clips/j1/c3.mp4", FourDayClip, .. KeptClips, "clips/stray.mp4"],
            ["clips/j2/c4.mp4"], TimeSpan.FromDays(5));
        await ViralClipsSample.SeedRowsAsync(_site, _clock.GetUtcNow());
        var now = _clock.GetUtcNow();
        await _site.ExecuteSqlAsync($"""
            INSERT INTO clips VALUES
              ('c5', 'j1', 'c5.mp4', 'completed', {_site.Timestamp(now.AddDays(-4))}),
              ('c6', 'j1', 'c6.mp4', 'completed', {_site.Timestamp(now.AddDays(-1))}),
              ('c7', 'j1', 'c7.mp4', 'completed', {_site.Timestamp(now.AddDays(-1))});
            """);
        _server = await ExampleServer.StartAsync(_site, _clock);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await _site.DisposeAsync();
    }

    /// <summary>POSTs a body exactly as the replaced service's curl sends it.</summary>
    private static async Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> PostAsync(HttpClient client, string? body, string path = "api/cleanup/bulk/")
    {
        var response = await client.PostAsync(path, body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"));
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        return (response.StatusCode, json, response);
    }

    private static void ShouldHaveTheSeedsShape(JsonObject body, bool dryRun)
    {
        foreach (var (field, kind) in SeedShape)
        {
            body.ContainsKey(field).Should().BeTrue($"existing clients read '{field}'");
            var expected = field == "dry_run" && dryRun ? JsonValueKind.True : kind;
            body[field]!.GetValueKind().Should().Be(expected, field);
        }

        body["deleted_files_sample"]!.AsArray().Should().OnlyContain(k => k!.GetValueKind() == JsonValueKind.String);
    }

    [Fact]
    public async Task SeedDryRunCurl_AnswersInTheSeedsShape_AndTouchesNothing()
    {
        using var admin = Server.Client(ExampleServer.AdminKey);
        var before = await _site.ListAllAsync();

        var (status, body, _) = await PostAsync(admin, """
            {
                "retention_days": 5,
                "dry_run": true
              }
            """);

        status.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        ShouldHaveTheSeedsShape(body, dryRun: true);
        body["deleted_count"]!.GetValue<long>().Should().Be(Removed.Length);
        body["retention_days"]!.GetValue<int>().Should().Be(5);
        (body["retained_count"]!.GetValue<long>() + body["deleted_count"]!.GetValue<long>()).Should().Be(body["total_files_scanned"]!.GetValue<long>());
        body["deleted_files_sample"]!.AsArray().Select(k => k!.GetValue<string>()).Should().BeSubsetOf(Removed).And.NotBeEmpty();
        body["message"]!.GetValue<string>().Should().StartWith($"Dry run: would delete {Removed.Length} files");
        (await _site.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task SeedCurl_RemovesWhatTheSweepRemoves_AndSaysSoInTheSeedsShape()
    {
        using var admin = Server.Client(ExampleServer.AdminKey);

        var (status, body, _) = await PostAsync(admin, """
            {
                "retention_days": 5,
                "dry_run": false
              }
            """);

        status.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        ShouldHaveTheSeedsShape(body, dryRun: false);
        body["deleted_count"]!.GetValue<long>().Should().Be(Removed.Length);
        body["deleted_files_sample"]!.AsArray().Select(k => k!.GetValue<string>()).Should().BeEquivalentTo(Removed);
        body["quarantined_count"]!.GetValue<long>().Should().Be(2, "clips are quarantined, temporary files deleted");
        body["message"]!.GetValue<string>().Should().StartWith($"Deleted {Removed.Length} files (").And.Contain("reclaim restore");
        (await _site.LiveKeysAsync()).Should().NotContain(Removed).And.Contain([FourDayClip, "clips/j1/c1.mp4", "clips/j2/c4.mp4", "clips/stray.mp4", "uploads/j2/source.mp4"]);
        (await _site.TrashedKeysAsync()).Should().Equal("clips/j1/c3.mp4", "clips/j4/c2.mp4");
        using var viewer = Server.Client(ExampleServer.OperatorKey);
        var run = (await viewer.GetFromJsonAsync<JsonObject>($"api/v1/runs/{body["run_id"]}"))!;
        run["actor"]!.GetValue<string>().Should().Be("api:cleanup-cron");
        run["status"]!.GetValue<string>().Should().Be("succeeded");
    }

    [Fact]
    public async Task SeedCronCurl_WithoutDryRun_IsARealRunForAdminsOnly()
    {
        using var operatorClient = Server.Client(ExampleServer.OperatorKey);
        var before = await _site.ListAllAsync();

        var (status, body, _) = await PostAsync(operatorClient, """{"retention_days": 5}""");

        status.Should().Be(HttpStatusCode.Forbidden);
        body["detail"]!.GetValue<string>().Should().Contain("not a dry run").And.Contain("admin role").And.Contain("'ops-bot' has the role operator");
        (await _site.ListAllAsync()).Should().Equal(before);

        var (dryStatus, dry, _) = await PostAsync(operatorClient, """{"retention_days": 5, "dry_run": true}""");
        dryStatus.Should().Be(HttpStatusCode.OK, dry.ToJsonString());
    }

    [Fact]
    public async Task SeedCurlWithoutAuthorization_Is401SayingHowToSendAKey()
    {
        using var anonymous = Server.Client(null);

        var (status, body, response) = await PostAsync(anonymous, """{"retention_days": 5, "dry_run": true}""");

        status.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Should().Contain(h => h.Scheme == "Bearer");
        body["detail"]!.GetValue<string>().Should().Contain("Authorization: Bearer <token>");
    }

    [Theory]
    [InlineData(3, 2, true)]
    [InlineData(5, 0, false)]
    [InlineData(6, -2, false)]
    public async Task RetentionDays_MovesTheAgeLimitAndTheWindowOfKeptClips(int days, int moreThanAtFive, bool fourDayClipGoes)
    {
        using var admin = Server.Client(ExampleServer.AdminKey);

        var (status, body, _) = await PostAsync(admin, $$"""{"retention_days": {{days}}, "dry_run": true}""");

        // At 3 days the clip completed 4 days ago is outside the kept window and its 5-day-old file past the age (and
        // the clip rendered just before the clock's 5 days, not completed, is old enough to go too); at 6 days no clip
        // file is old enough.
        status.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        body["retention_days"]!.GetValue<int>().Should().Be(days);
        body["deleted_count"]!.GetValue<long>().Should().Be(Removed.Length + moreThanAtFive);
        using var viewer = Server.Client(ExampleServer.OperatorKey);
        var run = (await viewer.GetFromJsonAsync<JsonObject>($"api/v1/runs/{body["run_id"]}"))!;
        var clips = run["plan"]!["policies"]!.AsArray().Single(p => p!["policy"]!.GetValue<string>() == "expire-clips")!;
        clips["groups"]!.AsArray().Select(g => g!["group_key"]!.GetValue<string>()).Contains(FourDayClip).Should().Be(fourDayClipGoes);
        var uploads = run["plan"]!["policies"]!.AsArray().Single(p => p!["policy"]!.GetValue<string>() == "finished-job-uploads")!;
        uploads["totals"]!["groups_orphaned"]!.GetValue<long>().Should().Be(3, "retention_days applies only to retention_days_policies");
    }

    [Fact]
    public async Task RetentionDays_RealRun_AppliesTheAgeItPlannedWith_AndKeepsWhatTheKeepQueryNames()
    {
        using var admin = Server.Client(ExampleServer.AdminKey);

        var (status, body, _) = await PostAsync(admin, """{"retention_days": 3, "dry_run": false}""");

        status.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        body["success"]!.GetValue<bool>().Should().BeTrue();
        body["deleted_count"]!.GetValue<long>().Should().Be(Removed.Length + 2);
        (await _site.TrashedKeysAsync()).Should().Equal("clips/j1/c3.mp4", FourDayClip, "clips/j2/c4.mp4", "clips/j4/c2.mp4");
        (await _site.LiveKeysAsync()).Should().Contain(["clips/j1/c1.mp4", .. KeptClips], "completed clips created within the 3 days are kept by the keep query at its @cutoff");
    }

    [Theory]
    [InlineData("""{"retention_days": 0}""", "below the floor of 1")]
    [InlineData("""{"retention_day": 5}""", "unknown field 'retention_day' (did you mean 'retention_days'?); accepted fields: retention_days, dry_run")]
    [InlineData("""{"retention_days": "5"}""", "'retention_days' must be a whole number")]
    public async Task BadRequest_IsAProblemThatSaysWhatToChange_AndTouchesNothing(string request, string says)
    {
        using var admin = Server.Client(ExampleServer.AdminKey);
        var before = await _site.ListAllAsync();

        var (status, body, response) = await PostAsync(admin, request);

        status.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        body["detail"]!.GetValue<string>().Should().Contain(says);
        (await _site.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task NoBody_TakesTheSeedsDefaults()
    {
        using var admin = Server.Client(ExampleServer.AdminKey);

        var (status, body, _) = await PostAsync(admin, null, "api/cleanup/bulk");

        status.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        body["retention_days"]!.GetValue<int>().Should().Be(5);
        body["dry_run"]!.GetValue<bool>().Should().BeFalse("the replaced service's default is a real run");
        body["deleted_count"]!.GetValue<long>().Should().Be(Removed.Length);
    }
}

public sealed class FolderSqliteViralClipsBulkCleanupTests : ViralClipsBulkCleanupTests<ViralClipsFolderSqliteSite>;

public sealed class S3PostgresViralClipsBulkCleanupTests : ViralClipsBulkCleanupTests<ViralClipsS3PostgresSite>;
