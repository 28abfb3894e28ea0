using System.Runtime.InteropServices;

namespace Reclaim.Core.Storage;

/// <summary>
/// How spill files (the inventory's sorted runs, the plan's spooled groups) write a string that may be
/// <see langword="null"/>: a 32-bit little-endian length in UTF-16 code units (-1 for <see langword="null"/>), then the
/// code units themselves, 2 bytes each in the machine's byte order. Unlike <see cref="BinaryWriter.Write(string)"/>
/// (UTF-8), every string comes back exactly as it went in, lone surrogates included, and without transcoding.
/// </summary>
/// <remarks>The files are temporary and read back by the process that wrote them, so the machine's byte order is enough.</remarks>
public static class SpillStrings
{
    /// <summary>Writes <paramref name="value"/> (or <see langword="null"/>) at the writer's position.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The string; <see langword="null"/> is written as the length -1.</param>
    public static void WriteNullableString(this BinaryWriter writer, string? value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is null)
        {
            writer.Write(-1);
            return;
        }

        writer.Write(value.Length);
        writer.Write(MemoryMarshal.AsBytes(value.AsSpan()));
    }

    /// <summary>Reads a string written by <see cref="WriteNullableString"/>.</summary>
    /// <param name="reader">The reader, at the start of a string.</param>
    /// <returns>The string, or <see langword="null"/> when <see langword="null"/> was written.</returns>
    /// <exception cref="EndOfStreamException">The stream ends inside the string.</exception>
    public static string? ReadNullableString(this BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var length = reader.ReadInt32();
        if (length < 0)
        {
            return null;
        }

        // BinaryReader buffers nothing beyond what it has returned, so its stream is at the first code unit.
        return string.Create(length, reader.BaseStream, static (chars, stream) => stream.ReadExactly(MemoryMarshal.AsBytes(chars)));
    }
}
