using Reclaim.Core.Storage;
using Reclaim.Stores.S3;
using Reclaim.Testing;

namespace Reclaim.Stores.Tests;

/// <summary>
/// The conformance suite on an S3 store against s3rver: one bucket for the class, each test's store confined to a
/// prefix of its own. Plus what only S3 has.
/// </summary>
public sealed class S3StoreConformanceTests(S3BucketFixture bucket) : StoreConformanceTests, IClassFixture<S3BucketFixture>
{
    protected override bool HoldsKeysWithEmptySegments => true;

    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult<IObjectStore>(new S3Store(bucket.NewStoreOptions()));

    [Fact]
    public async Task FolderMarkerKey_IsListedAsAnObject()
    {
        await PutAsync("orgs/1/", Array.Empty<byte>());
        await PutAsync("orgs/1/a.txt", "a");

        (await KeysAsync("orgs/")).Should().Equal("orgs/1/", "orgs/1/a.txt");
        (await Store.StatAsync("orgs/1/", default))!.Value.Size.Should().Be(0);
        (await Store.DeleteAsync(["orgs/1/"], default)).Should().BeEmpty();
        (await KeysAsync("")).Should().Equal("orgs/1/a.txt");
    }

    [Fact]
    public async Task Prefix_ConfinesTheStore_OnAFolderBoundary()
    {
        var prefix = $"tenant-{Guid.NewGuid():N}";
        await using var tenant = new S3Store(bucket.StoreOptions(prefix));
        await using var sibling = new S3Store(bucket.StoreOptions(prefix + "2/"));
        await using var parent = new S3Store(bucket.StoreOptions(""));
        await tenant.WriteAsync("a.txt", new MemoryStream([1]), default);
        await sibling.WriteAsync("b.txt", new MemoryStream([2]), default);

        (await tenant.ListAsync("", default).CollectAsync()).Select(o => o.Key).Should().Equal("a.txt");
        (await tenant.StatAsync("b.txt", default)).Should().BeNull();
        (await parent.ListAsync(prefix, default).CollectAsync()).Select(o => o.Key).Should().Equal($"{prefix}/a.txt", $"{prefix}2/b.txt");
        (await tenant.DeleteAsync(["b.txt"], default)).Should().BeEmpty();
        (await sibling.StatAsync("b.txt", default)).Should().NotBeNull();
    }

    [Fact]
    public async Task ListedObject_CarriesTheETagThatStatReturns()
    {
        await PutAsync("tagged.bin", "content");

        var listed = (await Store.ListAsync("", default).CollectAsync()).Single();
        var stat = await Store.StatAsync("tagged.bin", default);

        listed.ETag.Should().NotBeNullOrEmpty().And.Be(stat!.Value.ETag);
    }
}
