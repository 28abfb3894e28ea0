using System.Collections.Concurrent;
using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.References;
using Reclaim.Core.Storage;

namespace Reclaim.Core.Tests.Planning;

public sealed class ReferenceJoinTests
{
    private static readonly DateTimeOffset Old = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Classify_FolderLayout_StartsEachGroupAtItsFirstKey_AndSetsTrashAndUnmatchedAside()
    {
        var classifier = new KeyClassifier(Layout.Parse("o/{org}/{asset}/"), "o/.trash/", "media");
        var batch = Batch(false, "o/.trash/x", "o/1/a-b/f", "o/1/a/f1", "o/1/a/f2", "o/1/stray", "o/2/a/f");

        classifier.Classify(batch);

        batch.GroupLengths[..6].Should().Equal(KeyClassifier.InTrash, 8, 6, 6, KeyClassifier.Unmatched, 6);
        batch.StartsGroup[..6].Should().Equal(false, true, true, false, false, true);
        batch.GroupCount.Should().Be(3);
        batch.GroupFingerprints[..3].Should().Equal(KeyFingerprint.Of("o/1/a-b/"), KeyFingerprint.Of("o/1/a/"), KeyFingerprint.Of("o/2/a/"));
    }

    [Fact]
    public void Classify_AGroupGoingOnInTheNextBatch_DoesNotStartAgain()
    {
        var classifier = new KeyClassifier(Layout.Parse("o/{asset}/"), ".trash/", "media");
        var first = Batch(false, "o/a/1", "o/a/2");
        var second = Batch(false, "o/a/3", "o/b/1");

        classifier.Classify(first);
        classifier.Classify(second);

        second.StartsGroup[..2].Should().Equal(false, true);
        second.GroupCount.Should().Be(1);
    }

    [Theory]
    [InlineData("o/a/2", "o/a/1")]
    [InlineData("o/a/1", "o/a/1")]
    [InlineData("o/a.b", "o/a-b")]
    public void Classify_AKeyNotAfterTheOneBefore_RefusesNamingBoth(string before, string after)
    {
        var classifier = new KeyClassifier(Layout.Parse("o/{asset}"), ".trash/", "media");
        var batch = Batch(false, before, after);

        var act = () => classifier.Classify(batch);

        act.Should().Throw<InvalidOperationException>().WithMessage($"store 'media' listed '{after}' after '{before}': keys out of order*");
    }

    [Fact]
    public void Classify_OrderIsOrdinal_WithDashDotAndSlashInterleaved()
    {
        // '-' (0x2D) < '.' (0x2E) < '/' (0x2F): "a-b" and "a.b" sort before the folder "a/".
        var classifier = new KeyClassifier(Layout.Parse("{a...}"), ".trash/", "media");
        var batch = Batch(false, "a-b", "a.b", "a/b", "a/b-c", "a/b.c", "a/b/c");

        classifier.Classify(batch);

        batch.GroupCount.Should().Be(6);
    }

    [Fact]
    public void Join_CountsEveryKey_AndCollectsUnreferencedGroupsAcrossBatches()
    {
        var layout = Layout.Parse("o/{asset}/");
        var classifier = new KeyClassifier(layout, "o/.trash/", "media");
        var references = new ReferenceSet();
        references.Add("o/b/");
        references.Seal();
        var first = Batch(true, "o/.trash/t", "o/a/1", "o/a/2");
        var second = Batch(true, "o/a/3", "o/b/1", "o/c/1", "o/stray");
        var totals = new PolicyTotals();
        var closed = new List<UnreferencedGroup>();

        classifier.Classify(first);
        first.LookUp(references);
        var open = ReferenceJoin.Join(first, totals, null, closed);
        classifier.Classify(second);
        second.LookUp(references);
        open = ReferenceJoin.Join(second, totals, open, closed);

        closed.Select(g => g.Key).Should().Equal("o/a/");
        closed[0].Known!.Select(o => o.Key).Should().Equal("o/a/1", "o/a/2", "o/a/3");
        open!.Build().Known!.Select(o => o.Key).Should().Equal("o/c/1");
        (totals.ObjectsInTrash, totals.ObjectsScanned, totals.ObjectsUnmatched, totals.GroupsScanned, totals.GroupsReferenced)
            .Should().Be((1L, 6L, 1L, 3L, 1L));
        totals.BytesScanned.Should().Be(6 * 10);
    }

    [Fact]
    public void Join_ObjectLayoutWithoutMetadata_KeepsOneStringForGroupAndKey()
    {
        var classifier = new KeyClassifier(Layout.Parse("u/{file}"), ".trash/", "media");
        var references = new ReferenceSet();
        references.Seal();
        var batch = Batch(false, "u/x", "u/y");
        var closed = new List<UnreferencedGroup>();

        classifier.Classify(batch);
        batch.LookUp(references);
        var open = ReferenceJoin.Join(batch, new PolicyTotals(), null, closed);

        closed.Should().ContainSingle().Which.Keys.Should().Equal("u/x");
        var last = open!.Build();
        last.Keys!.Single().Should().BeSameAs(last.Key);
    }

    private static ListedBatch Batch(bool withMetadata, params string[] keys)
    {
        var batch = ListedBatch.Rent(new ConcurrentQueue<ListedBatch>(), withMetadata, 16);
        foreach (var key in keys)
        {
            if (withMetadata)
            {
                batch.Add(new StoredObject(key, 10, Old));
            }
            else
            {
                batch.Keys.Add(key);
            }
        }

        return batch;
    }
}
