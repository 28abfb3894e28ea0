using Reclaim.Core.Planning;
using Reclaim.Core.Storage;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Spools proposed groups to a <see cref="SpillFile"/> in a compact binary form (strings as their UTF-16 code units,
/// byte-exact whatever they hold; times as ticks and offset), read back in the order written.
/// </summary>
/// <param name="directory">The folder of the spill file.</param>
internal sealed class SpilledGroupSpool(string directory) : PlannedGroupSpool
{
    private readonly Lock _sync = new();
    private SpillFile? _file;
    private Stream? _append;
    private BinaryWriter? _writer;
    private long _count;

    public override void Append(PlannedGroup group)
    {
        lock (_sync)
        {
            if (_writer is null)
            {
                _file = SpillFile.Create(directory);
                _append = _file.OpenAppend();
                _writer = new BinaryWriter(_append);
            }

            var writer = _writer;
            writer.WriteNullableString(group.GroupKey);
            writer.Write(group.Values.Length);
            foreach (var value in group.Values)
            {
                writer.WriteNullableString(value);
            }

            writer.Write(group.Objects.Count);
            foreach (var item in group.Objects)
            {
                writer.WriteNullableString(item.Key);
                writer.Write(item.Size);
                WriteTime(writer, item.LastModified);
                writer.WriteNullableString(item.ETag);
            }

            WriteTime(writer, group.Newest);
            writer.WriteNullableString(group.Reason);
            _count++;
        }
    }

    public override PlannedGroupSpool CreateEmpty() => new SpilledGroupSpool(directory);

    public override IEnumerable<PlannedGroup> Read()
    {
        var (file, count) = Flushed();
        return file is null ? [] : Read(file, count);
    }

    private (SpillFile? File, long Count) Flushed()
    {
        lock (_sync)
        {
            _writer?.Flush();
            return (_file, _count);
        }
    }

    private static IEnumerable<PlannedGroup> Read(SpillFile file, long count)
    {
        using var reader = new BinaryReader(file.OpenRead());
        string? previousReason = null;
        for (long n = 0; n < count; n++)
        {
            var key = reader.ReadNullableString()!;
            var values = new string[reader.ReadInt32()];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = reader.ReadNullableString()!;
            }

            var objects = new StoredObject[reader.ReadInt32()];
            for (var i = 0; i < objects.Length; i++)
            {
                objects[i] = new StoredObject(reader.ReadNullableString()!, reader.ReadInt64(), ReadTime(reader), reader.ReadNullableString());
            }

            var newest = ReadTime(reader);
            var reason = reader.ReadNullableString()!;

            // Groups written together mostly share one reason: one string for them.
            reason = string.Equals(reason, previousReason, StringComparison.Ordinal) ? previousReason! : reason;
            previousReason = reason;
            yield return new PlannedGroup(key, values, objects, newest, reason);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_sync)
            {
                _writer?.Dispose();
                _file?.Dispose();
                _writer = null;
                _file = null;
            }
        }
    }

    private static void WriteTime(BinaryWriter writer, DateTimeOffset time)
    {
        writer.Write(time.Ticks);
        writer.Write(time.Offset.Ticks);
    }

    private static DateTimeOffset ReadTime(BinaryReader reader)
    {
        var ticks = reader.ReadInt64();
        return new DateTimeOffset(ticks, TimeSpan.FromTicks(reader.ReadInt64()));
    }
}
