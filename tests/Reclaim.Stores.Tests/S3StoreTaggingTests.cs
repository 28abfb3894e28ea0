using Reclaim.Core.Storage;
using Reclaim.Stores.S3;

namespace Reclaim.Stores.Tests;

/// <summary>
/// Object tagging on s3rver 3.7.1 (it answers PutObjectTagging and GetObjectTagging; DeleteObjectTagging is not
/// implemented there, and the store never sends it: removing a tag puts the remaining set).
/// </summary>
public sealed class S3StoreTaggingTests(S3BucketFixture bucket) : IClassFixture<S3BucketFixture>
{
    [Fact]
    public async Task Tags_PutReadReplacedAndEmptied_UnderTheStoresPrefix_AndAMissingObjectHasNone()
    {
        var options = bucket.NewStoreOptions() with { QuarantineMode = S3StoreOptions.TagQuarantineMode };
        await using var store = new S3Store(options);
        const string key = "orgs/1/uploads/7/raw video+1.mp4";
        await ((IObjectContent)store).WriteAsync(key, new MemoryStream([1, 2, 3]), default);

        store.QuarantinesByTag.Should().BeTrue();
        (await store.GetTagsAsync(key, default)).Should().BeEmpty();
        await store.PutTagsAsync(key, new Dictionary<string, string> { ["reclaim-quarantined"] = "20261202-060000-abcdef", ["reclaim-quarantined-at"] = "2026-12-02T06:00:00Z" }, default);
        (await store.GetTagsAsync(key, default)).Should().Equal(new Dictionary<string, string> { ["reclaim-quarantined"] = "20261202-060000-abcdef", ["reclaim-quarantined-at"] = "2026-12-02T06:00:00Z" });
        await store.PutTagsAsync(key, new Dictionary<string, string> { ["app"] = "x" }, default);
        (await store.GetTagsAsync(key, default)).Should().Equal(new Dictionary<string, string> { ["app"] = "x" }, "a put replaces the whole set");
        await store.PutTagsAsync(key, new Dictionary<string, string>(), default);
        (await store.GetTagsAsync(key, default)).Should().BeEmpty();
        (await store.StatAsync(key, default)).Should().NotBeNull("tagging keeps the object where it is");

        (await store.GetTagsAsync("orgs/1/uploads/7/missing.mp4", default)).Should().BeNull();
        var put = () => store.PutTagsAsync("orgs/1/uploads/7/missing.mp4", new Dictionary<string, string> { ["a"] = "b" }, default);
        await put.Should().ThrowAsync<ObjectNotFoundException>();
        await using var copying = new S3Store(bucket.NewStoreOptions());
        copying.QuarantinesByTag.Should().BeFalse("copy is the default");
    }
}
