using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.Storage;

namespace Reclaim.Core.Tests.Planning;

/// <summary>The 16 fixed key ranges of a partitioned run: every key under the prefix in exactly one, and a group never split.</summary>
public sealed class KeySpaceRangesTests
{
    private static readonly string[] Samples =
    [
        "orgs/", "orgs/0/uploads/a/x.mp4", "orgs/0", "orgs/00/", "orgs/1/uploads/b/", "orgs/19/a", "orgs/2", "orgs/9zz/", "orgs/A/", "orgs/Z9/",
        "orgs/_x/", "orgs/`/", "orgs/a/", "orgs/af/", "orgs/b/", "orgs/e9/", "orgs/f/", "orgs/ff/", "orgs/g/", "orgs/z/", "orgs/~/",
        "orgs/ é/", "orgs/é/", "orgs/😀/", "orgs/\uFFFD/", "orgs/ /", "orgs/!/", "orgs/-/", "orgs/./x", "orgs/+a",
    ];

    [Fact]
    public void Range_EveryKeyUnderThePrefix_IsInExactlyOneRange_TheOneIndexOfNames()
    {
        foreach (var key in Samples)
        {
            var holding = Enumerable.Range(0, KeySpaceRanges.Count).Where(i => KeySpaceRanges.Range("orgs/", i).Contains(key)).ToList();
            holding.Should().ContainSingle($"'{key}' lies in one range");
            holding[0].Should().Be(KeySpaceRanges.IndexOf("orgs/", key), $"'{key}'");
        }
    }

    [Fact]
    public void Range_KeysOutsideThePrefix_AreInNoRange()
    {
        foreach (var key in new[] { "org", "orgs", "orgsx/1/", "other/1/", "a/1/", ".reclaim-trash/orgs/1/" })
        {
            Enumerable.Range(0, KeySpaceRanges.Count).Where(i => KeySpaceRanges.Range("orgs/", i).Contains(key)).Should().BeEmpty($"'{key}' is not under orgs/");
        }
    }

    [Fact]
    public void Range_HexadecimalFirstCharacters_SpreadOneToEachRange()
    {
        var indexes = "0123456789abcdef".Select(c => KeySpaceRanges.IndexOf("orgs/", $"orgs/{c}1/uploads/x/")).ToList();
        indexes.Should().Equal(Enumerable.Range(0, 16));
    }

    [Fact]
    public void Range_EmptyPrefix_TakesInTheWholeStore()
    {
        foreach (var key in new[] { "a", "0", ".reclaim-trash/x", "Z/1", "😀" })
        {
            Enumerable.Range(0, KeySpaceRanges.Count).Count(i => KeySpaceRanges.Range(string.Empty, i).Contains(key)).Should().Be(1, $"'{key}'");
        }
    }

    [Fact]
    public void Range_KeysOfOneGroup_AreAllInTheGroupsRange_ForRandomFolderLayoutKeys()
    {
        var layout = Layout.Parse("media/{org}/up-{asset}/");
        var random = new Random(20261202);
        const string alphabet = "0123456789abcdefABCXYZ_-.~ é😀";
        string Segment() => string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => alphabet[random.Next(alphabet.Length)] is var c && char.IsHighSurrogate(c) ? "😀" : char.IsLowSurrogate(c) ? "x" : c.ToString()));
        for (var trial = 0; trial < 2000; trial++)
        {
            var group = $"media/{Segment()}/up-{Segment()}/";
            if (layout.MatchGroupLength(group + "f") is not > 0)
            {
                continue;
            }

            var range = KeySpaceRanges.IndexOf(layout.FixedPrefix, group);
            foreach (var key in new[] { group + "a.mp4", group + "zz/b", group + "\U0001F600", group })
            {
                Enumerable.Range(0, KeySpaceRanges.Count).Single(i => KeySpaceRanges.Range(layout.FixedPrefix, i).Contains(key)).Should().Be(range, $"'{key}' belongs to group '{group}'");
            }
        }
    }
}
