using System.Text.Json;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

public sealed class ConfigRedactorTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void ToJson_SpecExample_RedactsKeysAndPasswordsButKeepsTokenHashes()
    {
        var config = _folder.Load(ConfigLoaderTests.SpecExample, ConfigLoaderTests.SpecVariables);

        var json = ConfigRedactor.ToJson(config);
        var text = json.ToJsonString();

        text.Should().NotContain("AKIAEXAMPLE").And.NotContain("s3cr3t").And.NotContain("pa55");
        json["stores"]!["wasabi"]!["access_key"]!.GetValue<string>().Should().Be("***");
        json["stores"]!["wasabi"]!["secret_key"]!.GetValue<string>().Should().Be("***");
        json["catalogs"]!["app"]!["connection"]!.GetValue<string>().Should().Be("postgres://reclaim:***@db.internal:5432/app?sslmode=require");
        json["server"]!["tokens"]![0]!["sha256"]!.GetValue<string>().Should().Be("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    }

    [Fact]
    public void ToJson_SpecExample_UsesTheConfigsKeysAndNotation()
    {
        var config = _folder.Load(ConfigLoaderTests.SpecExample, ConfigLoaderTests.SpecVariables);

        var json = ConfigRedactor.ToJson(config);

        json["stores"]!["media"]!["root"]!.GetValue<string>().Should().Be(Path.Join(_folder.Path, "media"));
        json["policies"]![0]!["min_age"]!.GetValue<string>().Should().Be("1d");
        json["policies"]![0]!["action"]!.GetValue<string>().Should().Be("quarantine");
        json["policies"]![1]!["max_age"]!.GetValue<string>().Should().Be("5d");
        json["policies"]![3]!["folder_depth"]!.GetValue<int>().Should().Be(2);
        json["guards"]!["max_delete_fraction"]!.GetValue<double>().Should().Be(0.10);
        json["trash"]!["retention"]!.GetValue<string>().Should().Be("7d");
        JsonSerializer.Serialize(json).Should().StartWith("{\"path\":");
    }

    [Fact]
    public void ToJson_StoreWithoutCredentials_ShowsThemAsNull()
    {
        var config = _folder.Load("stores:\n  s: {type: s3, bucket: b}\n");

        var json = ConfigRedactor.ToJson(config);

        json["stores"]!["s"]!["access_key"].Should().BeNull();
        json["stores"]!["s"]!["secret_key"].Should().BeNull();
    }
}
