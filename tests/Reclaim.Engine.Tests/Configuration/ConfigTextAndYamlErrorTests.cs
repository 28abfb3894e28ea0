using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary>Config files whose bytes or YAML are malformed: every kind is a <see cref="ConfigException"/> with its position.</summary>
public sealed class ConfigTextAndYamlErrorTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private ConfigError ErrorOf(byte[] bytes)
    {
        File.WriteAllBytes(_folder.ConfigPath, bytes);
        var load = () => ConfigLoader.Load(_folder.ConfigPath, new Dictionary<string, string?>());
        return load.Should().Throw<ConfigException>().Which.Errors.Should().ContainSingle().Subject;
    }

    [Theory]
    [InlineData("a: {b: 1\nc: 2", 1, 4, "flow mapping opened here with '{' is not closed")]
    [InlineData("a: [1, 2\nc: 2", 1, 4, "flow sequence opened here with '[' is not closed")]
    [InlineData("version: 1\nstores: {media: {type: filesystem, root: ./m}\ncatalogs: 2", 2, 9, "flow mapping opened here with '{' is not closed")]
    public void Load_FlowCollectionLeftOpenBeforeALineAtColumnOne_IsReportedAtItsBracket(string yaml, int line, int column, string message)
    {
        _folder.SingleError(yaml, line, column).Message.Should().Contain(message);
    }

    [Fact]
    public void Load_AliasOfNoAnchor_SaysWhichAnchorIsMissing()
    {
        _folder.SingleError("version: 1\nstores: *media\n", 2, 9).Message.Should().Contain("the alias '*media' names no anchor: mark a value with '&media' before it");
    }

    [Fact]
    public void Load_QuotedValueLeftOpen_SaysSo()
    {
        _folder.Errors("version: 1\nstores: 'media\n").Single().Message.Should().Contain("is a quoted value left open?");
    }

    [Fact]
    public void Load_InvalidUtf8_IsReportedAtItsCharacter()
    {
        var error = ErrorOf([.. "version: 1\nstores: caf"u8, 0xE9, .. "\n"u8]);

        error.Location.Should().Be(new ConfigLocation(_folder.ConfigPath, 2, 12));
        error.Message.Should().Contain("not UTF-8").And.Contain("0xE9").And.Contain("byte offset 22");
    }

    [Fact]
    public void Load_TruncatedUtf8Sequence_AtTheEnd_IsRefused()
    {
        ErrorOf([.. "version: 1\n# \u00e9"u8.ToArray()[..^1]]).Message.Should().Contain("not UTF-8");
    }

    [Fact]
    public void Load_NulByte_IsReportedAtItsPosition()
    {
        var error = ErrorOf("version: 1\nstores:\n  media: {type: filesystem, root: \"./m\0x\"}\n"u8.ToArray());

        error.Location.Should().Be(new ConfigLocation(_folder.ConfigPath, 3, 39));
        error.Message.Should().Contain("NUL character (U+0000)");
    }

    [Theory]
    [InlineData(0x07)]
    [InlineData(0x1B)]
    [InlineData(0x7F)]
    public void Load_ControlCharacter_IsRefusedWithItsCode(byte control)
    {
        var error = ErrorOf([.. "version: 1\n# x"u8, control, .. "\n"u8]);

        error.Location.Should().Be(new ConfigLocation(_folder.ConfigPath, 2, 4));
        error.Message.Should().Contain($"U+{control:X4}");
    }

    [Fact]
    public void Load_Utf8ByteOrderMarkTabsInValuesAndCrLf_AreAccepted()
    {
        File.WriteAllBytes(_folder.ConfigPath, [0xEF, 0xBB, 0xBF, .. "version: 1\r\nstores:\r\n  media: {type: filesystem, root: \"./m\tx\"}\r\n"u8]);

        ConfigLoader.Load(_folder.ConfigPath, new Dictionary<string, string?>()).Stores["media"].Root.Should().EndWith("m\tx");
    }

    [Fact]
    public void Load_Utf16File_IsRefusedAsUtf16()
    {
        ErrorOf([0xFF, 0xFE, .. System.Text.Encoding.Unicode.GetBytes("version: 1\n")]).Message.Should().Contain("UTF-16");
    }
}
