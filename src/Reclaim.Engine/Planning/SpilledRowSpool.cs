using Reclaim.Core.Planning;
using Reclaim.Core.Storage;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Spools a <c>records</c> policy's planned rows to a <see cref="SpillFile"/> in a compact binary form (each row's
/// columns as name and value, SQL NULL kept; its keys, prefixes, objects and reason), read back in the order written.
/// </summary>
/// <param name="directory">The folder of the spill file.</param>
internal sealed class SpilledRowSpool(string directory) : Spool<PlannedRow>
{
    private readonly SpillSequence<PlannedRow> _items = new(directory, Write, Read);

    public override void Append(PlannedRow item) => _items.Append(item);

    public override IEnumerable<PlannedRow> Read() => _items.Read();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _items.Dispose();
        }
    }

    private static void Write(BinaryWriter writer, PlannedRow row)
    {
        writer.Write(row.Columns.Count);
        foreach (var (name, value) in row.Columns)
        {
            writer.WriteNullableString(name);
            writer.WriteNullableString(value);
        }

        SpillFormat.WriteStrings(writer, row.Keys);
        SpillFormat.WriteStrings(writer, row.Prefixes);
        SpillFormat.WriteObjects(writer, row.Objects);
        writer.WriteNullableString(row.Reason);
    }

    private static PlannedRow Read(BinaryReader reader, PlannedRow? previous)
    {
        var count = reader.ReadInt32();
        var columns = new Dictionary<string, string?>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            // Rows of one policy have the same columns: their names are held once.
            var name = reader.ReadNullableString()!;
            columns[previous is not null && previous.Columns.Keys.FirstOrDefault(k => string.Equals(k, name, StringComparison.Ordinal)) is { } shared ? shared : name] = reader.ReadNullableString();
        }

        var keys = SpillFormat.ReadStrings(reader);
        var prefixes = SpillFormat.ReadStrings(reader);
        var objects = SpillFormat.ReadObjects(reader);
        var reason = SpillFormat.Shared(reader.ReadNullableString()!, previous?.Reason);
        return new PlannedRow(columns, keys, prefixes, objects, reason);
    }
}
