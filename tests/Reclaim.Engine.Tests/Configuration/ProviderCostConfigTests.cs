using Reclaim.Core.Planning;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary>An s3 store's <c>provider</c> and its overrides (cost-aware plans).</summary>
public sealed class ProviderCostConfigTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Config(string store) => $$"""
        version: 1
        stores:
          media:
            type: s3
            bucket: media
        {{store}}
        """;

    [Fact]
    public void Load_Wasabi_TakesTheTablesCosts_AndShowsThemInTheEffectiveConfig()
    {
        var config = _folder.Load(Config("    provider: wasabi"));

        config.Stores["media"].Costs.Should().Be(StorageCosts.Providers["wasabi"]);
        config.Stores["media"].PricePerGbMonth.Should().Be(0.0068m, "usage prices the store by its provider");
        var json = ConfigRedactor.ToJson(config)["stores"]!["media"]!;
        json["provider"]!.GetValue<string>().Should().Be("wasabi");
        json["min_storage_duration"]!.GetValue<string>().Should().Be("90d");
    }

    [Fact]
    public void Load_Overrides_ReplaceTheProvidersValues()
    {
        var config = _folder.Load(Config("    provider: aws\n    price_per_gb_month: 0.0125\n    min_storage_duration: 30d\n    request_prices: {list: 0.0054, delete: 0.001}"));

        var costs = config.Stores["media"].Costs!;
        costs.Should().Be(StorageCosts.Providers["aws"] with { PricePerGbMonth = 0.0125m, MinStorageDuration = TimeSpan.FromDays(30), ListPer1000 = 0.0054m, DeletePer1000 = 0.001m });
        costs.FreeDeletes.Should().BeFalse();
    }

    [Fact]
    public void Load_WithoutProvider_HasNoCosts()
    {
        _folder.Load(Config("    price_per_gb_month: 0.02")).Stores["media"].Costs.Should().BeNull();
    }

    [Theory]
    [InlineData("    provider: dropbox", "provider")]
    [InlineData("    provider: aws\n    request_prices: {list: -1}", "must be zero or more")]
    [InlineData("    provider: aws\n    request_prices: {get: 0.1}", "get")]
    public void Load_BadProviderSettings_AreErrors(string store, string message)
    {
        _folder.Errors(Config(store)).Should().Contain(e => e.Message.Contains(message, StringComparison.Ordinal));
    }
}
