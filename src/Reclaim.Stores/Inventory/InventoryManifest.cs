using System.Globalization;
using System.Text.Json;

namespace Reclaim.Stores.Inventory;

/// <summary>The data file formats of an S3 Inventory that can be read.</summary>
public enum InventoryFormat
{
    /// <summary>Gzip-compressed CSV without a header; the columns are the manifest's <c>fileSchema</c>, keys URL-encoded.</summary>
    Csv,

    /// <summary>Apache Parquet, columns named <c>bucket</c>, <c>key</c>, <c>size</c>, <c>last_modified_date</c>, <c>e_tag</c>...</summary>
    Parquet,
}

/// <summary>One data file an inventory manifest names.</summary>
/// <param name="Key">The file's key in the destination bucket (<c>files[].key</c>).</param>
/// <param name="Size">Its size in bytes (<c>files[].size</c>), or <see langword="null"/> when the manifest omits it.</param>
/// <param name="Md5">The lowercase hex MD5 of its bytes (<c>files[].MD5checksum</c>), or <see langword="null"/> when omitted.</param>
public sealed record InventoryFile(string Key, long? Size, string? Md5);

/// <summary>
/// An S3 Inventory's <c>manifest.json</c>: which bucket it lists, when it was taken, in which format, and the data
/// files holding the list (AWS S3 User Guide, "Inventory manifest").
/// </summary>
/// <param name="SourceBucket">The bucket the inventory lists (<c>sourceBucket</c>).</param>
/// <param name="DestinationBucket">
/// The bucket holding the data files (<c>destinationBucket</c>, an ARN <c>arn:aws:s3:::name</c> or a name), as a
/// name; <see langword="null"/> when the manifest omits it.
/// </param>
/// <param name="CreatedAt">
/// When the inventory began scanning the bucket (<c>creationTimestamp</c>, milliseconds since 1970 UTC): every object
/// it lists is at most this new, and it knows nothing of what came later.
/// </param>
/// <param name="Format">The data files' format (<c>fileFormat</c>).</param>
/// <param name="Columns">The CSV columns in order (<c>fileSchema</c>, for example <c>Bucket, Key, Size, LastModifiedDate, ETag</c>); empty for Parquet, whose files name their own.</param>
/// <param name="Files">The data files (<c>files</c>); empty for an empty bucket.</param>
public sealed record InventoryManifest(
    string SourceBucket,
    string? DestinationBucket,
    DateTimeOffset CreatedAt,
    InventoryFormat Format,
    IReadOnlyList<string> Columns,
    IReadOnlyList<InventoryFile> Files)
{
    /// <summary>The CSV columns planning needs (an inventory's optional fields <c>Size</c> and <c>LastModifiedDate</c> must be on).</summary>
    internal static readonly string[] RequiredCsvColumns = ["Key", "Size", "LastModifiedDate"];

    /// <summary>Reads a manifest.</summary>
    /// <param name="json">The manifest's bytes (UTF-8 JSON).</param>
    /// <param name="location">Where it came from (<c>s3://bucket/key</c> or a path), for messages.</param>
    /// <returns>The manifest.</returns>
    /// <exception cref="InventoryException">
    /// The bytes are not JSON, a field is missing or of the wrong type, the format is neither CSV nor Parquet (ORC is
    /// not read), or a CSV schema lacks <c>Key</c>, <c>Size</c> or <c>LastModifiedDate</c>.
    /// </exception>
    public static InventoryManifest Parse(ReadOnlySpan<byte> json, string location)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new InventoryException($"inventory manifest {location} is not JSON ({e.Message}): give the manifest.json of an S3 Inventory", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Bad(location, "is not a JSON object");
            }

            var source = Text(root, "sourceBucket", location) ?? throw Missing(location, "sourceBucket");
            var destination = Text(root, "destinationBucket", location) is { } arn ? BucketName(arn) : null;
            var created = Text(root, "creationTimestamp", location) ?? throw Missing(location, "creationTimestamp");
            if (!long.TryParse(created, NumberStyles.None, CultureInfo.InvariantCulture, out var createdMs) || createdMs > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                throw Bad(location, $"has creationTimestamp '{created}': expected milliseconds since 1970 UTC, such as \"1514944800000\"");
            }

            var formatText = Text(root, "fileFormat", location) ?? throw Missing(location, "fileFormat");
            var format = formatText.ToUpperInvariant() switch
            {
                "CSV" => InventoryFormat.Csv,
                "PARQUET" => InventoryFormat.Parquet,
                "ORC" => throw Bad(location, "is of format ORC, which is not read: configure the inventory's output format as CSV or Parquet"),
                _ => throw Bad(location, $"has fileFormat '{formatText}': expected CSV or Parquet"),
            };

            IReadOnlyList<string> columns = [];
            if (format == InventoryFormat.Csv)
            {
                var schema = Text(root, "fileSchema", location) ?? throw Missing(location, "fileSchema");
                columns = [.. schema.Split(',', StringSplitOptions.TrimEntries)];
                var missing = RequiredCsvColumns.Where(c => !columns.Contains(c, StringComparer.Ordinal)).ToList();
                if (missing.Count > 0)
                {
                    throw Bad(location, $"lists no {string.Join(" or ", missing)} (fileSchema: {schema}): add the optional fields Size and Last modified date to the inventory's configuration");
                }
            }

            if (!root.TryGetProperty("files", out var filesElement) || filesElement.ValueKind != JsonValueKind.Array)
            {
                throw Missing(location, "files");
            }

            var files = new List<InventoryFile>(filesElement.GetArrayLength());
            foreach (var file in filesElement.EnumerateArray())
            {
                var where = $"files[{files.Count}]";
                if (file.ValueKind != JsonValueKind.Object)
                {
                    throw Bad(location, $"has {where} that is not an object with a key");
                }

                var key = Text(file, "key", location, where) ?? throw Missing(location, $"{where}.key");
                long? size = null;
                if (file.TryGetProperty("size", out var sizeElement))
                {
                    size = sizeElement.ValueKind == JsonValueKind.Number && sizeElement.TryGetInt64(out var value) && value >= 0
                        ? value
                        : throw Bad(location, $"has {where}.size that is not a byte count");
                }

                var md5 = Text(file, "MD5checksum", location, where)?.ToLowerInvariant();
                if (md5 is not null && (md5.Length != 32 || !md5.All(char.IsAsciiHexDigit)))
                {
                    throw Bad(location, $"has {where}.MD5checksum '{md5}': expected 32 hex digits");
                }

                files.Add(new InventoryFile(key, size, md5));
            }

            return new InventoryManifest(source, destination, DateTimeOffset.FromUnixTimeMilliseconds(createdMs), format, columns, files);
        }
    }

    /// <summary>A bucket's name from an ARN (<c>arn:aws:s3:::name</c>) or a name as is.</summary>
    private static string BucketName(string arnOrName)
    {
        var colons = arnOrName.LastIndexOf(':');
        return arnOrName.StartsWith("arn:", StringComparison.Ordinal) && colons >= 0 ? arnOrName[(colons + 1)..] : arnOrName;
    }

    /// <summary>A string property, <see langword="null"/> when absent or JSON null.</summary>
    private static string? Text(JsonElement element, string name, string location, string? where = null)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String when value.GetString() is { Length: > 0 } text => text,
            JsonValueKind.Number => value.GetRawText(),
            _ => throw Bad(location, $"has {(where is null ? name : $"{where}.{name}")} that is not a text value"),
        };
    }

    private static InventoryException Missing(string location, string field) =>
        new($"inventory manifest {location} has no '{field}': give the manifest.json of an S3 Inventory (the file next to manifest.checksum)");

    private static InventoryException Bad(string location, string what) => new($"inventory manifest {location} {what}");
}
