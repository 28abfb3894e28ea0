using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Reclaim.Core.Storage;
using Reclaim.Stores.Inventory;

namespace Reclaim.Stores.S3;

/// <summary>Plans from an S3 Inventory: the bucket as its last inventory saw it, read from a few files instead of listed page by page.</summary>
public sealed partial class S3Store : ISnapshotListing
{
    /// <inheritdoc/>
    /// <remarks>
    /// With <see cref="S3StoreOptions.InventoryManifest"/> set, reads the manifest (one GetObject, or a file) and checks
    /// that it is an inventory of this store's bucket; enumerating the snapshot then fetches the data files the
    /// manifest names, <see cref="S3StoreOptions.ListConcurrency"/> at a time, checks each against the manifest's size
    /// and MD5, keeps the current objects under the store's prefix and <paramref name="prefix"/>, and yields them in key
    /// order. Memory is flat whatever the inventory's size: inventory files are not in key order, so the objects are put
    /// in order by an external sort, every <see cref="SortedObjectSpill.DefaultRunObjects"/> of them sorted and
    /// written to a temporary file (about 30 bytes an object plus twice its key's length on disk), the files then
    /// merged as the snapshot is read: about 20 MB of objects and 64 KiB per run file are held.
    /// </remarks>
    /// <exception cref="InventoryException">The manifest is missing, malformed, or of another bucket; while enumerating, a data file is missing, damaged or malformed.</exception>
    /// <exception cref="AmazonS3Exception">The service refused a request other than with 404, or kept failing past the attempts allowed.</exception>
    public async Task<ListingSnapshot?> OpenSnapshotAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (_options.InventoryManifest is not { } location)
        {
            return null;
        }

        if (prefix.Length > 0)
        {
            ObjectKey.EnsureValid(prefix);
        }

        var manifest = InventoryManifest.Parse(await ReadManifestAsync(location, cancellationToken).ConfigureAwait(false), location);
        if (!string.Equals(manifest.SourceBucket, Bucket, StringComparison.Ordinal))
        {
            throw new InventoryException($"inventory manifest {location} lists bucket '{manifest.SourceBucket}', but store '{Name}' is bucket '{Bucket}': give the manifest of an inventory of '{Bucket}'");
        }

        return new ListingSnapshot(manifest.CreatedAt, location, ReadSnapshotAsync(manifest, location, _prefix + prefix, cancellationToken));
    }

    /// <summary>Objects read from an inventory file handed to the sort at once: 4096.</summary>
    private const int AddBatch = 4096;

    /// <summary>Objects the inventory's external sort holds before writing a run: <see cref="SortedObjectSpill.DefaultRunObjects"/>; tests lower it to make many runs of few objects.</summary>
    internal int InventoryRunObjects { get; init; } = SortedObjectSpill.DefaultRunObjects;

    private async Task<byte[]> ReadManifestAsync(string location, CancellationToken cancellationToken)
    {
        if (ParseS3Url(location) is not { } url)
        {
            try
            {
                return await File.ReadAllBytesAsync(location, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new InventoryException($"inventory manifest {location} does not exist: give the path of an S3 Inventory's manifest.json", e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InventoryException($"inventory manifest {location} cannot be read: {e.Message}", e);
            }
        }

        var path = Path.GetTempFileName();
        try
        {
            await DownloadAsync(url.Bucket, url.Key, location, path, cancellationToken).ConfigureAwait(false);
            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private async IAsyncEnumerable<StoredObject> ReadSnapshotAsync(InventoryManifest manifest, string location, string keyPrefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var objects = new SortedObjectSpill(Path.GetTempPath(), InventoryRunObjects);
        var folder = Directory.CreateTempSubdirectory("reclaim-inventory-");
        try
        {
            var destination = manifest.DestinationBucket ?? ParseS3Url(location)?.Bucket;
            await Parallel.ForEachAsync(
                manifest.Files,
                new ParallelOptions { MaxDegreeOfParallelism = _options.ListConcurrency, CancellationToken = cancellationToken },
                async (file, token) =>
                {
                    var name = destination is not null && ParseS3Url(location) is not null ? $"s3://{destination}/{file.Key}" : file.Key;
                    var path = await FetchAsync(file, location, destination, folder.FullName, token).ConfigureAwait(false);
                    // Into the sort a batch at a time: a data file of millions of rows is never held whole.
                    var read = new List<StoredObject>(AddBatch);
                    await InventoryFileReader.ReadAsync(path, manifest, name, keyPrefix, item =>
                    {
                        read.Add(item);
                        if (read.Count == AddBatch)
                        {
                            objects.Add(read);
                            read.Clear();
                        }
                    }, token).ConfigureAwait(false);
                    objects.Add(read);
                    if (path.StartsWith(folder.FullName, StringComparison.Ordinal))
                    {
                        File.Delete(path);
                    }
                }).ConfigureAwait(false);
        }
        finally
        {
            folder.Delete(recursive: true);
        }

        // Inventory files list objects in no particular order; plans need the listing's.
        string? previous = null;
        foreach (var item in objects.ReadSorted())
        {
            if (string.Equals(previous, item.Key, StringComparison.Ordinal))
            {
                throw new InventoryException($"inventory manifest {location} lists '{ObjectKey.Printable(item.Key)}' twice as a current object: its files overlap, or it mixes two inventories");
            }

            previous = item.Key;
            yield return item with { Key = item.Key[_prefix.Length..] };
        }
    }

    /// <summary>A data file on disk, checked against the manifest's size and MD5: downloaded into <paramref name="folder"/>, or found next to a manifest on disk.</summary>
    private async Task<string> FetchAsync(InventoryFile file, string location, string? destination, string folder, CancellationToken cancellationToken)
    {
        string path;
        string name;
        if (ParseS3Url(location) is not null)
        {
            name = $"s3://{destination}/{file.Key}";
            path = Path.Join(folder, Guid.NewGuid().ToString("N"));
            await DownloadAsync(destination!, file.Key, name, path, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            name = file.Key;
            path = FindBesideManifest(location, file.Key);
        }

        var length = new FileInfo(path).Length;
        if (file.Size is { } size && size != length)
        {
            throw new InventoryException($"inventory file {name} is {length} bytes, the manifest says {size}: the copy is incomplete or of another inventory");
        }

        if (file.Md5 is { } md5)
        {
            await using var stream = File.OpenRead(path);
#pragma warning disable CA5351 // MD5 is what the manifest states; it checks the copy, it secures nothing.
            var actual = Convert.ToHexStringLower(await MD5.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
#pragma warning restore CA5351
            if (!string.Equals(actual, md5, StringComparison.Ordinal))
            {
                throw new InventoryException($"inventory file {name} has MD5 {actual}, the manifest says {md5}: the copy is damaged or of another inventory");
            }
        }

        return path;
    }

    /// <summary>
    /// Where a data file of a manifest on disk is: its key under the manifest's folder or any folder above it (a
    /// copy of the destination bucket or of its inventory prefix), else its file name in the manifest's folder or in
    /// a <c>data</c> folder beside it.
    /// </summary>
    private static string FindBesideManifest(string manifestPath, string key)
    {
        var manifestFolder = Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
        var candidates = new List<string>();
        for (var folder = manifestFolder; folder is not null; folder = Path.GetDirectoryName(folder))
        {
            candidates.Add(Path.Join(folder, key));
        }

        var fileName = key[(key.LastIndexOf('/') + 1)..];
        candidates.Add(Path.Join(manifestFolder, fileName));
        candidates.Add(Path.Join(Path.GetDirectoryName(manifestFolder) ?? manifestFolder, "data", fileName));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InventoryException($"inventory file {key}, named by manifest {manifestPath}, is not on disk: copy the inventory's data files with their keys (looked for {candidates[^2]} and {candidates[0]})");
    }

    /// <summary>Downloads one object to <paramref name="path"/> through the retry pipeline; a missing object or bucket is an <see cref="InventoryException"/>.</summary>
    private async Task DownloadAsync(string bucket, string key, string name, string path, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync("GetObject", name, async (client, token) =>
            {
                using var response = await client.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key }, token).ConfigureAwait(false);
                await using var file = File.Create(path);
                await response.ResponseStream.CopyToAsync(file, token).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new InventoryException($"inventory {(key.EndsWith(".json", StringComparison.Ordinal) ? "manifest" : "file")} {name} does not exist ({e.ErrorCode ?? "NotFound"}): give the manifest.json of an S3 Inventory of bucket '{Bucket}'", e);
        }
    }

    /// <summary>The bucket and key of an <c>s3://bucket/key</c> URL, as the AWS CLI writes them.</summary>
    /// <param name="location">A URL or a path.</param>
    /// <returns>The bucket and key (the key not empty); <see langword="null"/> for anything else (a path, <c>s3://bucket</c>).</returns>
    public static (string Bucket, string Key)? ParseS3Url(string location)
    {
        if (!location.StartsWith("s3://", StringComparison.Ordinal))
        {
            return null;
        }

        var rest = location["s3://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && slash < rest.Length - 1 ? (rest[..slash], rest[(slash + 1)..]) : null;
    }
}
