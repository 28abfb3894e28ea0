using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Reclaim.Engine.Configuration;
using Reclaim.Stores.S3;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary>An s3 store's settings: declared once on <see cref="S3StoreOptions"/>, read from YAML, each problem at its position.</summary>
public sealed class S3StoreConfigTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("list_concurrency: 0", "0 is out of range: expected a whole number from 1 to 64")]
    [InlineData("list_concurrency: 65", "65 is out of range: expected a whole number from 1 to 64")]
    [InlineData("delete_concurrency: 0", "0 is out of range: expected a whole number from 1 to 64")]
    [InlineData("delete_concurrency: lots", "expected a whole number from 1 to 64, found 'lots'")]
    public void Load_ConcurrencyOutOfRange_IsReportedAtItsValue(string setting, string expected)
    {
        var error = _folder.SingleError($"stores:\n  s:\n    type: s3\n    bucket: b\n    {setting}\n", 5, setting.IndexOf(':', StringComparison.Ordinal) + 7);

        error.Message.Should().StartWith($"stores.s.{setting[..setting.IndexOf(':', StringComparison.Ordinal)]}: ").And.Contain(expected);
    }

    [Fact]
    public void Load_S3StoreWithSeveralProblems_ReportsEveryOneAtItsKey()
    {
        var errors = _folder.Errors("""
            stores:
              wasabi:
                type: s3
                endpoint: ftp://example
                access_key: AKIA
                timeout: 2h
                max_attempts: 0
            """);

        errors.Select(e => (e.Location.Line, e.Location.Column, e.Message)).Should().BeEquivalentTo(new[]
        {
            (2, 3, "stores.wasabi.bucket: 'bucket' is required: the bucket's name, for example bucket: my-media"),
            (4, 15, "stores.wasabi.endpoint: 'ftp://example' is not an http:// or https:// URL (for example https://s3.us-east-1.wasabisys.com)"),
            (5, 17, "stores.wasabi.access_key: is set but secret_key is not: give both, or neither to use the SDK's default credential chain"),
            (6, 14, "stores.wasabi.timeout: must be from 1s to 1h, found '2h'"),
            (7, 19, "stores.wasabi.max_attempts: 0 is out of range: expected a whole number from 1 to 20"),
        });
    }

    [Fact]
    public void Load_InvalidPrefix_SaysWhyOnce()
    {
        var error = _folder.SingleError("stores:\n  s: {type: s3, bucket: b, prefix: ../up/}\n", 2, 36);

        error.Message.Should().Be("stores.s.prefix: '../up/' is not a valid key prefix: it has a '..' segment");
    }

    [Fact]
    public void EveryDeclaredOption_IsAKeyOfTheConfigAndOfItsEffectiveView()
    {
        var keys = typeof(S3StoreOptions).GetProperties()
            .Select(p => p.GetCustomAttribute<DisplayAttribute>()?.Name)
            .OfType<string>()
            .ToList();
        keys.Should().Contain(["bucket", "list_concurrency", "delete_concurrency", "timeout"]);
        var yaml = "stores:\n  s:\n    type: s3\n    bucket: b\n    access_key: k\n    secret_key: s\n";

        var config = _folder.Load(yaml);
        var shown = ConfigRedactor.ToJson(config)["stores"]!["s"]!.AsObject();

        shown.Select(p => p.Key).Should().Contain(keys);
        shown["access_key"]!.GetValue<string>().Should().Be("***");
        shown["secret_key"]!.GetValue<string>().Should().Be("***");
        shown["list_concurrency"]!.GetValue<int>().Should().Be(8);
        shown["timeout"]!.GetValue<string>().Should().Be("1m40s");
        foreach (var key in keys.Where(k => k is not ("bucket" or "access_key" or "secret_key")))
        {
            // Each key is also accepted in the file: a key declared on the options is never refused as unknown.
            var withKey = _folder.Errors(yaml + $"    {key}: {{}}\n");
            withKey.Should().NotContain(e => e.Message.Contains("unknown key", StringComparison.Ordinal), key);
        }
    }
}
