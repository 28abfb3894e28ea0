using Reclaim.Engine.Configuration;
using Reclaim.Engine.Planning;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary><c>references:</c> and <c>keep:</c> as a list of <c>{catalog, query}</c>, possibly on different catalogs.</summary>
public sealed class ReferenceListConfigTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Config(string references, string keep = "") => $$"""
        version: 1
        stores:
          media: {type: filesystem, root: ./media}
        catalogs:
          app: {provider: sqlite, connection: app.db}
          archive: {provider: sqlite, connection: archive.db}
        policies:
          - name: uploads
            type: orphans
            store: media
            layout: "orgs/{org}/uploads/{asset}/"
            references:{{references}}
          - name: clips
            type: retention
            store: media
            layout: "clips/{clip}/"
            max_age: 7d{{keep}}
        """;

    [Fact]
    public void Load_AListOfQueriesOnTwoCatalogs_KeepsEachInOrder_AndShowsThemAsAList()
    {
        var config = _folder.Load(Config("""

                  - {catalog: app, query: "SELECT org_id AS org, id AS asset FROM media_assets"}
                  - catalog: archive
                    query: "SELECT org, asset FROM archived"
            """, """

                keep:
                  - {catalog: archive, query: "SELECT clip FROM pinned"}
            """));

        var uploads = (OrphansPolicy)config.Policies[0];
        uploads.References.Should().Equal(
            new QueryConfig("app", "SELECT org_id AS org, id AS asset FROM media_assets"),
            new QueryConfig("archive", "SELECT org, asset FROM archived"));
        ProtectingQueries.Of(config.Policies[1]).Should().Equal(new QueryConfig("archive", "SELECT clip FROM pinned"));
        var json = ConfigRedactor.ToJson(config)["policies"]![0]!["references"]!.AsArray();
        json.Select(q => q!["catalog"]!.GetValue<string>()).Should().Equal("app", "archive");
    }

    [Fact]
    public void Fingerprint_ChangesWhenAQueryIsAddedToTheList_AndIsTheSameForOneQueryAsForAListOfIt()
    {
        var single = _folder.Load(Config(" {catalog: app, query: \"SELECT org, asset FROM a\"}")).Policies[0];
        var listOfOne = _folder.Load(Config("\n      - {catalog: app, query: \"SELECT org, asset FROM a\"}")).Policies[0];
        var two = _folder.Load(Config("\n      - {catalog: app, query: \"SELECT org, asset FROM a\"}\n      - {catalog: archive, query: \"SELECT org, asset FROM b\"}")).Policies[0];

        PolicyDefinition.Fingerprint(listOfOne).Should().Be(PolicyDefinition.Fingerprint(single));
        PolicyDefinition.Fingerprint(two).Should().NotBe(PolicyDefinition.Fingerprint(single));
    }

    [Fact]
    public void Load_AnEmptyList_IsAnErrorAtTheKey()
    {
        var errors = _folder.Errors(Config(" []"));

        errors.Should().ContainSingle(e => e.Message.Contains("policies.uploads.references: the list is empty", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_AnItemThatIsNotAMapping_OrNamesAnUnknownCatalog_IsAnErrorAtTheItem()
    {
        var errors = _folder.Errors(Config("\n      - \"SELECT 1\"\n      - {catalog: nope, query: \"SELECT org, asset FROM a\"}"));

        errors.Should().Contain(e => e.Message.Contains("policies.uploads.references[0]: expected a {catalog, query} mapping", StringComparison.Ordinal) && e.Location.Line == 13);
        errors.Should().Contain(e => e.Message.Contains("unknown catalog 'nope'", StringComparison.Ordinal) && e.Location.Line == 14);
    }
}
