using Reclaim.Core.Storage;

namespace Reclaim.Core.Tests.Storage;

public sealed class SpillStringsTests
{
    [Fact]
    public void WriteNullableString_WritesLengthInCodeUnitsThenUtf16_AndMinusOneForNull()
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.WriteNullableString("a\u00e9");
            writer.WriteNullableString(null);
            writer.WriteNullableString(string.Empty);
        }

        // The spill files' format: 4-byte length, then 2 bytes per code unit (little-endian machines here).
        buffer.ToArray().Should().Equal(
            2, 0, 0, 0, (byte)'a', 0, 0xE9, 0,
            0xFF, 0xFF, 0xFF, 0xFF,
            0, 0, 0, 0);
    }

    [Fact]
    public void ReadNullableString_GivesBackEveryStringExactly_InterleavedWithOtherValues()
    {
        string?[] values = ["orgs/1/clip.mp4", null, "", "caf\u00e9/\U0001F3AC", "e\u0301", "\ud800 lone surrogate", new string('k', 5000)];
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            foreach (var value in values)
            {
                writer.WriteNullableString(value);
                writer.Write(42L);
            }
        }

        buffer.Position = 0;
        using var reader = new BinaryReader(buffer);
        foreach (var value in values)
        {
            reader.ReadNullableString().Should().Be(value);
            reader.ReadInt64().Should().Be(42L);
        }

        buffer.Position.Should().Be(buffer.Length);
    }

    [Fact]
    public void ReadNullableString_StreamEndingInsideAString_Throws()
    {
        using var buffer = new MemoryStream([3, 0, 0, 0, (byte)'a', 0]);
        using var reader = new BinaryReader(buffer);

        var read = () => reader.ReadNullableString();

        read.Should().Throw<EndOfStreamException>();
    }
}
