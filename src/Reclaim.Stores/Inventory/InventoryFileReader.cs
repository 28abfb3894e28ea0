using System.Globalization;
using System.IO.Compression;
using System.Net;
using CsvHelper;
using CsvHelper.Configuration;
using Parquet;
using Parquet.Schema;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.Inventory;

/// <summary>
/// Reads the rows of one S3 Inventory data file (gzip CSV through CsvHelper, Parquet through Parquet.Net) as objects:
/// their full bucket keys, sizes, last-modified times and ETags. Only current objects are kept: a row that is not
/// the latest version (<c>IsLatest</c> false) or is a delete marker is skipped, as is a key outside the prefix asked for.
/// </summary>
internal static class InventoryFileReader
{
    /// <summary>Reads one data file.</summary>
    /// <param name="path">The file, on disk (a Parquet file is read by seeking).</param>
    /// <param name="manifest">The manifest naming it: its format, and for CSV its columns.</param>
    /// <param name="name">The file as the manifest names it, for messages.</param>
    /// <param name="keyPrefix">Keys that do not start with it (ordinal) are skipped; empty keeps every key.</param>
    /// <param name="add">Receives each object kept (full bucket key).</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>A task that completes when the file has been read.</returns>
    /// <exception cref="InventoryException">The file is not of the format the manifest says, or a row lacks a key, size or date.</exception>
    public static async Task ReadAsync(string path, InventoryManifest manifest, string name, string keyPrefix, Action<StoredObject> add, CancellationToken cancellationToken)
    {
        try
        {
            if (manifest.Format == InventoryFormat.Csv)
            {
                ReadCsv(path, manifest.Columns, name, keyPrefix, add, cancellationToken);
            }
            else
            {
                await ReadParquetAsync(path, name, keyPrefix, add, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is InvalidDataException or CsvHelperException or IOException and not FileNotFoundException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new InventoryException($"inventory file {name} cannot be read as {(manifest.Format == InventoryFormat.Csv ? "gzip CSV" : "Parquet")}: {e.Message}", e);
        }
    }

    private static void ReadCsv(string path, IReadOnlyList<string> columns, string name, string keyPrefix, Action<StoredObject> add, CancellationToken cancellationToken)
    {
        int Column(string column) => columns.ToList().IndexOf(column);
        var key = Column("Key");
        var size = Column("Size");
        var modified = Column("LastModifiedDate");
        var etag = Column("ETag");
        var latest = Column("IsLatest");
        var marker = Column("IsDeleteMarker");

        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var text = new StreamReader(gzip);
        using var csv = new CsvReader(text, new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            HasHeaderRecord = false,
            DetectColumnCountChanges = true,
            BadDataFound = context => throw new InvalidDataException($"row {context.Context?.Parser?.Row}: malformed field {context.Field}"),
        });
        while (csv.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = csv.Parser.Row;
            if (csv.Parser.Count < columns.Count)
            {
                throw new InvalidDataException($"row {row} has {csv.Parser.Count} fields, the manifest's fileSchema {columns.Count}");
            }

            if ((marker >= 0 && IsTrue(csv.GetField(marker))) || (latest >= 0 && string.Equals(csv.GetField(latest), "false", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            // CSV inventories URL-encode keys (AWS S3 User Guide, "Inventory list"): '+' is a space, '%2B' a plus.
            var decoded = WebUtility.UrlDecode(csv.GetField(key) ?? string.Empty);
            if (decoded.Length == 0)
            {
                throw new InvalidDataException($"row {row} has no key");
            }

            if (!decoded.StartsWith(keyPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var bytes = long.TryParse(csv.GetField(size), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw new InvalidDataException($"row {row} has size '{csv.GetField(size)}' for '{ObjectKey.Printable(decoded)}'");
            var time = DateTimeOffset.TryParse(csv.GetField(modified), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
                ? at
                : throw new InvalidDataException($"row {row} has last-modified date '{csv.GetField(modified)}' for '{ObjectKey.Printable(decoded)}'");
            add(new StoredObject(decoded, bytes, time, ETag(etag >= 0 ? csv.GetField(etag) : null)));
        }

        static bool IsTrue(string? field) => string.Equals(field, "true", StringComparison.OrdinalIgnoreCase);
    }

    private static async Task ReadParquetAsync(string path, string name, string keyPrefix, Action<StoredObject> add, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false);
        var fields = reader.Schema.DataFields;
        DataField? Field(string column) => fields.FirstOrDefault(f => string.Equals(f.Name, column, StringComparison.Ordinal));
        var keyField = Field("key") ?? throw new InventoryException($"inventory file {name} has no 'key' column");
        var sizeField = Field("size") ?? throw new InventoryException($"inventory file {name} has no 'size' column: add the optional field Size to the inventory's configuration");
        var modifiedField = Field("last_modified_date") ?? throw new InventoryException($"inventory file {name} has no 'last_modified_date' column: add the optional field Last modified date to the inventory's configuration");
        var etagField = Field("e_tag");
        var latestField = Field("is_latest");
        var markerField = Field("is_delete_marker");

        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var rows = reader.OpenRowGroupReader(group);
            var count = checked((int)rows.RowCount);
            var keys = new string?[count];
            await rows.ReadAsync(keyField, keys.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            var sizes = await ReadLongsAsync(rows, sizeField, count, cancellationToken).ConfigureAwait(false);
            var times = await ReadTimesAsync(rows, modifiedField, count, name, cancellationToken).ConfigureAwait(false);
            var etags = new string?[count];
            if (etagField is not null)
            {
                await rows.ReadAsync(etagField, etags.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            }

            var latest = latestField is null ? null : await ReadBoolsAsync(rows, latestField, count, cancellationToken).ConfigureAwait(false);
            var markers = markerField is null ? null : await ReadBoolsAsync(rows, markerField, count, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < count; i++)
            {
                if (markers?[i] == true || latest?[i] == false)
                {
                    continue;
                }

                var key = keys[i];
                if (string.IsNullOrEmpty(key))
                {
                    throw new InventoryException($"inventory file {name} has a row without a key (row group {group}, row {i})");
                }

                if (!key.StartsWith(keyPrefix, StringComparison.Ordinal))
                {
                    continue;
                }

                var size = sizes[i] ?? throw new InventoryException($"inventory file {name} has no size for '{ObjectKey.Printable(key)}'");
                var time = times[i] ?? throw new InventoryException($"inventory file {name} has no last-modified date for '{ObjectKey.Printable(key)}'");
                add(new StoredObject(key, size, time, ETag(etags[i])));
            }
        }
    }

    private static async Task<long?[]> ReadLongsAsync(ParquetRowGroupReader rows, DataField field, int count, CancellationToken cancellationToken)
    {
        var values = new long?[count];
        if (field.ClrType == typeof(int))
        {
            var ints = new int?[count];
            await rows.ReadAsync(field, ints.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < count; i++)
            {
                values[i] = ints[i];
            }
        }
        else
        {
            await rows.ReadAsync(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
        }

        return values;
    }

    private static async Task<bool?[]> ReadBoolsAsync(ParquetRowGroupReader rows, DataField field, int count, CancellationToken cancellationToken)
    {
        var values = new bool?[count];
        await rows.ReadAsync(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
        return values;
    }

    /// <summary>Last-modified times: a timestamp column (AWS writes <c>int64 TIMESTAMP_MILLIS</c>), or plain milliseconds.</summary>
    private static async Task<DateTimeOffset?[]> ReadTimesAsync(ParquetRowGroupReader rows, DataField field, int count, string name, CancellationToken cancellationToken)
    {
        var values = new DateTimeOffset?[count];
        if (field.ClrType == typeof(DateTime))
        {
            var times = new DateTime?[count];
            await rows.ReadAsync(field, times.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < count; i++)
            {
                values[i] = times[i] is { } time ? new DateTimeOffset(DateTime.SpecifyKind(time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : time, DateTimeKind.Utc)) : null;
            }
        }
        else if (field.ClrType == typeof(DateTimeOffset))
        {
            await rows.ReadAsync(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
        }
        else if (field.ClrType == typeof(long))
        {
            var millis = new long?[count];
            await rows.ReadAsync(field, millis.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < count; i++)
            {
                values[i] = millis[i] is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
            }
        }
        else
        {
            throw new InventoryException($"inventory file {name} has last_modified_date of type {field.ClrType.Name}: expected a timestamp");
        }

        return values;
    }

    /// <summary>An ETag as a listing gives it: in double quotes (inventories write it bare).</summary>
    private static string? ETag(string? etag) =>
        string.IsNullOrEmpty(etag) ? null : etag.StartsWith('"') ? etag : $"\"{etag}\"";
}
