using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary><c>server.compat</c> and <c>server.jwt.role_map</c>: read, defaulted, and every mistake located.</summary>
public sealed class CompatConfigTests : IDisposable
{
    private const string Secret = "0123456789abcdef0123456789abcdef";
    private readonly ConfigFolder _folder = new();

    public CompatConfigTests()
    {
        _folder.Write("app.db", string.Empty);
        Directory.CreateDirectory(System.IO.Path.Join(_folder.Path, "media"));
    }

    public void Dispose() => _folder.Dispose();

    private static string Yaml(string server) => $$"""
        version: 1
        stores:
          media: {type: filesystem, root: ./media}
        catalogs:
          app: {provider: sqlite, connection: ./app.db}
        policies:
          - name: expire-clips
            type: retention
            store: media
            layout: "clips/{clip}"
            max_age: 5d
          - name: orphan-audio
            type: orphans
            store: media
            layout: "audio/{name}"
            references: {catalog: app, query: "SELECT name FROM audio"}
          - name: failed-sessions
            type: records
            catalog: app
            store: media
            query: "SELECT id, file FROM sessions"
            objects: "audio/{file}"
        server:
        {{server}}
        """;

    [Fact]
    public void Load_CompatSections_AreReadWithDefaults()
    {
        var config = _folder.Load(Yaml("""
              compat:
                bulk_cleanup:
                  policies: [expire-clips, orphan-audio]
                  retention_days_policies: [expire-clips]
                admin_cleanup:
                  orphaned_files: [orphan-audio]
                  failed_sessions: [failed-sessions]
                  wait: 30s
            """));

        var bulk = config.Server.Compat.BulkCleanup!;
        bulk.Policies.Should().Equal("expire-clips", "orphan-audio");
        bulk.RetentionDaysPolicies.Should().Equal("expire-clips");
        bulk.MinRetentionDays.Should().Be(1);
        bulk.DefaultRetentionDays.Should().Be(5);
        bulk.Wait.Should().Be(TimeSpan.FromMinutes(5));
        var admin = config.Server.Compat.AdminCleanup!;
        admin.OrphanedFiles.Should().Equal("orphan-audio");
        admin.FailedSessions.Should().Equal("failed-sessions");
        admin.Wait.Should().Be(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Load_NoCompat_HasEveryRouteOff()
    {
        var config = _folder.Load(Yaml("  urls: http://127.0.0.1:8080"));

        config.Server.Compat.BulkCleanup.Should().BeNull();
        config.Server.Compat.AdminCleanup.Should().BeNull();
    }

    [Fact]
    public void Load_RetentionDaysPolicyThatIsNotRetention_IsAnError()
    {
        _folder.SingleError(Yaml("""
              compat:
                bulk_cleanup:
                  policies: [expire-clips, orphan-audio]
                  retention_days_policies: [orphan-audio]
            """), 27, 33).Message.Should().Contain("policy 'orphan-audio' is of type orphans; this list takes retention policies");
    }

    [Fact]
    public void Load_RetentionDaysPolicyNotRun_IsAnError()
    {
        _folder.SingleError(Yaml("""
              compat:
                bulk_cleanup:
                  policies: [orphan-audio]
                  retention_days_policies: [expire-clips]
            """), 27, 32).Message.Should().Contain("'expire-clips' is not in server.compat.bulk_cleanup.policies");
    }

    [Fact]
    public void Load_UnknownCompatPolicy_SuggestsTheNearest()
    {
        _folder.SingleError(Yaml("""
              compat:
                admin_cleanup:
                  failed_sessions: [failed-session]
            """), 26, 25).Message.Should().Contain("unknown policy 'failed-session'; did you mean 'failed-sessions'?");
    }

    [Fact]
    public void Load_FailedSessionsThatIsNotRecords_IsAnError()
    {
        _folder.SingleError(Yaml("""
              compat:
                admin_cleanup:
                  failed_sessions: [orphan-audio]
            """), 26, 25).Message.Should().Contain("this list takes records policies");
    }

    [Fact]
    public void Load_DefaultRetentionBelowTheFloor_IsAnError()
    {
        _folder.SingleError(Yaml("""
              compat:
                bulk_cleanup:
                  policies: [expire-clips]
                  min_retention_days: 3
                  default_retention_days: 2
            """), 28, 31).Message.Should().Contain("below min_retention_days (3)");
    }

    [Fact]
    public void Load_EmptyAdminCleanup_SaysWhatItNeeds()
    {
        _folder.Errors(Yaml("""
              compat:
                admin_cleanup:
                  wait: 10s
            """)).Should().ContainSingle().Which.Message.Should().Contain("at least one of 'orphaned_files'");
    }

    [Fact]
    public void Load_UnknownCompatKey_NamesTheKnownOnes()
    {
        _folder.SingleError(Yaml("""
              compat:
                bulk_clean:
                  policies: [expire-clips]
            """), 25, 5).Message.Should().Contain("did you mean 'bulk_cleanup'?");
    }

    [Fact]
    public void Load_RoleMap_IsRead()
    {
        var config = _folder.Load(Yaml($$"""
              jwt:
                secret: {{Secret}}
                role_map: {therapist: operator, admin: admin, patient: none}
            """));

        config.Server.Jwt!.RoleMap.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["therapist"] = "operator",
            ["admin"] = "admin",
            ["patient"] = "none",
        });
    }

    [Fact]
    public void Load_RoleMapToAnUnknownRole_SuggestsTheNearest()
    {
        _folder.SingleError(Yaml($$"""
              jwt:
                secret: {{Secret}}
                role_map: {therapist: operater}
            """), 26, 27).Message.Should().Contain("'operater' is not one of viewer | operator | admin | none; did you mean 'operator'?");
    }
}
