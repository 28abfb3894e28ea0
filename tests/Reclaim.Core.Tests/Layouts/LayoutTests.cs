using Reclaim.Core.Layouts;

namespace Reclaim.Core.Tests.Layouts;

public sealed class LayoutTests
{
    private static readonly Layout Folder = Layout.Parse("orgs/{org}/uploads/{asset}/");

    [Theory]
    [InlineData("orgs/1/uploads/abc/raw/a.mp4", "orgs/1/uploads/abc/")]
    [InlineData("orgs/1/uploads/abc/thumbnail.jpg", "orgs/1/uploads/abc/")]
    [InlineData("orgs/1/uploads/abc/", "orgs/1/uploads/abc/")]
    [InlineData("orgs/1/uploads/a b+c%#?'\"/x", "orgs/1/uploads/a b+c%#?'\"/")]
    [InlineData("orgs/1/uploads/🎬/x", "orgs/1/uploads/🎬/")]
    public void MatchGroup_KeyInsideAFolderGroup_ReturnsThePrefix(string key, string group)
    {
        Folder.MatchGroup(key).Should().Be(group);
    }

    [Theory]
    [InlineData("orgs/1/uploads/abc")]
    [InlineData("orgs/1/uploads/")]
    [InlineData("orgs/1/exports/abc/x")]
    [InlineData("Orgs/1/uploads/abc/x")]
    [InlineData("orgs//uploads/abc/x")]
    [InlineData("orgs/1/uploads//x")]
    [InlineData("orgs")]
    [InlineData(".reclaim-trash/r/orgs/1/uploads/abc/x")]
    public void MatchGroup_KeyOutsideTheLayout_IsUnmatched(string key)
    {
        Folder.MatchGroup(key).Should().BeNull();
    }

    [Fact]
    public void MatchGroup_PrefixBoundary_AbcNeverMatchesAbcd()
    {
        var group = Folder.MatchGroup("orgs/1/uploads/abcd/x");
        group.Should().Be("orgs/1/uploads/abcd/");
        group.Should().NotBe(Folder.Render(["1", "abc"]));
    }

    [Theory]
    [InlineData("clips/{clip...}", "clips/a/b/c.mp4", "clips/a/b/c.mp4")]
    [InlineData("clips/{clip...}", "clips/c.mp4", "clips/c.mp4")]
    [InlineData("uploads/audio/{file}", "uploads/audio/x.mp3", "uploads/audio/x.mp3")]
    [InlineData("audio/{id}.mp3", "audio/42.mp3", "audio/42.mp3")]
    public void MatchGroup_ObjectLayout_EachObjectIsItsOwnGroup(string template, string key, string group)
    {
        Layout.Parse(template).MatchGroup(key).Should().Be(group);
    }

    [Theory]
    [InlineData("clips/{clip...}", "clips/")]
    [InlineData("clips/{clip...}", "clips/a/")]
    [InlineData("clips/{clip...}", "clips/a//b")]
    [InlineData("uploads/audio/{file}", "uploads/audio/sub/x.mp3")]
    [InlineData("uploads/audio/{file}", "uploads/audio/")]
    [InlineData("audio/{id}.mp3", "audio/.mp3")]
    [InlineData("audio/{id}.mp3", "audio/42.wav")]
    public void MatchGroup_ObjectLayout_UnmatchedKeys(string template, string key)
    {
        Layout.Parse(template).MatchGroup(key).Should().BeNull();
    }

    [Fact]
    public void Render_ValuesInVariableOrder_ProducesTheGroupKey()
    {
        Folder.Render(["1", "abc"]).Should().Be("orgs/1/uploads/abc/");
        Layout.Parse("audio/{id}.mp3").Render(["42"]).Should().Be("audio/42.mp3");
        Layout.Parse("clips/{clip...}").Render(["a/b.mp4"]).Should().Be("clips/a/b.mp4");
    }

    [Theory]
    [InlineData(null, "abc")]
    [InlineData("", "abc")]
    [InlineData("1", "a/b")]
    public void Render_NullEmptyOrSlashValue_RendersNothing(string? org, string asset)
    {
        Folder.Render([org, asset]).Should().BeNull();
    }

    [Fact]
    public void Render_IsByteExact_NoTrimmingNoCaseFolding()
    {
        Folder.Render(["1", "abc "]).Should().Be("orgs/1/uploads/abc /");
        Folder.Render(["1", "ABC"]).Should().NotBe(Folder.MatchGroup("orgs/1/uploads/abc/x"));
    }

    [Fact]
    public void Render_NfcAndNfdAreDifferentKeys()
    {
        var nfc = "caf\u00e9";
        var nfd = "cafe\u0301";
        Folder.Render(["1", nfc]).Should().NotBe(Folder.MatchGroup($"orgs/1/uploads/{nfd}/x"));
        Folder.Render(["1", nfd]).Should().Be(Folder.MatchGroup($"orgs/1/uploads/{nfd}/x"));
    }

    [Fact]
    public void ExtractValues_IsTheInverseOfRender()
    {
        var group = Folder.MatchGroup("orgs/o-1/uploads/a b/raw/x.mp4")!;
        Folder.ExtractValues(group).Should().Equal("o-1", "a b");
        var audio = Layout.Parse("audio/v{id}.mp3");
        audio.ExtractValues("audio/v42.mp3").Should().Equal("42");
        Layout.Parse("clips/{clip...}").ExtractValues("clips/a/b.mp4").Should().Equal("a/b.mp4");
    }

    [Fact]
    public void FixedPrefix_IsTheLiteralFolderPrefix()
    {
        Folder.FixedPrefix.Should().Be("orgs/");
        Layout.Parse("{user}/uploads/{id}/").FixedPrefix.Should().BeEmpty();
        Layout.Parse("media/uploads/audio/{file}").FixedPrefix.Should().Be("media/uploads/audio/");
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("/orgs/{org}/", "must not start with '/'")]
    [InlineData("orgs//{org}/", "empty segment")]
    [InlineData("orgs/../{org}/", "'..'")]
    [InlineData("orgs/uploads/", "at least one variable")]
    [InlineData("orgs/{org}/{org}/", "appears twice")]
    [InlineData("clips/{clip...}/x", "last segment")]
    [InlineData("clips/{clip...}/", "cannot also end in '/'")]
    [InlineData("clips/x{clip...}", "whole segment")]
    [InlineData("orgs/{1org}/", "brace")]
    [InlineData("orgs/{org}{id}/", "more than one variable")]
    [InlineData("orgs/{org/", "brace")]
    [InlineData("orgs\\{org}/", "backslash")]
    public void Parse_InvalidTemplate_SaysWhy(string template, string reason)
    {
        Layout.TryParse(template, out var layout, out var error).Should().BeFalse();
        layout.Should().BeNull();
        error.Should().Contain(reason);
    }

    [Theory]
    [InlineData("orgs/{org}/uploads/{asset}/", "orgs/", true)]
    [InlineData("orgs/{org}/uploads/{asset}/", "orgs/1/", true)]
    [InlineData("orgs/{org}/uploads/{asset}/", "orgs/1/uploads/", true)]
    [InlineData("orgs/{org}/uploads/{asset}/", "orgs/1/uploads/2/", false)]
    [InlineData("orgs/{org}/uploads/{asset}/", "orgs/1/uploads/2/raw/", false)]
    [InlineData("orgs/{org}/uploads/{asset}/", "exports/", false)]
    [InlineData("orgs/{org}/uploads/{asset}/", "orgs/1/exports/", false)]
    [InlineData("uploads/{id}/media/", "uploads/5/", false)]
    [InlineData("clips/{clip...}", "clips/", true)]
    [InlineData("clips/{clip...}", "clips/a/b/", true)]
    [InlineData("clips/{clip...}", "other/", false)]
    [InlineData("uploads/audio/{name}", "uploads/audio/", true)]
    [InlineData("uploads/audio/{name}", "uploads/audio/x/", false)]
    [InlineData("uploads/{folder}/{file}", "uploads/", true)]
    public void SpansGroups_SaysWhetherAPrefixMayHoldSeveralGroups(string template, string prefix, bool spans)
    {
        Layout.Parse(template).SpansGroups(prefix).Should().Be(spans);
    }

    [Fact]
    public void SpansGroups_NotAFolderPrefix_Throws()
    {
        var act = () => Folder.SpansGroups("orgs/1");

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Parse_NamesTheVariablesInOrder_AndWhetherGroupsAreFolders()
    {
        Folder.Variables.Should().Equal("org", "asset");
        Folder.IsFolder.Should().BeTrue();
        Folder.ToString().Should().Be("orgs/{org}/uploads/{asset}/");
        var clips = Layout.Parse("clips/{clip...}");
        clips.Variables.Should().Equal("clip");
        clips.IsFolder.Should().BeFalse();
        Layout.Parse("a/v{id}_x.mp3").Variables.Should().Equal("id");
    }

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("orgs/./{org}/", "'.'")]
    [InlineData("orgs\0/{org}/", "NUL")]
    [InlineData("orgs/x}{org}/", "brace that is not a variable")]
    [InlineData("orgs/{org}{/", "brace that is not a variable")]
    [InlineData("orgs/{org}x}/", "brace that is not a variable")]
    [InlineData("orgs/{org}/x}", "brace that is not a variable")]
    [InlineData("clips/{clip...}x", "whole segment")]
    public void Parse_MoreInvalidTemplates_SayWhy(string? template, string reason)
    {
        Layout.TryParse(template, out var layout, out var error).Should().BeFalse();
        layout.Should().BeNull();
        error.Should().Contain(reason);
        FluentActions.Invoking(() => Layout.Parse(template!)).Should().Throw<FormatException>().WithMessage($"*{reason}*");
    }

    [Fact]
    public void Parse_AValidTemplate_ReportsNoError()
    {
        Layout.TryParse("u/{id}/", out var layout, out var error).Should().BeTrue();
        layout!.Template.Should().Be("u/{id}/");
        error.Should().BeNull();
    }

    [Theory]
    [InlineData("a/{x}/b/{y}", "a/1/b/2", "a/1/b/2")]
    [InlineData("a/{x}/b/{y}", "a/1/c/2", null)]
    [InlineData("a/{x}/b/{y}", "a/1/b", null)]
    [InlineData("a/{x}/b/{y}", "a/1/b/2/3", null)]
    [InlineData("a/{x}/b/", "a/1/b/", "a/1/b/")]
    [InlineData("a/{x}/b/", "a/1/b", null)]
    [InlineData("a/{x}/b/", "a/1/bb/x", null)]
    [InlineData("v{id}.mp3", "v1.mp3", "v1.mp3")]
    [InlineData("v{id}.mp3", "v.mp3", null)]
    [InlineData("v{id}.mp3", "w1.mp3", null)]
    [InlineData("v{id}.mp3", "v1.mp4", null)]
    [InlineData("{a}/{b...}", "x/y/z", "x/y/z")]
    [InlineData("{a}/{b...}", "x/", null)]
    [InlineData("{a}/{b...}", "x", null)]
    public void MatchGroup_EverySegmentMustMatch_AndAnObjectLayoutsKeyEndsWithTheTemplate(string template, string key, string? group)
    {
        Layout.Parse(template).MatchGroup(key).Should().Be(group);
        Layout.Parse(template).MatchGroupLength(key).Should().Be(group?.Length ?? -1);
    }

    [Theory]
    [InlineData("clips/{clip...}", "a//b")]
    [InlineData("clips/{clip...}", "a/")]
    [InlineData("clips/{clip...}", "")]
    [InlineData("clips/{clip...}", null)]
    [InlineData("v{id}.mp3", "a/b")]
    public void Render_AValueThatCouldNeverMatch_RendersNothing(string template, string? value)
    {
        var layout = Layout.Parse(template);

        layout.Render([value]).Should().BeNull();
        layout.RenderFingerprint([value]).Should().BeNull();
    }

    [Fact]
    public void Render_LiteralsPrefixesAndSuffixes_AreWrittenAroundTheValues()
    {
        Layout.Parse("media/v{id}_x.mp3").Render(["7"]).Should().Be("media/v7_x.mp3");
        Layout.Parse("{a}/lit/p{b}s/").Render(["1", "2"]).Should().Be("1/lit/p2s/");
    }

    [Fact]
    public void Render_TheWrongNumberOfValues_IsRefused()
    {
        FluentActions.Invoking(() => Folder.Render(["1"])).Should().Throw<ArgumentException>().WithMessage("expected 2 values, got 1*");
        FluentActions.Invoking(() => Folder.RenderFingerprint(["1", "2", "3"])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void ExtractValues_OfAKeyThatIsNotAGroupKey_IsRefused()
    {
        FluentActions.Invoking(() => Folder.ExtractValues("orgs/1/uploads/abc/raw.mp4")).Should().Throw<ArgumentException>().WithMessage("*not a group key*");
        FluentActions.Invoking(() => Folder.ExtractValues("orgs/1/uploads/abc")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => Layout.Parse("u/{f}").ExtractValues("u/a/b")).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void ExtractValues_SkipsLiteralSegments_AndStripsEachValuesPrefixAndSuffix()
    {
        Layout.Parse("{a}/lit/p{b}s/").ExtractValues("1/lit/p2s/").Should().Equal("1", "2");
        Layout.Parse("{a}/{rest...}").ExtractValues("x/y/z.mp4").Should().Equal("x", "y/z.mp4");
    }

    [Fact]
    public void SpansGroups_AnEmptyPrefix_IsRefused()
    {
        FluentActions.Invoking(() => Folder.SpansGroups(string.Empty)).Should().Throw<ArgumentException>();
    }
}

public sealed class LayoutFingerprintTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(300)]
    [InlineData(5000)]
    public void RenderFingerprint_OfLongKeys_EqualsTheFingerprintOfTheRenderedKey(int length)
    {
        var layout = Layout.Parse("orgs/{org}/uploads/{asset}/");
        var values = new[] { new string('o', length), new string('a', length) };

        layout.RenderFingerprint(values).Should().Be(Reclaim.Core.References.KeyFingerprint.Of(layout.Render(values)));
        layout.RenderFingerprint(["1", "2"]).Should().Be(Reclaim.Core.References.KeyFingerprint.Of("orgs/1/uploads/2/"), "a short key after a long one");
    }

    [Fact]
    public void RenderFingerprint_FromSpansOfOneBuffer_EqualsTheFingerprintOfTheRenderedKey()
    {
        var layout = Layout.Parse("orgs/{org}/uploads/{asset}/");
        var buffer = "17abc".AsSpan();

        layout.RenderFingerprint(buffer, [0..2, 2..5], [false, false]).Should().Be(Reclaim.Core.References.KeyFingerprint.Of("orgs/17/uploads/abc/"));
        layout.RenderFingerprint(buffer, [default, 2..5], [true, false]).Should().BeNull("a NULL value renders nothing");
        layout.RenderFingerprint(buffer, [0..0, 2..5], [false, false]).Should().BeNull("an empty value renders nothing");
        FluentActions.Invoking(() => layout.RenderFingerprint("x".AsSpan(), [0..1], [false])).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("orgs/{org}/uploads/{asset}/", new[] { "1", "abc" })]
    [InlineData("audio/{id}.mp3", new[] { "42" })]
    [InlineData("clips/{clip...}", new[] { "a/b/c.mp4" })]
    [InlineData("{user}/x/{file}", new[] { "caf\u00e9", "\U0001F3AC.jpg" })]
    public void RenderFingerprint_EqualsTheFingerprintOfTheRenderedKey(string template, string[] values)
    {
        var layout = Layout.Parse(template);
        var key = layout.Render(values);
        key.Should().NotBeNull();
        layout.RenderFingerprint(values).Should().Be(Reclaim.Core.References.KeyFingerprint.Of(key));
    }

    [Fact]
    public void RenderFingerprint_IsNullWhereRenderIsNull()
    {
        var layout = Layout.Parse("orgs/{org}/uploads/{asset}/");
        layout.RenderFingerprint([null, "a"]).Should().BeNull();
        layout.RenderFingerprint(["1", "a/b"]).Should().BeNull();
        layout.RenderFingerprint(["1", string.Empty]).Should().BeNull();
    }
}
