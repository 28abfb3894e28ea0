using Reclaim.Core.Storage;

namespace Reclaim.Core.Tests.Storage;

public sealed class KeyBatchTests
{
    [Fact]
    public void Add_KeepsEachKeyAsGiven_AndGrowsPastItsInitialBuffer()
    {
        var batch = new KeyBatch(capacity: 4, charsPerKey: 2);
        batch.Add("orgs/1/", "clip.mp4");
        batch.Add("");
        batch.Add("caf\u00e9/\U0001F3AC");
        batch.Add([], "x");

        batch.Count.Should().Be(4);
        batch.IsFull.Should().BeTrue();
        batch.GetString(0).Should().Be("orgs/1/clip.mp4");
        batch.GetString(1).Should().BeEmpty();
        batch.GetString(2).Should().Be("caf\u00e9/\U0001F3AC");
        batch[3].ToString().Should().Be("x");
    }

    [Fact]
    public void Add_WhenFull_Throws_AndClearEmptiesIt()
    {
        var batch = new KeyBatch(capacity: 1);
        batch.Add("a");

        var add = () => batch.Add("b");
        add.Should().Throw<InvalidOperationException>();

        batch.Clear();
        batch.Count.Should().Be(0);
        batch.Add("b");
        batch.GetString(0).Should().Be("b");
    }

    [Fact]
    public void Indexer_OutsideTheKeys_Throws()
    {
        var batch = new KeyBatch(capacity: 2);
        batch.Add("a");

        var read = () => batch.GetString(1);
        read.Should().Throw<ArgumentOutOfRangeException>();
    }
}
