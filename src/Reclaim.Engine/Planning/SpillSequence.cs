using Reclaim.Core.Storage;

namespace Reclaim.Engine.Planning;

/// <summary>
/// The file behind a spool of a plan's items (<see cref="SpilledGroupSpool"/>, <see cref="SpilledRowSpool"/>): items
/// appended to a <see cref="SpillFile"/> in a compact binary form and read back in the order written, by as many
/// reads as wanted, each from the start. The file is made at the first append; nothing is written for an empty spool.
/// </summary>
/// <typeparam name="T">The items.</typeparam>
/// <param name="directory">The folder of the spill file.</param>
/// <param name="write">Writes one item.</param>
/// <param name="read">Reads one item, given the one read before it in the same pass (<see langword="null"/> for the first), so that repeated strings can be shared.</param>
internal sealed class SpillSequence<T>(string directory, Action<BinaryWriter, T> write, Func<BinaryReader, T?, T> read) : IDisposable
    where T : class
{
    private readonly Lock _sync = new();
    private SpillFile? _file;
    private BinaryWriter? _writer;
    private long _count;

    /// <summary>Appends an item.</summary>
    /// <param name="item">The item.</param>
    public void Append(T item)
    {
        lock (_sync)
        {
            if (_writer is null)
            {
                _file = SpillFile.Create(directory);
                _writer = new BinaryWriter(_file.OpenAppend());
            }

            write(_writer, item);
            _count++;
        }
    }

    /// <summary>Reads every item appended so far, in order, lazily.</summary>
    /// <returns>The items.</returns>
    public IEnumerable<T> Read()
    {
        SpillFile? file;
        long count;
        lock (_sync)
        {
            _writer?.Flush();
            (file, count) = (_file, _count);
        }

        return file is null ? [] : Read(file, count);
    }

    private IEnumerable<T> Read(SpillFile file, long count)
    {
        using var reader = new BinaryReader(file.OpenRead());
        T? previous = null;
        for (long n = 0; n < count; n++)
        {
            previous = read(reader, previous);
            yield return previous;
        }
    }

    /// <inheritdoc />
    public void Dispose()
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

/// <summary>How spooled items write what <see cref="Core.Storage.SpillStrings"/> does not: times, and the objects of a group or row.</summary>
internal static class SpillFormat
{
    /// <summary>Writes a time as its ticks and its offset's ticks.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="time">The time.</param>
    public static void WriteTime(BinaryWriter writer, DateTimeOffset time)
    {
        writer.Write(time.Ticks);
        writer.Write(time.Offset.Ticks);
    }

    /// <summary>Reads a time written by <see cref="WriteTime"/>.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The time.</returns>
    public static DateTimeOffset ReadTime(BinaryReader reader)
    {
        var ticks = reader.ReadInt64();
        return new DateTimeOffset(ticks, TimeSpan.FromTicks(reader.ReadInt64()));
    }

    /// <summary>Writes objects: their count, then each one's key, size, modification time and ETag.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="objects">The objects.</param>
    public static void WriteObjects(BinaryWriter writer, IReadOnlyList<StoredObject> objects)
    {
        writer.Write(objects.Count);
        foreach (var item in objects)
        {
            writer.WriteNullableString(item.Key);
            writer.Write(item.Size);
            WriteTime(writer, item.LastModified);
            writer.WriteNullableString(item.ETag);
        }
    }

    /// <summary>Reads objects written by <see cref="WriteObjects"/>.</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The objects.</returns>
    public static StoredObject[] ReadObjects(BinaryReader reader)
    {
        var objects = new StoredObject[reader.ReadInt32()];
        for (var i = 0; i < objects.Length; i++)
        {
            objects[i] = new StoredObject(reader.ReadNullableString()!, reader.ReadInt64(), ReadTime(reader), reader.ReadNullableString());
        }

        return objects;
    }

    /// <summary>Writes strings: their count, then each one.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="values">The strings.</param>
    public static void WriteStrings(BinaryWriter writer, IReadOnlyList<string> values)
    {
        writer.Write(values.Count);
        foreach (var value in values)
        {
            writer.WriteNullableString(value);
        }
    }

    /// <summary>Reads strings written by <see cref="WriteStrings"/> (none of them <see langword="null"/>: groups' values, rows' keys and prefixes).</summary>
    /// <param name="reader">The reader.</param>
    /// <returns>The strings.</returns>
    public static string[] ReadStrings(BinaryReader reader)
    {
        var values = new string[reader.ReadInt32()];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = reader.ReadNullableString()!;
        }

        return values;
    }

    /// <summary><paramref name="value"/>, or <paramref name="previous"/> when equal (ordinal): items written together mostly share one reason, held once.</summary>
    /// <param name="value">A string read.</param>
    /// <param name="previous">The same string of the item read before, or <see langword="null"/>.</param>
    /// <returns>One of the two.</returns>
    public static string Shared(string value, string? previous) => previous is not null && string.Equals(value, previous, StringComparison.Ordinal) ? previous : value;
}
