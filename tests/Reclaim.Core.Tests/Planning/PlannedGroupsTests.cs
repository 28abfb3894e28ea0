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

    private static PlannedGroup Group(int i) =>
        new($"g{i}/", [$"{i}"], [new StoredObject($"g{i}/f", i, DateTimeOffset.UnixEpoch)], DateTimeOffset.UnixEpoch, "reason");

    private sealed class ListSpool : PlannedGroupSpool
    {
        public List<PlannedGroup> Items { get; } = [];

        public override void Append(PlannedGroup group) => Items.Add(group);

        public override PlannedGroupSpool CreateEmpty() => new ListSpool();

        public override IEnumerable<PlannedGroup> Read() => Items;
    }
}
