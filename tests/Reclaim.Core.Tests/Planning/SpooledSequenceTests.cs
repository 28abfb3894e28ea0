using Reclaim.Core.Planning;

namespace Reclaim.Core.Tests.Planning;

public sealed class SpooledSequenceTests
{
    [Fact]
    public void Add_BeyondTheHead_SpillsToTheSpool_AndKeepsTheHeadInMemory()
    {
        using var spool = new ListSpool();
        var items = new SpooledSequence<string>(spool, inMemory: 3);

        foreach (var i in Enumerable.Range(0, 10))
        {
            items.Add($"item {i}");
        }

        items.Count.Should().Be(10);
        items.InMemory.Should().Be(3, "the head is bounded whatever is added");
        items.Spooled.Should().Be(7);
        spool.Items.Should().Equal(Enumerable.Range(3, 7).Select(i => $"item {i}"), "the spool holds the items beyond the head, in the order added");
    }

    [Fact]
    public void Enumerating_ReadsTheHeadThenTheSpool_InTheOrderAdded_AgainFromTheStartEachTime()
    {
        using var spool = new ListSpool();
        var items = new SpooledSequence<string>(spool, inMemory: 2);
        string[] added = ["b", "a", "d", "c", "e"];
        foreach (var item in added)
        {
            items.Add(item);
        }

        items.Should().Equal(added);
        items.Take(3).Should().Equal("b", "a", "d");
        items.Should().Equal(added, "a second read starts again from the first item");
        spool.Reads.Should().Be(3, "each read past the head reads the spool from its start");
    }

    [Fact]
    public void AnEmptySequence_ReadsNothing_AndNeverReadsItsSpool()
    {
        using var spool = new ListSpool();
        var items = new SpooledSequence<string>(spool, inMemory: 0);

        items.Should().BeEmpty();
        items.Count.Should().Be(0);
        items.InMemory.Should().Be(0);
        spool.Reads.Should().Be(0);
    }

    [Fact]
    public void WithinTheHead_NothingGoesToTheSpool()
    {
        using var spool = new ListSpool();
        var items = new SpooledSequence<string>(spool, inMemory: 4);

        items.Add("x");
        items.Add("y");

        items.Spooled.Should().Be(0);
        spool.Items.Should().BeEmpty();
        items.Should().Equal("x", "y");
        spool.Reads.Should().Be(0, "nothing was spooled, so nothing is read back");
    }

    [Fact]
    public void WithNoHead_EveryItemIsSpooled_AndCountIsKeptWithoutReading()
    {
        using var spool = new ListSpool();
        var items = new SpooledSequence<string>(spool, inMemory: 0);

        items.Add("1");
        items.Add("2");

        items.Count.Should().Be(2);
        items.InMemory.Should().Be(0);
        spool.Reads.Should().Be(0, "Count does not read the spool");
        items.Should().Equal("1", "2");
        items.Contains("2").Should().BeTrue();
        items.Invoking(i => i.Clear()).Should().Throw<NotSupportedException>();
        items.Invoking(i => i.Remove("1")).Should().Throw<NotSupportedException>();
    }

    [Fact]
    public void WithoutASpool_EveryItemIsHeldInMemory()
    {
        SpooledSequence<string> items = ["a", "b", "c"];

        items.InMemory.Should().Be(3);
        items.Spooled.Should().Be(0);
        items.Should().Equal("a", "b", "c");
        items.Clear();
        items.Should().BeEmpty();
    }

    [Fact]
    public void BadArguments_AreRefused()
    {
        using var spool = new ListSpool();
        FluentActions.Invoking(() => new SpooledSequence<string>(spool, -1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new SpooledSequence<string>(null!, 1)).Should().Throw<ArgumentNullException>();
        new SpooledSequence<string>(spool, 1).Invoking(i => i.Add(null!)).Should().Throw<ArgumentNullException>();
    }

    private sealed class ListSpool : Spool<string>
    {
        public List<string> Items { get; } = [];

        public int Reads { get; private set; }

        public override void Append(string item) => Items.Add(item);

        public override IEnumerable<string> Read()
        {
            Reads++;
            return Items;
        }
    }
}
