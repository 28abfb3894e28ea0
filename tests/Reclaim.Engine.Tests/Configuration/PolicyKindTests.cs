using System.Text.Json;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Planning;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary>Each <c>type:</c> binds to its own policy type, and plan files read and fingerprint as they did before kinds were typed.</summary>
public sealed class PolicyKindTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private const string Yaml = """
        version: 1
        stores:
          media: {type: filesystem, root: ./media}
        catalogs:
          app: {provider: sqlite, connection: app.db}
        policies:
          - name: uploads
            type: orphans
            store: media
            layout: "uploads/{asset}/"
            references: {catalog: app, query: "SELECT id AS asset FROM assets"}
          - name: clips
            type: retention
            store: media
            layout: "clips/{clip...}"
            max_age: 5d
            keep: {catalog: app, query: "SELECT key AS clip FROM clips"}
            action: delete
          - name: sessions
            type: records
            store: media
            catalog: app
            query: "SELECT id, audio AS file FROM sessions"
            objects: ["{file}", "hls/{id}/"]
            after: "DELETE FROM sessions WHERE id = @id"
          - name: requests
            type: queue
            store: media
            catalog: app
            table: media_cleanup_jobs
            target: key
        """;

    [Fact]
    public void Load_EachType_BindsToItsOwnPolicyType()
    {
        var config = _folder.Load(Yaml);

        config.Policies.Select(p => p.GetType()).Should().Equal(typeof(OrphansPolicy), typeof(RetentionPolicy), typeof(RecordsPolicy), typeof(QueuePolicy));
        config.Policies.Select(p => p.Kind).Should().Equal(PolicyKind.Orphans, PolicyKind.Retention, PolicyKind.Records, PolicyKind.Queue);
        config.Policies.Select(p => p.Kind.Name()).Should().Equal("orphans", "retention", "records", "queue");
        ((RetentionPolicy)config.Policies[1]).AgeThreshold.Should().Be(TimeSpan.FromDays(5));
        ((OrphansPolicy)config.Policies[0]).AgeThreshold.Should().Be(TimeSpan.FromHours(24));
    }

    /// <summary>
    /// The fingerprints a plan file carries are those the policies had when every kind shared one bag of settings
    /// (the SHA-256 of the same fields, computed apart from this code), so a plan made by an earlier version applies.
    /// </summary>
    [Fact]
    public void Fingerprint_IsTheOneEarlierVersionsWroteInPlanFiles()
    {
        var config = _folder.Load(Yaml);

        PolicyDefinition.Fingerprint(config.Policies[0]).Should().Be("c6d609efe57ba381");
        PolicyDefinition.Fingerprint(config.Policies[1]).Should().Be("4ae5545d17d5da22");
        PolicyDefinition.Fingerprint(config.Policies[2]).Should().Be("07107accdaefc452");
    }

    [Fact]
    public void PlanFile_WritesTheKindAsTheConfigSpellsIt_AndReadsItBack()
    {
        var plan = new PolicyPlan { Policy = "clips", Type = PolicyKind.Retention, Store = "media", Action = ActionKind.Delete, Layout = "clips/{clip...}", Definition = "x" };

        var json = JsonSerializer.Serialize(plan, PlanFile.Options);
        var back = JsonSerializer.Deserialize<PolicyPlan>("""{"policy": "p", "type": "records", "store": "s", "action": "delete", "layout": "{file}", "definition": "x"}""", PlanFile.Options)!;

        JsonDocument.Parse(json).RootElement.GetProperty("type").GetString().Should().Be("retention");
        JsonDocument.Parse(JsonSerializer.Serialize(plan)).RootElement.GetProperty("Type").GetString().Should().Be("retention", "a serializer without the plan file's options writes the name too");
        back.Type.Should().Be(PolicyKind.Records);
    }
}
