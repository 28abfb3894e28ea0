using Reclaim.Core.Records;

namespace Reclaim.Core.Tests.Records;

public sealed class RecordTemplateTests
{
    private static Dictionary<string, string?> Row(params (string Column, string? Value)[] columns) =>
        columns.ToDictionary(c => c.Column, c => c.Value, StringComparer.Ordinal);

    [Fact]
    public void Parse_ColumnsAreListedOnceInOrderOfFirstUse()
    {
        var template = RecordTemplate.Parse("orgs/{org}/{asset}/{org}.mp4");

        template.Text.Should().Be("orgs/{org}/{asset}/{org}.mp4");
        template.Columns.Should().Equal("org", "asset");
    }

    [Theory]
    [InlineData("uploads/audio/{file}", "file", "a.mp3", "uploads/audio/a.mp3")]
    [InlineData("{audio_path}", "audio_path", "x/y.wav", "x/y.wav")]
    [InlineData("{id}/thumb.jpg", "id", "42", "42/thumb.jpg")]
    [InlineData("clips/{id}/", "id", "7", "clips/7/")]
    [InlineData("p/{Id}", "Id", "a b+%#?", "p/a b+%#?")]
    public void Render_ReplacesEachColumnAndKeepsTheLiteralsAroundIt(string text, string column, string value, string expected)
    {
        RecordTemplate.Parse(text).Render(Row((column, value))).Should().Be(expected);
    }

    [Fact]
    public void Render_SeveralColumns_AreRenderedInPlace()
    {
        var template = RecordTemplate.Parse("orgs/{org}/uploads/{asset}/{org}");

        template.Render(Row(("org", "1"), ("asset", "abc"))).Should().Be("orgs/1/uploads/abc/1");
    }

    [Fact]
    public void Render_ValuesAreTakenAsTheyAre_NoTrimmingNoCaseFolding()
    {
        var template = RecordTemplate.Parse("a/{file}");

        template.Render(Row(("file", " Video.MP4 "))).Should().Be("a/ Video.MP4 ");
        template.Render(Row(("file", string.Empty))).Should().Be("a/");
    }

    [Fact]
    public void Render_ANullColumn_NamesNoObject()
    {
        var template = RecordTemplate.Parse("{org}/{file}");

        template.Render(Row(("org", "1"), ("file", null))).Should().BeNull();
        template.Render(Row(("org", null), ("file", "a"))).Should().BeNull();
    }

    [Fact]
    public void Render_RowWithoutAReferencedColumn_Throws()
    {
        var template = RecordTemplate.Parse("{org}/{file}");

        var act = () => template.Render(Row(("org", "1")));

        act.Should().Throw<KeyNotFoundException>().WithMessage("*'file'*");
    }

    [Fact]
    public void Render_ColumnNamesCompareOrdinally()
    {
        var template = RecordTemplate.Parse("{File}");

        var act = () => template.Render(Row(("file", "a")));

        act.Should().Throw<KeyNotFoundException>();
    }

    [Theory]
    [InlineData("uploads/audio.mp3")]
    [InlineData("")]
    public void Parse_NoColumn_IsRefused_EveryRowWouldNameTheSameObject(string text)
    {
        var act = () => RecordTemplate.Parse(text);

        act.Should().Throw<FormatException>().WithMessage("*references no column*");
    }

    [Theory]
    [InlineData("a/{file")]
    [InlineData("a/file}")]
    [InlineData("{file}/{")]
    [InlineData("{file}/}")]
    [InlineData("{1file}")]
    [InlineData("{my-file}")]
    [InlineData("{}/{file}")]
    [InlineData("{{file}}")]
    public void Parse_BraceThatIsNotAColumnReference_IsRefused(string text)
    {
        var act = () => RecordTemplate.Parse(text);

        act.Should().Throw<FormatException>().WithMessage("*brace*");
    }

    [Theory]
    [InlineData("", "it is empty")]
    [InlineData("/", "it is the whole store ('/')")]
    [InlineData("/abs/a.mp3", "it is absolute (starts with '/')")]
    [InlineData("a/../b", "it has a '..' segment")]
    [InlineData("a\\b", "it contains a backslash")]
    [InlineData(".reclaim-trash/run/a.mp3", "it is inside the trash")]
    [InlineData(".reclaim-trash/", "it is inside the trash")]
    public void Problem_ValueThatCannotBeActedOn_SaysWhy(string rendered, string expected)
    {
        RecordTemplate.Problem(rendered, ".reclaim-trash/").Should().Be(expected);
    }

    [Theory]
    [InlineData("uploads/a.mp3")]
    [InlineData("uploads/session-1/")]
    [InlineData(".reclaim-trash-old/a.mp3")]
    [InlineData(".reclaim-trash")]
    public void Problem_RelativeKeyOrFolderOutsideTheTrash_IsNone(string rendered)
    {
        RecordTemplate.Problem(rendered, ".reclaim-trash/").Should().BeNull();
    }

    [Fact]
    public void Parameters_AreTheAtNames_OncePerName_InOrderOfFirstUse()
    {
        RecordTemplate.Parameters("DELETE FROM sessions WHERE id = @id AND org_id = @org_1 OR parent = @id").Should().Equal("id", "org_1");
        RecordTemplate.Parameters("UPDATE t SET done = 1 WHERE id=@id").Should().Equal("id");
        RecordTemplate.Parameters("DELETE FROM sessions").Should().BeEmpty();
    }

    [Fact]
    public void Parameters_AnAtInsideAWordOrADoubleAt_IsNotAParameter()
    {
        RecordTemplate.Parameters("SELECT @@version, 'ops@example.com', @x").Should().Equal("x");
        RecordTemplate.Parameters("WHERE a = @1").Should().BeEmpty();
    }
}
