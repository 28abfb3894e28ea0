using Reclaim.Core.Storage;

namespace Reclaim.Core.Tests.Storage;

/// <summary>What <see cref="ObjectKey"/> refuses and why, where each rule starts and ends, and how keys print and compare.</summary>
public sealed class ObjectKeyValidationTests
{
    [Theory]
    [InlineData(null, "the key is empty")]
    [InlineData("", "the key is empty")]
    [InlineData("/", "the key is absolute (starts with '/')")]
    [InlineData("/a/b.mp4", "the key is absolute (starts with '/')")]
    [InlineData("a\0b", "the key contains NUL")]
    [InlineData("a\\b.mp4", "the key contains a backslash")]
    [InlineData(".", "the key has a '.' segment")]
    [InlineData("./a", "the key has a '.' segment")]
    [InlineData("a/.", "the key has a '.' segment")]
    [InlineData("a/./b", "the key has a '.' segment")]
    [InlineData("..", "the key has a '..' segment")]
    [InlineData("../a", "the key has a '..' segment")]
    [InlineData("a/..", "the key has a '..' segment")]
    [InlineData("a//../b", "the key has a '..' segment")]
    public void Validate_HostileKey_SaysWhy(string? key, string reason)
    {
        ObjectKey.Validate(key).Should().Be(reason);
        var act = () => ObjectKey.EnsureValid(key);
        act.Should().Throw<InvalidKeyException>().Which.Message.Should().Contain(reason);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("a/")]
    [InlineData("a//")]
    [InlineData(".a")]
    [InlineData("a./b")]
    [InlineData("...")]
    [InlineData("a/.../b")]
    [InlineData(" a/b ")]
    [InlineData("a/b\u0301")]
    public void Validate_KeysNearARule_AreAccepted(string key)
    {
        ObjectKey.Validate(key).Should().BeNull();
        ObjectKey.EnsureValid(key).Should().BeSameAs(key);
    }

    [Fact]
    public void Validate_LengthCountsUtf8BytesNotCharacters()
    {
        // 341 three-byte characters and one byte: 1024 bytes; one more byte is over S3's limit.
        var atLimit = new string('€', 341) + "a";
        ObjectKey.Validate(atLimit).Should().BeNull();
        ObjectKey.Validate(atLimit + "a").Should().Be("the key is 1025 bytes long; at most 1024 are allowed");

        // An emoji is two UTF-16 units and four bytes.
        ObjectKey.Validate(new string('a', 1020) + "\U0001F3AC").Should().BeNull();
        ObjectKey.Validate(new string('a', 1021) + "\U0001F3AC").Should().Be("the key is 1025 bytes long; at most 1024 are allowed");
    }

    [Fact]
    public void Validate_LoneLowSurrogate_IsRejected()
    {
        ObjectKey.Validate("a" + (char)0xDC00).Should().Be("the key is not valid Unicode (lone surrogate)");
    }

    [Fact]
    public void IsUnder_SpanForm_AgreesWithTheStringForm()
    {
        ObjectKey.IsUnder("images/a.jpg".AsSpan(), "images/").Should().BeTrue();
        ObjectKey.IsUnder("images2/a.jpg".AsSpan(), "images/").Should().BeFalse();
        ObjectKey.IsUnder("images/".AsSpan(), "images/").Should().BeTrue("the folder marker itself is inside the folder");
        ObjectKey.IsUnder("images".AsSpan(), "images/").Should().BeFalse();
        ObjectKey.IsUnder(ReadOnlySpan<char>.Empty, string.Empty).Should().BeTrue();
    }

    [Fact]
    public void IsUnder_PrefixWithoutTrailingSlash_IsRefusedPrintably()
    {
        var act = () => ObjectKey.IsUnder("a\nb/c", "a\nb");

        act.Should().Throw<ArgumentException>().WithParameterName("prefix").Which.Message.Should().Contain("a folder prefix must end in '/': 'a\\u000ab'");
    }

    [Theory]
    [InlineData("plain/key.mp4", "plain/key.mp4")]
    [InlineData("a\nb", "a\\u000ab")]
    [InlineData("\t\r", "\\u0009\\u000d")]
    [InlineData("x\u007fy", "x\\u007fy")]
    [InlineData("🎬 é", "🎬 é")]
    public void Printable_EscapesControlCharactersOnly(string key, string printed)
    {
        ObjectKey.Printable(key).Should().Be(printed);
    }

    [Fact]
    public void Printable_KeyWithoutControlCharacters_IsTheSameString()
    {
        var key = "orgs/1/uploads/2/a b.mp4";
        ObjectKey.Printable(key).Should().BeSameAs(key);
    }

    [Fact]
    public void Comparer_NullsSortFirstAndEqualKeysCompareEqual()
    {
        ObjectKey.Comparer.Compare(null, null).Should().Be(0);
        ObjectKey.Comparer.Compare(null, "a").Should().BeNegative();
        ObjectKey.Comparer.Compare("a", null).Should().BePositive();
        ObjectKey.Comparer.Compare("a/b", new string("a/b".ToCharArray())).Should().Be(0);
        ObjectKey.Comparer.Compare("a", "b").Should().BeNegative();
        ObjectKey.Comparer.Compare("b", "a").Should().BePositive();
    }

    [Fact]
    public void Compare_APrefixSortsBeforeTheLongerKey()
    {
        ObjectKey.Compare("a/b", "a/b/c").Should().BeNegative();
        ObjectKey.Compare("a/b/c", "a/b").Should().BePositive();
        ObjectKey.Compare("a/b", "a/b").Should().Be(0);
        ObjectKey.Compare(string.Empty, "a").Should().BeNegative();
    }

    [Theory]
    [InlineData('\u0000', 0x0000)]
    [InlineData('a', 0x0061)]
    [InlineData('\uD7FF', 0xD7FF)]
    [InlineData('\uD800', 0xF800)]
    [InlineData('\uDFFF', 0xFFFF)]
    [InlineData('\uE000', 0xD800)]
    [InlineData('\uFFFF', 0xF7FF)]
    public void CodePointOrder_PutsSurrogatesAfterTheRestOfThePlane(char unit, int rank)
    {
        ObjectKey.CodePointOrder(unit).Should().Be(rank);
    }
}
