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
    [Fact]
    public void BeyondItsLimit_TheSetHandsOverFullBuffersOfItsLimit_ThenTheRestAtSeal()
    {
        var sizes = new List<int>();
        var spilled = new List<ulong>();
        var set = new ReferenceSet(1500, f =>
        {
            sizes.Add(f.Length);
            spilled.AddRange(f.ToArray());
        });
        var keys = Enumerable.Range(0, 4000).Select(i => $"s/{i}").ToList();

        foreach (var key in keys)
        {
            set.Add(key);
        }

        sizes.Should().Equal(1500, 1500);
        set.Spilled.Should().BeTrue();
        set.MemoryBytes.Should().Be(1500 * 8, "it never holds more than its limit");
        set.Seal();

        sizes.Should().Equal(1500, 1500, 1000);
        spilled.Should().Equal(keys.Select(k => KeyFingerprint.Of(k)), "every fingerprint, in the order added");
        set.MemoryBytes.Should().Be(0, "a spilled set keeps nothing once sealed");
        set.Invoking(s => s.ContainsFingerprints([1UL], new bool[1])).Should().Throw<InvalidOperationException>().WithMessage("*spilled*");
        set.Invoking(s => s.Add("more")).Should().Throw<InvalidOperationException>();
        set.Seal();
        sizes.Should().HaveCount(3, "sealing again hands over nothing more");
    }

    [Fact]
    public void ExactlyAtItsLimit_ASetStaysInMemory_OneMoreSpills()
    {
        var calls = 0;
        var set = new ReferenceSet(1024, _ => calls++);
        for (var i = 0; i < 1024; i++)
        {
            set.Add($"e/{i}");
        }

        set.Spilled.Should().BeFalse();
        calls.Should().Be(0);
        set.Add("e/1024");
        set.Spilled.Should().BeTrue();
        calls.Should().Be(1);
    }

    [Fact]
    public void ASmallLimit_StartsWithRoomForItOnly()
    {
        var set = new ReferenceSet(10, _ => { });

        set.MemoryBytes.Should().Be(10 * 8);
    }

    [Fact]
    public void BadArguments_AreRefused()
    {
        FluentActions.Invoking(() => new ReferenceSet(0, _ => { })).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new ReferenceSet(1, null!)).Should().Throw<ArgumentNullException>();
        new ReferenceSet(1, _ => { }).Spilled.Should().BeFalse();
    }
}
