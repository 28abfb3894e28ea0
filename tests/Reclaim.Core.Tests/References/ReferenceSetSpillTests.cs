using Reclaim.Core.References;

namespace Reclaim.Core.Tests.References;

public sealed class ReferenceSetSpillTests
{
    [Fact]
    public void WithinItsLimit_ASetWithASpillStaysInMemory()
    {
        var spilled = new List<ulong>();
        var set = new ReferenceSet(3, f => spilled.AddRange(f.ToArray()));

        set.Add("a");
        set.Add("b");
        set.Add("c");
        set.Seal();

        set.Spilled.Should().BeFalse();
        spilled.Should().BeEmpty();
        set.Contains("b").Should().BeTrue();
    }

    [Fact]
    public void BeyondItsLimit_EveryFingerprintGoesToTheSpill_AndLookupsRefuse()
    {
        var spilled = new List<ulong>();
        var set = new ReferenceSet(2, f => spilled.AddRange(f.ToArray()));

        foreach (var key in new[] { "a", "b", "c", "b", "d" })
        {
            set.Add(key);
        }

        set.Seal();

        set.Spilled.Should().BeTrue();
        set.Added.Should().Be(5);
        spilled.Should().Equal(new[] { "a", "b", "c", "b", "d" }.Select(k => KeyFingerprint.Of(k)));
        set.Invoking(s => s.Contains("a")).Should().Throw<InvalidOperationException>().WithMessage("*spilled*");
    }
}
