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
    private readonly SpillSequence<PlannedGroup> _items = new(directory, Write, Read);

    public override void Append(PlannedGroup item) => _items.Append(item);

    public override PlannedGroupSpool CreateEmpty() => new SpilledGroupSpool(directory);

    public override IEnumerable<PlannedGroup> Read() => _items.Read();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _items.Dispose();
        }
    }

    private static void Write(BinaryWriter writer, PlannedGroup group)
    {
        writer.WriteNullableString(group.GroupKey);
        SpillFormat.WriteStrings(writer, group.Values);
        SpillFormat.WriteObjects(writer, group.Objects);
        SpillFormat.WriteTime(writer, group.Newest);
        writer.WriteNullableString(group.Reason);
    }

    private static PlannedGroup Read(BinaryReader reader, PlannedGroup? previous)
    {
        var key = reader.ReadNullableString()!;
        var values = SpillFormat.ReadStrings(reader);
        var objects = SpillFormat.ReadObjects(reader);
        var newest = SpillFormat.ReadTime(reader);
        var reason = SpillFormat.Shared(reader.ReadNullableString()!, previous?.Reason);
        return new PlannedGroup(key, values, objects, newest, reason);
    }
}
