using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using Parquet;
using Parquet.Schema;

namespace Reclaim.Testing;

/// <summary>One row of a test inventory: an object of the source bucket, by its full bucket key.</summary>
public sealed record InventoryRow(string Key, long Size, DateTimeOffset LastModified, string? ETag, bool IsLatest = true, bool IsDeleteMarker = false);

/// <summary>
/// Writes S3 Inventories as AWS does (AWS S3 User Guide, "Inventory list" and "Inventory manifest"): data files of
/// gzip CSV (every field quoted, keys URL-encoded, no header) or Parquet (snake_case columns, times as
/// <c>int64 TIMESTAMP_MILLIS</c>), and a <c>manifest.json</c> naming them with their sizes and MD5s, under
/// <c>PREFIX/SOURCE-BUCKET/CONFIG/YYYY-MM-DDTHH-MMZ/manifest.json</c> and <c>PREFIX/SOURCE-BUCKET/CONFIG/data/</c>.
/// </summary>
public static class S3Inventories
{
    /// <summary>Rows of every current object under <paramref name="prefix"/> of a bucket, as a live listing gives them (ETags bare, as inventories write them).</summary>
    public static async Task<List<InventoryRow>> FromListingAsync(IAmazonS3 client, string bucket, string prefix)
    {
        var rows = new List<InventoryRow>();
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix };
        ListObjectsV2Response page;
        do
        {
            page = await client.ListObjectsV2Async(request);
            rows.AddRange((page.S3Objects ?? []).Select(o => new InventoryRow(o.Key, o.Size ?? 0, new DateTimeOffset(o.LastModified!.Value.ToUniversalTime()), o.ETag?.Trim('"'))));
            request.ContinuationToken = page.NextContinuationToken;
        }
        while (page.IsTruncated == true);

        return rows;
    }

    /// <summary>The files of one inventory: relative paths (keys) and bytes, the manifest last.</summary>
    /// <param name="sourceBucket">The bucket the inventory lists.</param>
    /// <param name="destinationBucket">The bucket its files are in.</param>
    /// <param name="prefix">The destination prefix (ending in '/'), or empty.</param>
    /// <param name="rows">The rows, spread round-robin over <paramref name="files"/> data files (so each file is in no key order).</param>
    /// <param name="parquet">Parquet, else gzip CSV.</param>
    /// <param name="createdAt">The inventory's creation time.</param>
    /// <param name="files">How many data files.</param>
    /// <returns>The files by key; the manifest's key is <c>ManifestKey</c>.</returns>
    public static async Task<(string ManifestKey, IReadOnlyList<(string Key, byte[] Bytes)> Files)> BuildAsync(
        string sourceBucket, string destinationBucket, string prefix, IReadOnlyList<InventoryRow> rows, bool parquet, DateTimeOffset createdAt, int files = 3)
    {
        var root = $"{prefix}{sourceBucket}/reclaim-test";
        var output = new List<(string Key, byte[] Bytes)>();
        var entries = new List<object>();
        for (var f = 0; f < files; f++)
        {
            var part = rows.Where((_, i) => i % files == f).Reverse().ToList();
            var bytes = parquet ? await ParquetAsync(sourceBucket, part) : Csv(sourceBucket, part);
            var key = $"{root}/data/{Guid.NewGuid()}.{(parquet ? "parquet" : "csv.gz")}";
            output.Add((key, bytes));
            entries.Add(new Dictionary<string, object>
            {
                ["key"] = key,
                ["size"] = bytes.Length,
                ["MD5checksum"] = Convert.ToHexStringLower(MD5.HashData(bytes)),
            });
        }

        var manifest = new Dictionary<string, object>
        {
            ["sourceBucket"] = sourceBucket,
            ["destinationBucket"] = $"arn:aws:s3:::{destinationBucket}",
            ["version"] = "2016-11-30",
            ["creationTimestamp"] = createdAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            ["fileFormat"] = parquet ? "Parquet" : "CSV",
            ["fileSchema"] = parquet
                ? "message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional int64 size; optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); optional binary e_tag (STRING); optional boolean is_latest; optional boolean is_delete_marker; }"
                : "Bucket, Key, Size, LastModifiedDate, ETag, IsLatest, IsDeleteMarker",
            ["files"] = entries,
        };
        var manifestKey = $"{root}/{createdAt.UtcDateTime:yyyy-MM-dd'T'HH-mm'Z'}/manifest.json";
        output.Add((manifestKey, JsonSerializer.SerializeToUtf8Bytes(manifest)));
        return (manifestKey, output);
    }

    /// <summary>Writes an inventory into <paramref name="destinationBucket"/>; returns the manifest's <c>s3://</c> URL.</summary>
    public static async Task<string> WriteToBucketAsync(IAmazonS3 client, string sourceBucket, string destinationBucket, string prefix, IReadOnlyList<InventoryRow> rows, bool parquet, DateTimeOffset createdAt, int files = 3)
    {
        var (manifestKey, written) = await BuildAsync(sourceBucket, destinationBucket, prefix, rows, parquet, createdAt, files);
        foreach (var (key, bytes) in written)
        {
            await client.PutObjectAsync(new PutObjectRequest { BucketName = destinationBucket, Key = key, InputStream = new MemoryStream(bytes), UseChunkEncoding = false });
        }

        return $"s3://{destinationBucket}/{manifestKey}";
    }

    /// <summary>Writes an inventory under <paramref name="folder"/> (as <c>aws s3 sync</c> of the destination bucket would); returns the manifest's path.</summary>
    public static async Task<string> WriteToFolderAsync(string folder, string sourceBucket, IReadOnlyList<InventoryRow> rows, bool parquet, DateTimeOffset createdAt, int files = 3)
    {
        var (manifestKey, written) = await BuildAsync(sourceBucket, "inventories", "inventory/", rows, parquet, createdAt, files);
        foreach (var (key, bytes) in written)
        {
            var path = Path.Join(folder, key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, bytes);
        }

        return Path.Join(folder, manifestKey);
    }

    private static byte[] Csv(string bucket, IEnumerable<InventoryRow> rows)
    {
        static string Quote(string value) => $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            text.Append(string.Join(',', new[]
            {
                bucket,
                WebUtility.UrlEncode(row.Key),
                row.Size.ToString(CultureInfo.InvariantCulture),
                row.LastModified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                row.ETag ?? string.Empty,
                row.IsLatest ? "true" : "false",
                row.IsDeleteMarker ? "true" : "false",
            }.Select(Quote))).Append('\n');
        }

        using var bytes = new MemoryStream();
        using (var gzip = new GZipStream(bytes, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text.ToString()));
        }

        return bytes.ToArray();
    }

    private static async Task<byte[]> ParquetAsync(string bucket, IReadOnlyList<InventoryRow> rows)
    {
        var bucketField = new DataField<string>("bucket");
        var keyField = new DataField<string>("key");
        var sizeField = new DataField<long?>("size");
        var modifiedField = new DateTimeDataField("last_modified_date", DateTimeFormat.DateAndTime, isNullable: true);
        var etagField = new DataField<string>("e_tag");
        var latestField = new DataField<bool?>("is_latest");
        var markerField = new DataField<bool?>("is_delete_marker");
        var schema = new ParquetSchema(bucketField, keyField, sizeField, modifiedField, etagField, latestField, markerField);
        using var bytes = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(schema, bytes))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(bucketField, rows.Select(_ => bucket).ToList(), null);
            await group.WriteAsync(keyField, rows.Select(r => r.Key).ToList(), null);
            await group.WriteAsync<long>(sizeField, rows.Select(r => (long?)r.Size).ToArray().AsMemory(), null, null, default);
            await group.WriteAsync<DateTime>(modifiedField, rows.Select(r => (DateTime?)r.LastModified.UtcDateTime).ToArray().AsMemory(), null, null, default);
            await group.WriteAsync(etagField, rows.Select(r => r.ETag ?? string.Empty).ToList(), null);
            await group.WriteAsync<bool>(latestField, rows.Select(r => (bool?)r.IsLatest).ToArray().AsMemory(), null, null, default);
            await group.WriteAsync<bool>(markerField, rows.Select(r => (bool?)r.IsDeleteMarker).ToArray().AsMemory(), null, null, default);
        }

        return bytes.ToArray();
    }
}
