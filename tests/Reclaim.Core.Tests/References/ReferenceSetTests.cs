using Reclaim.Core.References;

namespace Reclaim.Core.Tests.References;

public sealed class ReferenceSetTests
{
    [Fact]
    public void Contains_AddedKeys_AreFound_OthersAreNot()
    {
        var set = new ReferenceSet();
        for (var i = 0; i < 100_000; i++)
        {
            set.Add($"orgs/{i % 7}/uploads/{i}/");
        }

        set.Seal();
        set.Contains("orgs/3/uploads/3/").Should().BeTrue();
        set.Contains("orgs/0/uploads/99995/").Should().BeTrue();
        set.Contains("orgs/3/uploads/3").Should().BeFalse();
        set.Contains("orgs/4/uploads/3/").Should().BeFalse();
        set.Contains("orgs/3/uploads/100000/").Should().BeFalse();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(70_000)]
    public void ContainsFingerprints_AnswersLikeOneLookupAtATime(int references)
    {
        var set = new ReferenceSet();
        for (var i = 0; i < references; i++)
        {
            set.Add($"uploads/{i % 1000:D3}/{i:D8}.bin");
        }

        set.Seal();

        // Present and absent keys interleaved, across several chunks of the batch lookup and a ragged end.
        var probes = Enumerable.Range(0, 1_000).Select(i => i * 97).Select(k => KeyFingerprint.Of($"uploads/{k % 1000:D3}/{k:D8}.bin")).ToArray();
        var contained = new bool[probes.Length];
        set.ContainsFingerprints(probes, contained);

        contained.Should().Equal(probes.Select(set.ContainsFingerprint));
        contained.Count(c => c).Should().Be(Enumerable.Range(0, 1_000).Count(i => i * 97 < references));
    }

    [Fact]
    public void ContainsFingerprints_RefusesAnUnsealedSet_AndTooShortAnAnswer()
    {
        var set = new ReferenceSet();
        set.Add("a");
        set.Invoking(s => s.ContainsFingerprints([1UL], new bool[1])).Should().Throw<InvalidOperationException>();
        set.Seal();
        set.Invoking(s => s.ContainsFingerprints([1UL, 2UL], new bool[1])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Seal_RemovesDuplicates_AndCostsAboutNineBytesPerReference()
    {
        var set = new ReferenceSet();
        for (var i = 0; i < 50_000; i++)
        {
            set.Add($"k/{i}");
            set.Add($"k/{i}");
        }

        set.Seal();
        set.Added.Should().Be(100_000);
        set.Count.Should().Be(50_000);
        set.MemoryBytes.Should().BeInRange(50_000 * 8, 50_000 * 10);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(1000)]
    [InlineData(70_000)]
    public void Contains_FindsEveryAddedKeyAndNoOther_AtAnySize(int count)
    {
        var set = new ReferenceSet();
        for (var i = 0; i < count; i++)
        {
            set.Add($"k/{i}");
        }

        set.Seal();
        for (var i = 0; i < count; i++)
        {
            set.Contains($"k/{i}").Should().BeTrue();
        }

        for (var i = count; i < count + 1000; i++)
        {
            set.Contains($"k/{i}").Should().BeFalse();
        }
    }

    [Fact]
    public void Contains_BeforeSeal_Throws()
    {
        var set = new ReferenceSet();
        set.Add("a");
        var act = () => set.Contains("a");
        act.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Fingerprint_DiffersForKeysThatDifferByOneCharacter()
    {
        KeyFingerprint.Of("orgs/1/uploads/abc/").Should().NotBe(KeyFingerprint.Of("orgs/1/uploads/abd/"));
        KeyFingerprint.Of("caf\u00e9").Should().NotBe(KeyFingerprint.Of("cafe\u0301"));
        KeyFingerprint.Of("a").Should().Be(KeyFingerprint.Of("a"));
    }
}
