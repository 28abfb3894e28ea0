using Amazon.S3.Model;
using Reclaim.Core.Storage;
using Reclaim.Stores.Inventory;
using Reclaim.Stores.S3;
using Reclaim.Testing;

namespace Reclaim.Stores.Tests;

/// <summary>
/// An S3 Inventory as a store's planning listing, against s3rver: from CSV (gzip) or Parquet, in the bucket or on
/// disk, it yields exactly what the live listing yields, in the same order; a manifest that cannot be trusted is
/// refused with what is wrong.
/// </summary>
public sealed class S3InventoryTests(S3BucketFixture bucket) : IClassFixture<S3BucketFixture>, IAsyncLifetime
{
    private readonly string _root = $"inventory-{Guid.NewGuid():N}/";
    private readonly TemporaryFolder _folder = new("s3-inventory");
    private static readonly DateTimeOffset CreatedAt = DateTimeOffset.UtcNow.AddMinutes(5);

    /// <summary>Keys where '-', '.' and '/' interleave, that need URL-encoding in CSV, NFC and NFD forms of one name.</summary>
    private static readonly IReadOnlyList<string> Keys =
    [
        "a", "a-b", "a.b", "a/b", "a/b-c", "a/b.c", "a/b/c",
        "space here.jpg", "plus+sign.jpg", "per%cent.jpg", "hash#?.jpg", "quote\"s.jpg", "emoji-🎬.mp4",
        "caf\u00e9.jpg", "cafe\u0301.jpg", "orgs/1/uploads/a/", "orgs/1/uploads/a/x.bin",
        .. Enumerable.Range(0, 40).Select(i => $"orgs/{i % 4}/uploads/{i:D3}/clip.mp4"),
    ];

    private string StorePrefix => _root + "media/";

    public async Task InitializeAsync()
    {
        using var client = bucket.CreateClient();
        await Parallel.ForEachAsync(Keys.Select(k => StorePrefix + k).Append(_root + "elsewhere/outside.bin").Append(_root + "media2/sibling.bin"),
            new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (key, token) => await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Bucket, Key = key, ContentBody = key, UseChunkEncoding = false }, token));
    }

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>The bucket's rows under the test root, with a non-current version and a delete marker an inventory of all versions would add.</summary>
    private async Task<List<InventoryRow>> RowsAsync()
    {
        using var client = bucket.CreateClient();
        var rows = await S3Inventories.FromListingAsync(client, bucket.Bucket, _root);
        rows.Add(new InventoryRow(StorePrefix + "a", 99, CreatedAt.AddDays(-30), "0123456789abcdef0123456789abcdef", IsLatest: false));
        rows.Add(new InventoryRow(StorePrefix + "gone.bin", 0, CreatedAt.AddDays(-1), null, IsLatest: true, IsDeleteMarker: true));
        return rows;
    }

    private async Task<string> ManifestAsync(bool parquet, bool inBucket, IReadOnlyList<InventoryRow>? rows = null, string? sourceBucket = null)
    {
        rows ??= await RowsAsync();
        using var client = bucket.CreateClient();
        return inBucket
            ? await S3Inventories.WriteToBucketAsync(client, sourceBucket ?? bucket.Bucket, bucket.Bucket, _root + "inventories/", rows, parquet, CreatedAt)
            : await S3Inventories.WriteToFolderAsync(_folder.Path, sourceBucket ?? bucket.Bucket, rows, parquet, CreatedAt);
    }

    private S3Store Store(string? manifest, int runObjects = SortedObjectSpill.DefaultRunObjects) =>
        new(bucket.StoreOptions(StorePrefix) with { InventoryManifest = manifest, ListConcurrency = 2 }) { InventoryRunObjects = runObjects };

    [Theory]
    [InlineData(false, true, SortedObjectSpill.DefaultRunObjects)]
    [InlineData(true, true, SortedObjectSpill.DefaultRunObjects)]
    [InlineData(false, false, SortedObjectSpill.DefaultRunObjects)]
    [InlineData(true, false, SortedObjectSpill.DefaultRunObjects)]
    [InlineData(false, true, 3)] // the external sort writes runs of 3 objects and merges them
    [InlineData(true, false, 1)]
    public async Task Snapshot_OfTheBucket_YieldsExactlyTheLiveListing(bool parquet, bool inBucket, int runObjects)
    {
        // Arrange
        var manifest = await ManifestAsync(parquet, inBucket);
        await using var store = Store(manifest, runObjects);
        var live = await store.ListAsync(string.Empty, default).CollectAsync();

        // Act
        var snapshot = await store.OpenSnapshotAsync(string.Empty, default);
        var listed = await snapshot!.Objects.CollectAsync();

        // Assert: same keys, sizes, times and ETags, in the same order; nothing outside the store's prefix.
        live.Should().HaveCount(Keys.Count);
        listed.Should().Equal(live);
        snapshot.TakenAt.Should().Be(DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt.ToUnixTimeMilliseconds()));
        snapshot.Source.Should().Be(manifest);
    }

    [Fact]
    public async Task Snapshot_UnderAPrefix_YieldsTheLiveListingOfThatPrefix()
    {
        var manifest = await ManifestAsync(parquet: false, inBucket: true);
        await using var store = Store(manifest);

        var listed = await (await store.OpenSnapshotAsync("orgs/", default))!.Objects.CollectAsync();

        listed.Should().NotBeEmpty().And.Equal(await store.ListAsync("orgs/", default).CollectAsync());
    }

    [Fact]
    public async Task Snapshot_WithoutInventory_IsNone()
    {
        await using var store = Store(null);

        (await store.OpenSnapshotAsync(string.Empty, default)).Should().BeNull();
    }

    [Fact]
    public async Task Snapshot_ManifestOfAnotherBucket_IsRefused()
    {
        var manifest = await ManifestAsync(parquet: false, inBucket: false, sourceBucket: "someone-elses-bucket");
        await using var store = Store(manifest);

        var act = () => store.OpenSnapshotAsync(string.Empty, default);

        (await act.Should().ThrowAsync<InventoryException>()).Which.Message.Should()
            .Be($"inventory manifest {manifest} lists bucket 'someone-elses-bucket', but store 's3-test' is bucket '{bucket.Bucket}': give the manifest of an inventory of '{bucket.Bucket}'");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Snapshot_ManifestMissing_IsRefusedNamingIt(bool inBucket)
    {
        var manifest = inBucket ? $"s3://{bucket.Bucket}/{_root}nothing/manifest.json" : Path.Join(_folder.Path, "nothing", "manifest.json");
        await using var store = Store(manifest);

        var act = () => store.OpenSnapshotAsync(string.Empty, default);

        (await act.Should().ThrowAsync<InventoryException>()).Which.Message.Should().StartWith($"inventory manifest {manifest} does not exist");
    }

    [Theory]
    [InlineData("{ not json", "is not JSON")]
    [InlineData("[1, 2]", "is not a JSON object")]
    [InlineData("""{"sourceBucket": "B", "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size, LastModifiedDate", "files": []}""", "has no 'creationTimestamp'")]
    [InlineData("""{"sourceBucket": "B", "creationTimestamp": "yesterday", "fileFormat": "CSV", "fileSchema": "Key, Size, LastModifiedDate", "files": []}""", "has creationTimestamp 'yesterday'")]
    [InlineData("""{"sourceBucket": "B", "creationTimestamp": "1514944800000", "fileFormat": "ORC", "files": []}""", "is of format ORC, which is not read")]
    [InlineData("""{"sourceBucket": "B", "creationTimestamp": "1514944800000", "fileFormat": "CSV", "fileSchema": "Bucket, Key, ETag", "files": []}""", "lists no Size or LastModifiedDate")]
    [InlineData("""{"sourceBucket": "B", "creationTimestamp": "1514944800000", "fileFormat": "CSV", "fileSchema": "Key, Size, LastModifiedDate"}""", "has no 'files'")]
    [InlineData("""{"sourceBucket": "B", "creationTimestamp": "1514944800000", "fileFormat": "Parquet", "files": [{"key": "a", "MD5checksum": "xyz"}]}""", "has files[0].MD5checksum 'xyz'")]
    public async Task Snapshot_ManifestMalformed_IsRefusedSayingWhat(string json, string expected)
    {
        var path = Path.Join(_folder.Path, "manifest.json");
        await File.WriteAllTextAsync(path, json.Replace("\"B\"", $"\"{bucket.Bucket}\"", StringComparison.Ordinal));
        await using var store = Store(path);

        var act = () => store.OpenSnapshotAsync(string.Empty, default);

        (await act.Should().ThrowAsync<InventoryException>()).Which.Message.Should().StartWith($"inventory manifest {path} {expected}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Snapshot_DataFileDamaged_IsRefusedBeforeAnyObjectIsYielded(bool parquet)
    {
        // Arrange: one data file's bytes changed after the manifest was written (same size).
        var manifest = await ManifestAsync(parquet, inBucket: false);
        var dataFile = Directory.GetFiles(Path.Join(Path.GetDirectoryName(Path.GetDirectoryName(manifest))!, "data"))[1];
        var bytes = await File.ReadAllBytesAsync(dataFile);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(dataFile, bytes);
        await using var store = Store(manifest);
        var yielded = 0;

        // Act
        var act = async () =>
        {
            await foreach (var _ in (await store.OpenSnapshotAsync(string.Empty, default))!.Objects)
            {
                yielded++;
            }
        };

        // Assert
        (await act.Should().ThrowAsync<InventoryException>()).Which.Message.Should().Contain("has MD5").And.Contain("the manifest says");
        yielded.Should().Be(0);
    }

    [Fact]
    public async Task Snapshot_DataFileMissing_IsRefusedNamingIt()
    {
        var manifest = await ManifestAsync(parquet: false, inBucket: true);
        using var client = bucket.CreateClient();
        var files = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket.Bucket, Prefix = _root + "inventories/" });
        var dataKey = files.S3Objects.First(o => o.Key.EndsWith(".csv.gz", StringComparison.Ordinal)).Key;
        await client.DeleteObjectAsync(bucket.Bucket, dataKey);
        await using var store = Store(manifest);

        var act = async () => await (await store.OpenSnapshotAsync(string.Empty, default))!.Objects.CollectAsync();

        (await act.Should().ThrowAsync<InventoryException>()).Which.Message.Should().StartWith($"inventory file s3://{bucket.Bucket}/{dataKey} does not exist");
    }
}
