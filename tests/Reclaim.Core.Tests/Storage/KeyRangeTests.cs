using System.Text;
using Reclaim.Core.Storage;

namespace Reclaim.Core.Tests.Storage;

public sealed class KeyRangeTests
{
    /// <summary>Characters around the separators ('-' 0x2D, '.' 0x2E, '/' 0x2F, '0' 0x30), a space, and non-ASCII ones.</summary>
    private static readonly string[] Alphabet = ["-", ".", "/", "0", "a", " ", "é", "\uFFFD", "😀", "😁"];

    [Theory]
    [InlineData("orgs/1/uploads/a/raw.mp4", "orgs/1/uploads/a/raw.mp3")]
    [InlineData("orgs/1/uploads/a/", "orgs/1/uploads/a.")]
    [InlineData("a!", "a ")]
    [InlineData("a ", "a")]
    [InlineData("x", "w")]
    public void StartAfter_LowersTheLastCharacter_OrDropsIt(string from, string expected)
    {
        new KeyRange(from, from).StartAfter.Should().Be(expected);
    }

    [Fact]
    public void StartAfter_AfterASurrogatePair_DropsThePair()
    {
        new KeyRange("z/😀", "z/😀").StartAfter.Should().Be("z/");
        new KeyRange("", "z").StartAfter.Should().BeNull();
    }

    [Fact]
    public void CommonPrefix_NeverEndsInsideASurrogatePair()
    {
        // U+1F600 and U+1F601 share their high surrogate (D83D).
        var range = new KeyRange("z/😀.txt", "z/😁.txt");

        range.CommonPrefix.Should().Be("z/");
        Encoding.UTF8.GetByteCount(range.CommonPrefix).Should().Be(2);
    }

    [Fact]
    public void Contains_ThroughAFolder_TakesInTheWholeFolderAndNothingBeside()
    {
        var range = KeyRange.Under("orgs/1/uploads/a/");

        range.Contains("orgs/1/uploads/a/raw.mp4").Should().BeTrue();
        range.Contains("orgs/1/uploads/a/zzz/very/deep").Should().BeTrue();
        range.Contains("orgs/1/uploads/a-1/raw.mp4").Should().BeFalse();
        range.Contains("orgs/1/uploads/a.1/raw.mp4").Should().BeFalse();
        range.Contains("orgs/1/uploads/a0").Should().BeFalse();
        range.IsPast("orgs/1/uploads/a0").Should().BeTrue();
        range.IsPast("orgs/1/uploads/a.1/raw.mp4").Should().BeFalse("it comes before the range");
    }

    [Fact]
    public void RandomKeysAndBounds_AgreeWithSortingByUtf8Bytes()
    {
        // Arrange: random keys over a small alphabet, so prefixes and near-misses abound.
        var random = new Random(20251201);
        string NewKey() => string.Concat(Enumerable.Range(0, random.Next(1, 6)).Select(_ => Alphabet[random.Next(Alphabet.Length)]));
        var keys = Enumerable.Range(0, 400).Select(_ => NewKey()).Distinct(StringComparer.Ordinal)
            .OrderBy(k => Encoding.UTF8.GetBytes(k), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToList();

        for (var trial = 0; trial < 300; trial++)
        {
            var range = new KeyRange(NewKey(), NewKey());

            // Act
            var inRange = keys.Where(range.Contains).ToList();

            // Assert: the range is one contiguous run of the sorted keys, under the common prefix, after StartAfter;
            // IsPast holds from the run's end on and never before it.
            var first = keys.FindIndex(range.Contains);
            if (first >= 0)
            {
                keys.Skip(first).Take(inRange.Count).Should().Equal(inRange, $"[{range.From}, {range.Through}] is contiguous");
            }

            inRange.All(k => k.StartsWith(range.CommonPrefix, StringComparison.Ordinal)).Should().BeTrue();
            if (range.StartAfter is { } after)
            {
                ObjectKey.Compare(after, range.From).Should().BeNegative();
                inRange.All(k => ObjectKey.Compare(k, after) > 0).Should().BeTrue();
            }

            var firstPast = keys.FindIndex(range.IsPast);
            if (firstPast >= 0)
            {
                keys.Skip(firstPast).All(range.IsPast).Should().BeTrue();
                inRange.All(k => keys.IndexOf(k) < firstPast).Should().BeTrue();
            }
        }
    }
}
