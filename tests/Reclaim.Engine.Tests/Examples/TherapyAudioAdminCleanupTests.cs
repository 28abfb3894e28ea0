using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Examples;

/// <summary>
/// <c>examples/therapy-audio</c> served by <c>reclaim serve</c> with its JWT block on: the replaced service's own requests (its
/// curl paths and query strings, with the application's therapist, admin and patient tokens) against
/// <c>/api/admin/cleanup/…</c>, the answers compared with the replaced service's documented shapes, on SQLite and PostgreSQL.
/// </summary>
public abstract class TherapyAudioAdminCleanupTests<TSite> : IAsyncLifetime
    where TSite : ExampleSite, new()
{
    /// <summary>The replaced service's documented result object: each field and its JSON kind.</summary>
    private static readonly (string Field, JsonValueKind Kind)[] ResultShape =
    [
        ("orphaned_files_deleted", JsonValueKind.Array), ("orphaned_files_count", JsonValueKind.Number),
        ("failed_sessions_cleaned", JsonValueKind.Array), ("failed_sessions_count", JsonValueKind.Number),
        ("total_space_freed_mb", JsonValueKind.Number), ("errors", JsonValueKind.Array), ("error_count", JsonValueKind.Number),
        ("dry_run", JsonValueKind.True),
    ];

    private static readonly string[] FailedSessions = ["s3", "s4", "s6"];

    private readonly TSite _site = new();
    private ExampleServer? _server;

    private ExampleServer Server => _server!;

    private static string[] OrphanKeys => TherapyAudioSample.Keys(TherapyAudioSample.Orphaned);

    public async Task InitializeAsync()
    {
        await _site.InitializeAsync();
        var clock = await TherapyAudioSample.SeedAsync(_site);
        _server = await ExampleServer.StartAsync(_site, clock, jwt: true);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await _site.DisposeAsync();
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpClient client, HttpMethod method, string path)
    {
        using var response = await client.SendAsync(new HttpRequestMessage(method, path));
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    private static void ShouldHaveTheSeedsShape(JsonObject envelope, string resultField, bool dryRun)
    {
        envelope["success"]!.GetValueKind().Should().Be(JsonValueKind.True, envelope.ToJsonString());
        envelope["message"]!.GetValueKind().Should().Be(JsonValueKind.String);
        var result = envelope[resultField]!.AsObject();
        foreach (var (field, kind) in ResultShape)
        {
            result.ContainsKey(field).Should().BeTrue($"existing clients read '{resultField}.{field}'");
            result[field]!.GetValueKind().Should().Be(field == "dry_run" && !dryRun ? JsonValueKind.False : kind, field);
        }

        result["orphaned_files_count"]!.GetValue<long>().Should().Be(result["orphaned_files_deleted"]!.AsArray().Count);
        result["failed_sessions_count"]!.GetValue<long>().Should().Be(result["failed_sessions_cleaned"]!.AsArray().Count);
        result["error_count"]!.GetValue<long>().Should().Be(0);
    }

    private static IEnumerable<string> Strings(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<string>());

    [Fact]
    public async Task TherapistStatus_AnswersPotentialCleanupInTheSeedsShape_AndTouchesNothing()
    {
        using var therapist = Server.AsApplicationRole("therapist");
        var before = await _site.ListAllAsync();

        var (status, body) = await SendAsync(therapist, HttpMethod.Get, "api/admin/cleanup/status");

        status.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        ShouldHaveTheSeedsShape(body, "potential_cleanup", dryRun: true);
        body["message"]!.GetValue<string>().Should().Be("Cleanup status retrieved");
        Strings(body["potential_cleanup"]!["orphaned_files_deleted"]).Should().BeEquivalentTo(OrphanKeys);
        Strings(body["potential_cleanup"]!["failed_sessions_cleaned"]).Should().BeEquivalentTo(FailedSessions, "the rows' ids");
        (await _site.ListAllAsync()).Should().Equal(before);
        (await _site.ColumnAsync("SELECT id FROM sessions")).Should().HaveCount(6);
    }

    [Fact]
    public async Task TherapistDryRunAll_AnswersTheResult_AndARealRunIsRefusedNamingTheAdminRole()
    {
        using var therapist = Server.AsApplicationRole("therapist");
        var before = await _site.ListAllAsync();

        var (dryStatus, dry) = await SendAsync(therapist, HttpMethod.Post, "api/admin/cleanup/all?dry_run=true");
        var (realStatus, real) = await SendAsync(therapist, HttpMethod.Post, "api/admin/cleanup/all");

        dryStatus.Should().Be(HttpStatusCode.OK, dry.ToJsonString());
        ShouldHaveTheSeedsShape(dry, "result", dryRun: true);
        Strings(dry["result"]!["failed_sessions_cleaned"]).Should().BeEquivalentTo(FailedSessions);
        realStatus.Should().Be(HttpStatusCode.Forbidden);
        real["detail"]!.GetValue<string>().Should().Contain("admin role").And.Contain("'therapist' maps to operator");
        (await _site.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task Patient_IsRefusedWithAReason()
    {
        using var patient = Server.AsApplicationRole("patient");

        var (status, body) = await SendAsync(patient, HttpMethod.Get, "api/admin/cleanup/status");

        status.Should().Be(HttpStatusCode.Forbidden);
        body["detail"]!.GetValue<string>().Should().Contain("needs the viewer role").And.Contain("'patient' maps to none");
        body["required_role"]!.GetValue<string>().Should().Be("viewer");
    }

    [Fact]
    public async Task AdminAll_RemovesOrphansAndFailedSessions_AndListsTheRowsIds()
    {
        using var admin = Server.AsApplicationRole("admin");

        var (status, body) = await SendAsync(admin, HttpMethod.Post, "api/admin/cleanup/all");

        status.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        ShouldHaveTheSeedsShape(body, "result", dryRun: false);
        Strings(body["result"]!["orphaned_files_deleted"]).Should().BeEquivalentTo(OrphanKeys);
        Strings(body["result"]!["failed_sessions_cleaned"]).Should().BeEquivalentTo(FailedSessions);
        body["result"]!["total_space_freed_mb"]!.GetValue<double>().Should().BeGreaterThanOrEqualTo(0);
        (await _site.LiveKeysAsync()).Should().Equal(TherapyAudioSample.Keys(TherapyAudioSample.Live)
            .Append(TherapyAudioSample.Audio + TherapyAudioSample.YoungOrphan).Append(TherapyAudioSample.Nested).Order(StringComparer.Ordinal));
        (await _site.TrashedKeysAsync()).Should().Equal(OrphanKeys, "orphans are quarantined, failed sessions' files deleted");
        (await _site.ColumnAsync("SELECT id FROM sessions")).Should().Equal("s1", "s2", "s5");
    }

    [Fact]
    public async Task OrphanedFilesThenFailedSessions_EachRunsOnlyItsPolicies()
    {
        using var admin = Server.Client(ExampleServer.AdminKey);

        var (orphanStatus, orphans) = await SendAsync(admin, HttpMethod.Post, "api/admin/cleanup/orphaned-files");
        var sessionsBefore = await _site.ColumnAsync("SELECT id FROM sessions");
        var (sessionStatus, sessions) = await SendAsync(admin, HttpMethod.Post, "api/admin/cleanup/failed-sessions?dry_run=false");

        orphanStatus.Should().Be(HttpStatusCode.OK, orphans.ToJsonString());
        orphans["message"]!.GetValue<string>().Should().Be("Orphaned file cleanup completed");
        Strings(orphans["result"]!["orphaned_files_deleted"]).Should().BeEquivalentTo(OrphanKeys);
        Strings(orphans["result"]!["failed_sessions_cleaned"]).Should().BeEmpty();
        sessionsBefore.Should().HaveCount(6);
        sessionStatus.Should().Be(HttpStatusCode.OK, sessions.ToJsonString());
        Strings(sessions["result"]!["orphaned_files_deleted"]).Should().BeEmpty();
        Strings(sessions["result"]!["failed_sessions_cleaned"]).Should().BeEquivalentTo(FailedSessions);
        (await _site.ColumnAsync("SELECT id FROM sessions")).Should().Equal("s1", "s2", "s5");
    }

    [Fact]
    public async Task Config_AnswersTheSeedsSettingsFromThePolicies()
    {
        using var therapist = Server.AsApplicationRole("therapist");

        var config = (await therapist.GetFromJsonAsync<JsonObject>("api/admin/cleanup/config"))!;

        config.ContainsKey("failed_session_retention_days").Should().BeTrue();
        config["orphaned_file_retention_hours"]!.GetValue<double>().Should().Be(24);
        config["upload_dir"]!.GetValue<string>().Should().Be("uploads/audio");
        config["auto_cleanup_on_startup"]!.GetValue<bool>().Should().BeFalse();
        config.ContainsKey("cleanup_schedule_hour").Should().BeTrue();
        Strings(config["failed_sessions"]).Should().Equal("failed-sessions");
    }

    [Fact]
    public async Task DryRunThatIsNotABoolean_IsAProblem_AndTouchesNothing()
    {
        using var admin = Server.AsApplicationRole("admin");
        var before = await _site.ListAllAsync();

        var (status, body) = await SendAsync(admin, HttpMethod.Post, "api/admin/cleanup/all?dry_run=maybe");

        status.Should().Be(HttpStatusCode.BadRequest);
        body["detail"]!.GetValue<string>().Should().Contain("dry_run");
        (await _site.ListAllAsync()).Should().Equal(before);
    }

    [Fact]
    public async Task ApiStatus_ListsTheRowsOfTheRecordsPolicy()
    {
        using var viewer = Server.Client(ExampleServer.OperatorKey);

        var status = (await viewer.GetFromJsonAsync<JsonObject>("api/v1/status"))!;

        var failed = status["policies"]!.AsArray().Single(p => p!["policy"]!.GetValue<string>() == "failed-sessions")!;
        var rows = failed["rows"]!.AsArray();
        rows.Select(r => r!["columns"]!["id"]!.GetValue<string>()).Should().BeEquivalentTo(FailedSessions);
        var s3 = rows.Single(r => r!["row"]!.GetValue<string>() == "id=s3")!;
        s3["columns"]!["file"]!.GetValue<string>().Should().Be("s3.mp3");
        Strings(s3["keys"]).Should().Equal("uploads/audio/s3.mp3", "uploads/audio/s3_processed.mp3");
        Strings(s3["object_keys"]).Should().Equal("uploads/audio/s3.mp3", "uploads/audio/s3_processed.mp3");
        s3["objects"]!.GetValue<int>().Should().Be(2);
        failed["rows_shown"]!.GetValue<int>().Should().Be(3);
    }
}

public sealed class TherapyAudioSqliteSite() : FolderSqliteSite("therapy-audio", "therapy.db");

public sealed class TherapyAudioPostgresSite() : FolderPostgresSite("therapy-audio", "reclaim.postgres.yaml");

public sealed class SqliteTherapyAudioAdminCleanupTests : TherapyAudioAdminCleanupTests<TherapyAudioSqliteSite>;

public sealed class PostgresTherapyAudioAdminCleanupTests : TherapyAudioAdminCleanupTests<TherapyAudioPostgresSite>;
