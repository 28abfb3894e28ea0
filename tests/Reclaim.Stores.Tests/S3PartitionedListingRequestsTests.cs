using System.Globalization;
using Amazon.S3.Model;
using Reclaim.Core.Storage;
using Reclaim.Stores.S3;
using Reclaim.Testing;

namespace Reclaim.Stores.Tests;

/// <summary>
/// What a partitioned listing costs in requests, counted at the real proxy in front of s3rver: a folder layout whose
/// folders are smaller than a page (as <c>uploads/{shard}/{file}</c> with many shards is) must not be read twice by
/// ranges started on neighbouring folders.
/// </summary>
public sealed class S3PartitionedListingRequestsTests(S3BucketFixture bucket) : IClassFixture<S3BucketFixture>, IAsyncLifetime
{
    private const int Folders = 120;
    private const int Objects = 1200;
    private const int PageKeys = 25;
    private const int Streams = 4;

    private readonly string _prefix = $"requests-{Guid.NewGuid():N}/";

    /// <summary>Objects spread over the folders as the benchmark's are: object i in folder i mod 120, 10 a folder (fewer than a page).</summary>
    private static IEnumerable<string> Keys => Enumerable.Range(0, Objects).Select(i => $"uploads/{i % Folders:D3}/{i:D8}.bin");

    public async Task InitializeAsync()
    {
        using var client = bucket.CreateClient();
        await Parallel.ForEachAsync(Keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, token) =>
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Bucket, Key = _prefix + key, ContentBody = "x", UseChunkEncoding = false }, token));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task FolderSplit_ListsEachKeyAboutOnce_NoMoreThanOnePageAPerRangeBeyondTheKeys()
    {
        // Arrange: every request held 10 ms, so several streams are in flight at once, as at internet latency.
        await using var proxy = new FaultProxy(bucket.Endpoint, failureRate: 0) { Delay = TimeSpan.FromMilliseconds(10) };
        await using var store = new S3Store(bucket.StoreOptions(_prefix) with { Endpoint = proxy.Endpoint.ToString(), ListConcurrency = Streams }) { PartitionPageKeys = PageKeys };
        var sequential = await store.ListAsync("uploads/", default).CollectAsync();
        proxy.RecordRequests = true;
        var listing = new S3PartitionedListing(store, _prefix + "uploads/", Streams, PageKeys);

        // Act
        var partitioned = await listing.ListAsync(ListingSplit.FirstFolder, default).CollectAsync();

        // Assert: the merged listing is the single stream's, and its pages are the keys' pages plus one per range.
        sequential.Should().HaveCount(Objects);
        partitioned.Select(o => o.Key[_prefix.Length..]).Should().Equal(sequential.Select(o => o.Key));
        var listings = proxy.Requests.Where(r => r.Method == "GET" && r.Url.Contains("list-type=2", StringComparison.Ordinal)).ToList();
        var delimited = listings.Count(r => r.Url.Contains("delimiter=", StringComparison.Ordinal));
        var pages = listings.Count - delimited;
        delimited.Should().Be(1, "one delimiter listing finds the 120 folders");
        listings.Should().HaveCount(listing.Requests, "every request the listing sent reached the service once");
        const int keyPages = Objects / PageKeys; // 48
        pages.Should().BeLessThanOrEqualTo(keyPages + (keyPages / S3PartitionedListing.PagesPerPiece) + Streams, "about N / page keys, not each key read twice");
        pages.Should().BeLessThanOrEqualTo(keyPages + listing.RangesMade, "a range costs at most one page beyond its keys' (its last, partial one)");
        listing.RangesMade.Should().BeLessThanOrEqualTo(Streams + (keyPages / (S3PartitionedListing.PagesPerPiece - 1)),
            "the first ranges are at most one per stream; a split cuts a piece of about PagesPerPiece pages (whole folders, so it may be one less)");
        proxy.PeakInFlight.Should().BeGreaterThan(1, "the ranges are listed at once");
    }

    [Theory]
    [InlineData("clips/{0:D6}.mp4")] // digits alone between the prefix and a fixed suffix
    [InlineData("c/{0:D4}/{1}.ts")] // digits, a folder per key and a digit file name
    [InlineData("v{0:x5}")] // hexadecimal
    public async Task SampledSplit_OnKeysOfFewCharacters_SpendsNoRequestOnKeySpaceNoKeyUses(string format)
    {
        // Arrange: 1200 keys (48 pages of 25) whose characters after the prefix are a few digits, so read in all 95
        // printable characters most of the key space between two neighbouring keys is empty (000199 … 000200).
        var prefix = $"digits-{Guid.NewGuid():N}/";
        var keys = Enumerable.Range(0, Objects).Select(i => string.Format(CultureInfo.InvariantCulture, format, i * 7, i % 3)).ToList();
        using (var client = bucket.CreateClient())
        {
            await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, token) =>
                await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Bucket, Key = prefix + key, ContentBody = "x", UseChunkEncoding = false }, token));
        }

        await using var proxy = new FaultProxy(bucket.Endpoint, failureRate: 0) { Delay = TimeSpan.FromMilliseconds(10) };
        await using var store = new S3Store(bucket.StoreOptions(prefix) with { Endpoint = proxy.Endpoint.ToString(), ListConcurrency = Streams }) { PartitionPageKeys = PageKeys };
        var listing = new S3PartitionedListing(store, prefix, Streams, PageKeys);

        // Act
        var partitioned = await listing.ListAsync(ListingSplit.Sampled, default).CollectAsync();

        // Assert: every key once in order; about one request a page, the split points between keys that exist.
        partitioned.Select(o => o.Key[prefix.Length..]).Should().Equal(keys.Order(StringComparer.Ordinal));
        const int keyPages = Objects / PageKeys; // 48
        listing.Requests.Should().BeLessThanOrEqualTo(keyPages + (keyPages / S3PartitionedListing.PagesPerPiece) + Streams,
            "split points fall between keys that exist, not in key space no key uses (read in all 95 printable characters: 69 to 129 requests)");
        listing.EmptyPages.Should().BeLessThanOrEqualTo(listing.RangesMade, "a range spends at most its last page on none of its keys");
        proxy.PeakInFlight.Should().BeGreaterThan(1, "the ranges are listed at once");
    }
}
