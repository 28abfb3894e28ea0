using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Reclaim.Stores.S3;
using Reclaim.Testing;

namespace Reclaim.Stores.Tests;

/// <summary>A new bucket on the test S3 server (see <see cref="TestS3Service"/>) for one test class.</summary>
public sealed class S3BucketFixture : IAsyncLifetime
{
    private int _stores;

    public Uri Endpoint { get; private set; } = null!;

    public string Bucket { get; } = $"reclaim-test-{Guid.NewGuid():N}"[..32];

    public async Task InitializeAsync()
    {
        Endpoint = await TestS3Service.CreateBucketAsync(Bucket);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Options for a store confined to a prefix no other store of this fixture has.</summary>
    public S3StoreOptions NewStoreOptions() => StoreOptions($"store-{Interlocked.Increment(ref _stores)}/");

    /// <summary>Options for a store over <paramref name="prefix"/> of the fixture's bucket.</summary>
    public S3StoreOptions StoreOptions(string prefix) => new()
    {
        Name = "s3-test",
        Bucket = Bucket,
        Prefix = prefix,
        Endpoint = Endpoint.ToString(),
        ForcePathStyle = true,
        AccessKey = TestEnvironment.S3rverAccessKey,
        SecretKey = TestEnvironment.S3rverSecretKey,
        UseChunkEncoding = false, // s3rver does not decode aws-chunked bodies
        MaxAttempts = 3,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
    };

    /// <summary>A raw client on the test server, for arranging what a store would not write.</summary>
    public AmazonS3Client CreateClient() => TestS3Service.CreateClient(Endpoint);
}
