using Reclaim.Core.Planning;
using Reclaim.Core.Storage;

namespace Reclaim.Core.Tests.Planning;

public sealed class PlannedGroupsTests
{
    [Fact]
    public void WithASpool_HoldsTheHeadInMemory_AndReadsEverythingBackInOrder()
    {
        using var spool = new ListSpool();
        var groups = new PlannedGroups(spool, inMemory: 2);

        foreach (var i in Enumerable.Range(0, 5))
        {
            groups.Add(Group(i));
        }

        groups.Count.Should().Be(5);
        groups.Spooled.Should().Be(3);
        spool.Items.Select(g => g.GroupKey).Should().Equal("g2/", "g3/", "g4/");
        groups.Select(g => g.GroupKey).Should().Equal("g0/", "g1/", "g2/", "g3/", "g4/");
        groups.Select(g => g.GroupKey).Should().Equal(new[] { "g0/", "g1/", "g2/", "g3/", "g4/" }, "a second read starts again");
        groups.Invoking(g => g.Clear()).Should().Throw<NotSupportedException>();
    }

    [Fact]
    public void WithoutASpool_HoldsEveryGroup()
    {
        PlannedGroups groups = [Group(0), Group(1)];

        groups.Spooled.Should().Be(0);
        groups.Contains(groups.First()).Should().BeTrue();
        groups.Clear();
        groups.Should().BeEmpty();
    }

    [Fact]
    public void CreateEmpty_OfASpooledSequence_HoldsTheSameHead_InANewSpool()
    {
        using var spool = new ListSpool();
        var groups = new PlannedGroups(spool, inMemory: 1);
        groups.Add(Group(0));

        var empty = groups.CreateEmpty();
        empty.Should().BeEmpty();
        empty.Add(Group(1));
        empty.Add(Group(2));

        empty.Spooled.Should().Be(1, "the new sequence keeps the head of one group");
        empty.Select(g => g.GroupKey).Should().Equal("g1/", "g2/");
        spool.Items.Should().BeEmpty("the new sequence spools into a spool of its own");
        groups.Select(g => g.GroupKey).Should().Equal("g0/");
    }

    [Fact]
    public void CreateEmpty_OfAnInMemorySequence_HoldsEveryGroupInMemory()
    {
        PlannedGroups groups = [Group(0)];

        var empty = groups.CreateEmpty();
        foreach (var i in Enumerable.Range(0, 3))
        {
            empty.Add(Group(i));
        }

        empty.Count.Should().Be(3);
        empty.Spooled.Should().Be(0);
        groups.Count.Should().Be(1);
    }

    [Fact]
    public void WithNoHead_EveryGroupGoesToTheSpool_AndIsFoundThere()
    {
        using var spool = new ListSpool();
        var groups = new PlannedGroups(spool, inMemory: 0);
        var second = Group(1);
        groups.Add(Group(0));
        groups.Add(second);

        groups.Spooled.Should().Be(2);
        groups.Count.Should().Be(2);
        groups.Contains(second).Should().BeTrue("found in the spool");
        groups.Contains(Group(2)).Should().BeFalse();
    }

    [Fact]
    public void CopyTo_CopiesTheHeadThenTheSpool_FromTheIndexGiven()
    {
        using var spool = new ListSpool();
        var groups = new PlannedGroups(spool, inMemory: 1);
        groups.Add(Group(0));
        groups.Add(Group(1));
        var array = new PlannedGroup[4];

        groups.CopyTo(array, 1);

        array[0].Should().BeNull();
        array.Skip(1).Take(2).Select(g => g.GroupKey).Should().Equal("g0/", "g1/");
        array[3].Should().BeNull();
        groups.Invoking(g => g.CopyTo(null!, 0)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void AnEmptySpooledSequence_CanBeCleared_ButNothingCanBeRemoved()
    {
        using var spool = new ListSpool();
        var groups = new PlannedGroups(spool, inMemory: 2);
        groups.Add(Group(0));

        groups.Clear();
        groups.Should().BeEmpty();
        groups.IsReadOnly.Should().BeFalse();
        var kept = Group(1);
        groups.Add(kept);
        groups.Invoking(g => g.Remove(kept)).Should().Throw<NotSupportedException>();
        groups.Should().ContainSingle();
    }

    [Fact]
    public void BadArguments_AreRefused()
    {
        using var spool = new ListSpool();
        FluentActions.Invoking(() => new PlannedGroups(spool, -1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new PlannedGroups(null!, 1)).Should().Throw<ArgumentNullException>();
        new PlannedGroups(spool, 1).Invoking(g => g.Add(null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void DisposingASpool_ReleasesWhatItHolds()
    {
        var spool = new ListSpool();

        spool.Dispose();

        spool.Released.Should().Equal(true);
    }

    private static PlannedGroup Group(int i) =>
        new($"g{i}/", [$"{i}"], [new StoredObject($"g{i}/f", i, DateTimeOffset.UnixEpoch)], DateTimeOffset.UnixEpoch, "reason");

    private sealed class ListSpool : PlannedGroupSpool
    {
        public List<PlannedGroup> Items { get; } = [];

        public override void Append(PlannedGroup group) => Items.Add(group);

        public override PlannedGroupSpool CreateEmpty() => new ListSpool();

        public override IEnumerable<PlannedGroup> Read() => Items;

        public List<bool> Released { get; } = [];

        protected override void Dispose(bool disposing)
        {
            Released.Add(disposing);
            base.Dispose(disposing);
        }
    }
}
