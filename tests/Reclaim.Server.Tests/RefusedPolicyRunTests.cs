using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Reclaim.Server.Tests;

/// <summary>A server run with one policy a guard refuses: that policy alone is left untouched, the others run.</summary>
public sealed class RefusedPolicyRunTests
{
    /// <summary>
    /// Two more policies: <c>all-uploads</c>, the same as the host's <c>uploads</c> (named apart, as the process's
    /// metrics are shared by every test's server), and <c>thumbs</c>, whose references query is empty:
    /// <c>refuse_empty_references</c> refuses it.
    /// </summary>
    private const string ThumbsPolicy = """
          - name: all-uploads
            type: orphans
            store: media
            layout: "uploads/{asset}/"
            references:
              catalog: app
              query: "SELECT id AS asset FROM assets"
            min_age: 1d
          - name: thumbs
            type: orphans
            store: media
            layout: "uploads/{asset}/thumb.jpg"
            references:
              catalog: app
              query: "SELECT id AS asset FROM assets WHERE 1 = 0"
            min_age: 1d
        """;

    [Fact]
    public async Task Run_WithOnePolicyRefused_AppliesTheOther_AndIsRecordedRefusedWithTheReason()
    {
        await using var host = await ServerHost.StartAsync(editYaml: yaml => yaml.Replace("\nguards:", "\n" + ThumbsPolicy + "\nguards:", StringComparison.Ordinal));
        using var admin = host.As("admin");
        var before = host.StoreKeys();

        var run = await ServerHost.RunAsync(admin, new { policies = new[] { "all-uploads", "thumbs" }, dry_run = false });
        var runId = run["id"]!.GetValue<string>();

        run["status"]!.GetValue<string>().Should().Be("refused", run.ToJsonString());
        run["error"]!.GetValue<string>().Should().Contain("policy 'thumbs': refuse_empty_references");
        var orphans = before.Where(k => k.StartsWith("uploads/gone", StringComparison.Ordinal)).ToList();
        host.StoreKeys().Should().NotIntersectWith(orphans, "the all-uploads policy ran");
        run["summary"]!["parts"]!["all-uploads"]!["objects_done"]!.GetValue<long>().Should().Be(orphans.Count);

        // The history, read back from state, says the same.
        var recorded = (await admin.GetFromJsonAsync<JsonArray>("api/v1/runs"))!.Single(r => r!["id"]!.GetValue<string>() == runId)!;
        recorded["status"]!.GetValue<string>().Should().Be("refused");
        recorded["error"]!.GetValue<string>().Should().Contain("policy 'thumbs'");
        recorded["summary"]!["refused"]!.AsArray().Should().ContainSingle();
    }

    [Fact]
    public async Task Run_WithThePlanningFailing_IsRecordedFailedWithTheError()
    {
        await using var host = await ServerHost.StartAsync(referencesQuery: "SELECT idd AS asset FROM assets");
        using var admin = host.As("admin");

        var run = await ServerHost.RunAsync(admin, new { dry_run = false });

        run["status"]!.GetValue<string>().Should().Be("failed");
        var recorded = (await admin.GetFromJsonAsync<JsonArray>("api/v1/runs"))!.Single(r => r!["id"]!.GetValue<string>() == run["id"]!.GetValue<string>())!;
        recorded["status"]!.GetValue<string>().Should().Be("failed");
        recorded["error"]!.GetValue<string>().Should().Contain("catalog 'app'").And.Contain("idd");
    }
}
