using System.Text;
using Reclaim.Core.Storage;

namespace Reclaim.Core.Tests.Storage;

public sealed class ObjectKeyTests
{
    [Theory]
    [InlineData("")]
    [InlineData("/abs/key")]
    [InlineData("a/../b")]
    [InlineData("..")]
    [InlineData("a/./b")]
    [InlineData("a\\b")]
    [InlineData("a\0b")]
    public void Validate_HostileKeys_AreRejected(string key)
    {
        ObjectKey.Validate(key).Should().NotBeNull();
        var act = () => ObjectKey.EnsureValid(key);
        act.Should().Throw<InvalidKeyException>();
    }

    [Fact]
    public void Validate_LoneSurrogate_IsRejected()
    {
        // Built at run time: attribute arguments cannot carry a lone surrogate.
        var key = "a" + (char)0xD800 + "b";
        ObjectKey.Validate(key).Should().Contain("lone surrogate");
    }

    [Theory]
    [InlineData("a/b.mp4")]
    [InlineData("a b/+%#?'\"/🎬.mp4")]
    [InlineData("folder/")]
    [InlineData("a//b")]
    [InlineData("..a/b..")]
    public void Validate_OrdinaryAndOddKeys_AreAccepted(string key)
    {
        ObjectKey.Validate(key).Should().BeNull();
    }

    [Fact]
    public void Validate_KeyLongerThan1024Utf8Bytes_IsRejected()
    {
        ObjectKey.Validate(new string('a', 1024)).Should().BeNull();
        ObjectKey.Validate(new string('a', 1025)).Should().Contain("1025 bytes");
        ObjectKey.Validate(new string('é', 513)).Should().Contain("1026 bytes");
    }

    [Fact]
    public void Comparer_OrdersByUtf8Bytes()
    {
        string[] keys = ["a/x", "a.b", "\uffff", "\U0001F3AC", "B", "a", "a/"];
        var sorted = keys.OrderBy(k => k, ObjectKey.Comparer).ToArray();
        var byBytes = keys.OrderBy(k => Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(k)), StringComparer.Ordinal).ToArray();
        sorted.Should().Equal(byBytes);
        sorted.Should().Equal("B", "a", "a.b", "a/", "a/x", "\uffff", "\U0001F3AC");
    }

    [Fact]
    public void IsUnder_ComparesOnSlashBoundaries()
    {
        ObjectKey.IsUnder("images/a.jpg", "images/").Should().BeTrue();
        ObjectKey.IsUnder("images2/a.jpg", "images/").Should().BeFalse();
        ObjectKey.IsUnder("Images/a.jpg", "images/").Should().BeFalse();
        ObjectKey.IsUnder("anything", string.Empty).Should().BeTrue();
        var act = () => ObjectKey.IsUnder("images2/a.jpg", "images");
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void IsUnchangedSince_ComparesSizeThenEtagOrSeconds()
    {
        var t = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var a = new StoredObject("k", 10, t);
        a.IsUnchangedSince(a with { LastModified = t.AddMilliseconds(400) }).Should().BeTrue();
        a.IsUnchangedSince(a with { LastModified = t.AddSeconds(2) }).Should().BeFalse();
        a.IsUnchangedSince(a with { Size = 11 }).Should().BeFalse();
        var e = a with { ETag = "\"x\"" };
        e.IsUnchangedSince(e with { LastModified = t.AddDays(1) }).Should().BeTrue();
        e.IsUnchangedSince(e with { ETag = "\"y\"" }).Should().BeFalse();
    }

    [Fact]
    public void Compare_OnSpans_OrdersAsUtf8Bytes()
    {
        string[] keys = ["a", "ab", "a/", "a.", "b", "\uE000", "\uFFFD", "\U0001F3AC", "\U0001F3AC\uE000", "caf\u00e9", "cafe\u0301", "Z", ""];
        var byBytes = keys.OrderBy(k => Encoding.UTF8.GetBytes(k), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToArray();

        keys.Order(Comparer<string>.Create((x, y) => ObjectKey.Compare(x, y))).Should().Equal(byBytes);
        keys.Order(ObjectKey.Comparer).Should().Equal(byBytes);
    }
}
