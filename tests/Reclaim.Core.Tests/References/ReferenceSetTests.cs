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
    public void Add_AfterSeal_IsRefused_AndASecondSealChangesNothing()
    {
        var set = new ReferenceSet();
        set.Add("a");
        set.Add("b");
        set.Seal();

        set.Invoking(s => s.Add("c")).Should().Throw<InvalidOperationException>().WithMessage("*sealed*");
        set.Invoking(s => s.AddFingerprint(1UL)).Should().Throw<InvalidOperationException>();
        set.Seal();

        set.Count.Should().Be(2);
        set.Added.Should().Be(2);
        set.Contains("a").Should().BeTrue();
        set.Contains("c").Should().BeFalse();
    }

    [Fact]
    public void ContainsFingerprints_OnAnEmptySet_AnswersFalseForEach_AndLeavesTheRest()
    {
        var set = new ReferenceSet();
        set.Seal();
        var contained = new[] { true, true, true };

        set.ContainsFingerprints([KeyFingerprint.Of("a"), KeyFingerprint.Of("b")], contained);

        contained.Should().Equal(false, false, true);
        set.Count.Should().Be(0);
        set.Contains("a").Should().BeFalse();
    }

    [Fact]
    public void ContainsFingerprints_WritesEveryAnswer_OverWhatTheBufferHeld()
    {
        var set = new ReferenceSet();
        for (var i = 0; i < 600; i += 2)
        {
            set.Add($"k/{i}");
        }

        set.Seal();
        var probes = Enumerable.Range(0, 600).Select(i => KeyFingerprint.Of($"k/{i}")).ToArray();
        var contained = Enumerable.Repeat(true, 601).ToArray();

        set.ContainsFingerprints(probes, contained);

        contained[..600].Should().Equal(Enumerable.Range(0, 600).Select(i => i % 2 == 0));
        contained[600].Should().BeTrue("beyond the fingerprints, the buffer is left alone");
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(ulong.MaxValue)]
    [InlineData(ulong.MaxValue - 1)]
    [InlineData(1UL << 63)]
    public void ExtremeFingerprints_AreFound_AmongMany(ulong extreme)
    {
        var set = new ReferenceSet();
        for (var i = 0; i < 5000; i++)
        {
            set.Add($"k/{i}");
        }

        set.AddFingerprint(extreme);
        set.Seal();

        set.ContainsFingerprint(extreme).Should().BeTrue();
        var answers = new bool[1];
        set.ContainsFingerprints([extreme], answers);
        answers[0].Should().BeTrue();
        set.ContainsFingerprint(extreme ^ 0x5555).Should().BeFalse();
    }

    [Fact]
    public void ManyDuplicates_AreSealedIntoTheDistinctFew_AndTheMemoryShrinksToThem()
    {
        var set = new ReferenceSet();
        for (var i = 0; i < 100_000; i++)
        {
            set.Add($"k/{i % 10}");
        }

        set.Seal();

        set.Count.Should().Be(10);
        set.Added.Should().Be(100_000);
        set.MemoryBytes.Should().BeLessThanOrEqualTo(10 * 8 + (9 * 4), "8 bytes per distinct fingerprint and a small index");
        Enumerable.Range(0, 10).Should().OnlyContain(i => set.Contains($"k/{i}"));
        set.Contains("k/10").Should().BeFalse();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(17)]
    [InlineData(4096)]
    public void DistinctFingerprintsAroundIndexSizes_AreEachFound(int distinct)
    {
        // Duplicates of each, so that sealing trims the set and may re-size its index.
        var set = new ReferenceSet();
        for (var copy = 0; copy < 3; copy++)
        {
            for (var i = 0; i < distinct; i++)
            {
                set.Add($"g/{i}");
            }
        }

        set.Seal();

        set.Count.Should().Be(distinct);
        var probes = Enumerable.Range(0, distinct * 2).Select(i => KeyFingerprint.Of($"g/{i}")).ToArray();
        var contained = new bool[probes.Length];
        set.ContainsFingerprints(probes, contained);
        contained.Should().Equal(Enumerable.Range(0, distinct * 2).Select(i => i < distinct));
        Enumerable.Range(0, distinct * 2).Select(i => set.Contains($"g/{i}")).Should().Equal(contained);
    }

    [Fact]
    public void MemoryBytes_OfALargeSet_IsAboutNineBytesPerReference_GrowingAsItIsAdded()
    {
        var set = new ReferenceSet();
        set.MemoryBytes.Should().Be(1024 * 8, "an empty set starts with room for 1024 fingerprints");
        for (var i = 0; i < 3000; i++)
        {
            set.Add($"m/{i}");
        }

        set.MemoryBytes.Should().Be(4096 * 8, "room doubled twice while adding");
        set.Seal();
        set.MemoryBytes.Should().BeInRange(3000 * 8, (3000 * 8) + (3000 * 2));
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
