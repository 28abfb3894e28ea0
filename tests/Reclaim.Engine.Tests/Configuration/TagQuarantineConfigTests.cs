using Reclaim.Engine.Configuration;
using Reclaim.Engine.Tests.Support;
using Reclaim.Stores.S3;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary>
/// <c>quarantine_mode: tag</c>: accepted on an s3 store whose provider has object tagging (AWS, Wasabi, a generic
/// service), refused at its key (file:line:column, exit 2) on a folder store, on Cloudflare R2 and Backblaze B2, and
/// for a value that is neither copy nor tag.
/// </summary>
public sealed class TagQuarantineConfigTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string S3(string lines) => $"""
        version: 1
        stores:
          media:
            type: s3
            bucket: media
        {lines}
        """;

    [Theory]
    [InlineData("    provider: wasabi\n    quarantine_mode: tag")]
    [InlineData("    provider: aws\n    quarantine_mode: tag")]
    [InlineData("    quarantine_mode: tag")]
    public void Load_TagOnAProviderWithTagging_IsAccepted(string lines)
    {
        _folder.Load(S3(lines)).Stores["media"].S3!.QuarantineMode.Should().Be(S3StoreOptions.TagQuarantineMode);
    }

    [Fact]
    public void Load_WithoutQuarantineMode_CopiesIntoTheTrash()
    {
        _folder.Load(S3("    provider: wasabi")).Stores["media"].S3!.QuarantineMode.Should().Be(S3StoreOptions.CopyQuarantineMode);
    }

    [Theory]
    [InlineData("r2")]
    [InlineData("b2")]
    public void Load_TagOnAProviderWithoutTagging_IsAnErrorAtTheKey(string provider)
    {
        var error = _folder.SingleError(S3($"    provider: {provider}\n    quarantine_mode: tag"), 7, 22);

        error.Message.Should().Contain($"provider {provider}'s S3 API does not have").And.Contain("quarantine_mode: copy");
    }

    [Fact]
    public void Load_TagOnAFolderStore_IsAnErrorAtTheKey()
    {
        var error = _folder.SingleError("""
            version: 1
            stores:
              media:
                type: filesystem
                root: ./media
                quarantine_mode: tag
            """, 6, 5);

        error.Message.Should().Contain("quarantine_mode").And.Contain("does not apply to filesystem stores");
    }

    [Fact]
    public void Load_AnotherMode_IsAnErrorAtTheKey()
    {
        _folder.SingleError(S3("    quarantine_mode: move"), 6, 22).Message.Should().Contain("must be copy").And.Contain("or tag");
    }

    [Fact]
    public async Task Validate_TagOnR2_ExitsTwo_NamingFileLineAndColumn_AndTouchesNothing()
    {
        var path = _folder.Write("reclaim.yaml", S3("    provider: r2\n    quarantine_mode: tag"));

        var result = await CliRun.RunAsync(TimeProvider.System, "validate", "-c", path);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{path}:7:22").And.NotContain("   at ");
    }
}
