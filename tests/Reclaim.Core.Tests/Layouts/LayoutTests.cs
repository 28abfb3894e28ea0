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
}

public sealed class LayoutFingerprintTests
{
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
