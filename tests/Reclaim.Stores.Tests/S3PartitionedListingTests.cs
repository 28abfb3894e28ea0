using Amazon.S3.Model;
using Reclaim.Core.Storage;
using Reclaim.Stores.S3;
using Reclaim.Testing;

namespace Reclaim.Stores.Tests;

/// <summary>
/// The partitioned listing against s3rver: whatever its ranges (folders, sampled, split on the way, placed by hand
/// inside a folder, empty), it yields exactly what one ListObjectsV2 stream yields, in the same order.
/// </summary>
public sealed class S3PartitionedListingTests(S3BucketFixture bucket) : IClassFixture<S3BucketFixture>, IAsyncLifetime
{
    private readonly string _prefix = $"partitioned-{Guid.NewGuid():N}/";

    /// <summary>Keys where '-' (0x2D), '.' (0x2E) and '/' (0x2F) interleave, folders of many objects, and a tail of loose keys.</summary>
    private static readonly IReadOnlyList<string> Keys =
    [
        "a", "a-b", "a.b", "a/b", "a/b-c", "a/b.c", "a/b/c", "a/b/c/d", "a0",
        .. Enumerable.Range(0, 60).Select(i => $"orgs/1/uploads/a/f{i:D2}.bin"),
        .. Enumerable.Range(0, 30).Select(i => $"orgs/1-x/uploads/b/{i:D2}"),
        .. Enumerable.Range(0, 30).Select(i => $"orgs/1.x/uploads/c/{i:D2}"),
        "orgs/1/", "orgs/1", "orgs/10/uploads/d/x", "orgs/1/uploads/a/", "orgs/1/uploads/a.txt", "orgs/1/uploads/a-/z",
        .. Enumerable.Range(0, 120).Select(i => $"orgs/{(i % 7) + 2}/uploads/{i:D3}/clip-{i % 3}.mp4"),
        .. Enumerable.Range(0, 80).Select(i => $"tail/{i * 37 % 1000:D3}"),
        "z", "z-", "z.", "z/", "z/z",
    ];

    public async Task InitializeAsync()
    {
        using var client = bucket.CreateClient();
        await Parallel.ForEachAsync(Keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, token) =>
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Bucket, Key = _prefix + key, ContentBody = key, UseChunkEncoding = false }, token));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData(ListingSplit.FirstFolder, "", 4)]
    [InlineData(ListingSplit.Sampled, "", 4)]
    [InlineData(ListingSplit.FirstFolder, "orgs/", 3)]
    [InlineData(ListingSplit.Sampled, "orgs/", 8)]
    [InlineData(ListingSplit.Sampled, "tail/", 2)]
    public async Task Partitioned_YieldsExactlyTheSequentialListing(ListingSplit split, string prefix, int streams)
    {
        // Arrange: pages of 7 keys, so a few hundred keys make many pages, ranges and splits.
        await using var store = new S3Store(bucket.StoreOptions(_prefix) with { ListConcurrency = streams }) { PartitionPageKeys = 7 };
        var sequential = await store.ListAsync(prefix, default).CollectAsync();

        // Act
        var partitioned = await store.ListPartitionedAsync(prefix, split, default).CollectAsync();

        // Assert
        sequential.Should().NotBeEmpty();
        partitioned.Should().Equal(sequential);
    }

    [Theory]
    [InlineData("orgs/1/uploads/a/f25.bin")] // an existing key inside a folder group
    [InlineData("orgs/1/uploads/a/f25")] // between two keys of one folder
    [InlineData("orgs/1/uploads/a/f25.bin", "orgs/1/uploads/a/f25.bin0", "orgs/1/uploads/a/f25.bio")] // empty ranges in a folder
    [InlineData("!", "\"")] // before every key: the first ranges are empty
    [InlineData("zz", "zzz", "~")] // after every key: the last ranges are empty
    [InlineData("a", "a-b", "a.b", "a/b", "orgs/1", "orgs/1-x/", "orgs/1.x/", "orgs/1/", "orgs/10/", "orgs/2/", "z/")]
    public async Task PartitionedWithBoundsAnywhere_YieldsExactlyTheSequentialListing(params string[] bounds)
    {
        await using var store = new S3Store(bucket.StoreOptions(_prefix) with { ListConcurrency = 3 }) { PartitionPageKeys = 5 };
        var sequential = await store.ListAsync("", default).CollectAsync();

        var partitioned = await store.ListPartitionedAsync("", bounds.Select(b => _prefix + b).ToList(), default).CollectAsync();

        partitioned.Select(o => o.Key).Should().Equal(sequential.Select(o => o.Key));
        partitioned.Should().Equal(sequential);
    }

    [Fact]
    public async Task Partitioned_ThroughAFaultyService_StillYieldsEveryKeyOnce_AndUsesSeveralStreams()
    {
        // 20 % of requests fail (503 SlowDown, 500, reset) and every request waits 20 ms: retries happen inside ranges.
        await using var proxy = new FaultProxy(bucket.Endpoint, failureRate: 0.2) { Delay = TimeSpan.FromMilliseconds(20) };
        await using var store = new S3Store(bucket.StoreOptions(_prefix) with
        {
            Endpoint = proxy.Endpoint.ToString(),
            MaxAttempts = 10,
            RetryBaseDelay = TimeSpan.FromMilliseconds(5),
            ListConcurrency = 6,
        }) { PartitionPageKeys = 10 };
        proxy.FailureRate = 0;
        var sequential = await store.ListAsync("", default).CollectAsync();
        proxy.FailureRate = 0.2;

        var listing = new S3PartitionedListing(store, _prefix, streams: 6, pageKeys: 10);
        var partitioned = await listing.ListAsync(ListingSplit.Sampled, default).CollectAsync();

        partitioned.Select(o => o.Key[_prefix.Length..]).Should().Equal(sequential.Select(o => o.Key));
        proxy.Faults.Should().BeGreaterThan(0);
        listing.PeakRanges.Should().BeGreaterThan(6, "ranges were split ahead of the stream as its keys came");
        proxy.PeakInFlight.Should().BeGreaterThan(1);
    }
}
