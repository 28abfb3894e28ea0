using Amazon.S3.Model;
using Reclaim.Core.Storage;
using Reclaim.Stores.S3;
using Reclaim.Testing;

namespace Reclaim.Stores.Tests;

/// <summary>DeleteObjects under the store's adaptive limit, against s3rver behind the fault proxy.</summary>
public sealed class S3StoreDeleteTests(S3BucketFixture bucket) : IClassFixture<S3BucketFixture>
{
    [Fact]
    public async Task Delete_ManyBatchesAtOnceWhileTheServiceSaysSlowDown_BacksOffAndDeletesEveryKey()
    {
        // Arrange: 800 objects, deleted as 32 batches of 25 sent all at once through a proxy that answers 30 % of
        // requests with 503 SlowDown.
        var prefix = $"aimd-{Guid.NewGuid():N}/";
        var keys = Enumerable.Range(0, 800).Select(i => $"orgs/{i % 7}/{i:D5}.bin").ToList();
        await PutAllAsync(prefix, keys);
        await using var proxy = new FaultProxy(bucket.Endpoint, failureRate: 0.3) { Kinds = [Fault.SlowDown] };
        await using var store = new S3Store(bucket.StoreOptions(prefix) with
        {
            Endpoint = proxy.Endpoint.ToString(),
            MaxAttempts = 12,
            RetryBaseDelay = TimeSpan.FromMilliseconds(5),
            DeleteConcurrency = 8,
        });

        // Act
        var results = await Task.WhenAll(keys.Chunk(25).Select(batch => store.DeleteAsync(batch, default)));

        // Assert: nothing lost, and the limit came down when the service pushed back.
        results.SelectMany(r => r).Should().BeEmpty("every key was deleted, some after retries");
        proxy.FailureRate = 0;
        (await store.ListAsync("", default).CollectAsync()).Should().BeEmpty();
        proxy.CountOf(Fault.SlowDown).Should().BeGreaterThan(0);
        store.DeleteLimit.Decreases.Should().BeGreaterThan(0);
        store.DeleteLimit.LowestLimitAfterDecrease.Should().BeLessThan(8);
        store.DeleteLimit.PeakInFlight.Should().BeLessThanOrEqualTo(8);
        proxy.PeakInFlight.Should().BeLessThanOrEqualTo(8, "the proxy never saw more DeleteObjects at once than the ceiling");
    }

    [Fact]
    public async Task Delete_WithoutPushBack_GrowsTheLimitToItsCeiling()
    {
        var prefix = $"aimd-{Guid.NewGuid():N}/";
        var keys = Enumerable.Range(0, 300).Select(i => $"k/{i:D4}").ToList();
        await PutAllAsync(prefix, keys);
        await using var store = new S3Store(bucket.StoreOptions(prefix) with { DeleteConcurrency = 4 });

        foreach (var wave in keys.Chunk(40))
        {
            await Task.WhenAll(wave.Chunk(5).Select(batch => store.DeleteAsync(batch, default)));
        }

        store.DeleteLimit.Limit.Should().Be(4);
        store.DeleteLimit.Decreases.Should().Be(0);
        (await store.ListAsync("", default).CollectAsync()).Should().BeEmpty();
    }

    private async Task PutAllAsync(string prefix, IReadOnlyList<string> keys)
    {
        using var client = bucket.CreateClient();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, token) =>
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Bucket, Key = prefix + key, ContentBody = "x", UseChunkEncoding = false }, token));
    }
}
