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

    [Fact]
    public void Join_FolderLayoutWithoutMetadata_CollectsEveryKeyOfAGroupInOrder()
    {
        var classifier = new KeyClassifier(Layout.Parse("o/{asset}/"), ".trash/", "media");
        var references = new ReferenceSet();
        references.Seal();
        var batch = Batch(false, "o/a/1", "o/a/2", "o/a/3", "o/b/1");
        var totals = new PolicyTotals();
        var closed = new List<UnreferencedGroup>();

        classifier.Classify(batch);
        batch.LookUp(references);
        var open = ReferenceJoin.Join(batch, totals, null, closed);

        closed.Should().ContainSingle();
        closed[0].Key.Should().Be("o/a/");
        closed[0].Keys.Should().Equal("o/a/1", "o/a/2", "o/a/3");
        closed[0].Known.Should().BeNull();
        open!.Build().Keys.Should().Equal("o/b/1");
        totals.BytesScanned.Should().Be(0, "a key listing has no sizes");
        totals.ObjectsScanned.Should().Be(4);
    }

    [Fact]
    public void Join_AReferencedGroup_IsCountedButNotCollected_AndClosesTheOpenOne()
    {
        var classifier = new KeyClassifier(Layout.Parse("o/{asset}/"), ".trash/", "media");
        var references = new ReferenceSet();
        references.Add("o/b/");
        references.Seal();
        var batch = Batch(true, "o/a/1", "o/b/1", "o/b/2");
        var totals = new PolicyTotals();
        var closed = new List<UnreferencedGroup>();

        classifier.Classify(batch);
        batch.LookUp(references);
        var open = ReferenceJoin.Join(batch, totals, null, closed);

        open.Should().BeNull("the last group is referenced: nothing left open");
        closed.Select(g => g.Key).Should().Equal("o/a/");
        closed[0].Known!.Select(o => o.Key).Should().Equal("o/a/1");
        (totals.GroupsScanned, totals.GroupsReferenced, totals.BytesScanned).Should().Be((2L, 1L, 30L));
    }

    [Fact]
    public void Join_AddsToTheTotalsGiven_AndRefusesNullArguments()
    {
        var classifier = new KeyClassifier(Layout.Parse("o/{asset}/"), ".trash/", "media");
        var references = new ReferenceSet();
        references.Seal();
        var batch = Batch(true, "o/a/1");
        var totals = new PolicyTotals { ObjectsScanned = 5, GroupsScanned = 2, BytesScanned = 7 };
        classifier.Classify(batch);
        batch.LookUp(references);

        ReferenceJoin.Join(batch, totals, null, []);

        (totals.ObjectsScanned, totals.GroupsScanned, totals.BytesScanned).Should().Be((6L, 3L, 17L));
        FluentActions.Invoking(() => ReferenceJoin.Join(null!, totals, null, [])).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => ReferenceJoin.Join(batch, null!, null, [])).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => ReferenceJoin.Join(batch, totals, null, null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Classify_KeysQuarantinedInPlace_CountAsInTheTrash_AndAreNeverCandidates()
    {
        var classifier = new KeyClassifier(Layout.Parse("o/{asset}/"), ".trash/", "media", new HashSet<string>(StringComparer.Ordinal) { "o/a/2" });
        var references = new ReferenceSet();
        references.Seal();
        var batch = Batch(false, "o/a/1", "o/a/2", "o/b/1");
        var totals = new PolicyTotals();
        var closed = new List<UnreferencedGroup>();

        classifier.Classify(batch);
        batch.LookUp(references);
        ReferenceJoin.Join(batch, totals, null, closed);

        batch.GroupLengths[..3].Should().Equal(4, KeyClassifier.InTrash, 4);
        closed.Single().Keys.Should().Equal("o/a/1");
        (totals.ObjectsInTrash, totals.ObjectsScanned).Should().Be((1L, 2L));
    }

    [Fact]
    public void Classify_AnEmptySetOfKeysQuarantinedInPlace_SetsNothingAside()
    {
        var classifier = new KeyClassifier(Layout.Parse("o/{asset}/"), ".trash/", "media", new HashSet<string>(StringComparer.Ordinal));
        var batch = Batch(false, "o/a/1");

        classifier.Classify(batch);

        batch.GroupLengths[0].Should().Be(4);
    }

    [Fact]
    public void Classify_KeysOutOfOrderAcrossBatches_AreRefused_AnEmptyBatchInBetweenChangesNothing()
    {
        var classifier = new KeyClassifier(Layout.Parse("o/{asset}/"), ".trash/", "media");
        classifier.Classify(Batch(false, "o/a/1", "o/b/1"));
        classifier.Classify(Batch(false));

        var act = () => classifier.Classify(Batch(false, "o/a/2"));

        act.Should().Throw<InvalidOperationException>().WithMessage("store 'media' listed 'o/a/2' after 'o/b/1': keys out of order*");
    }

    [Fact]
    public void Classify_KeysAndGroupsLongerThanItsBuffers_AreComparedWhole_AcrossBatches()
    {
        var folder = "o/" + new string('x', 300) + "/";
        var classifier = new KeyClassifier(Layout.Parse("o/{asset}/"), ".trash/", "media");
        var first = Batch(false, folder + "1", folder + "2");
        var second = Batch(false, folder + "3", "o/y/1");
        var third = Batch(false, folder + "4");

        classifier.Classify(first);
        classifier.Classify(second);

        first.StartsGroup[..2].Should().Equal(true, false);
        second.StartsGroup[..2].Should().Equal([false, true], "the long group goes on; its whole key is compared");
        second.GroupCount.Should().Be(1);
        classifier.Invoking(c => c.Classify(third)).Should().Throw<InvalidOperationException>("the whole long key before is remembered");
    }

    [Theory]
    [InlineData("orgs/{org}/uploads/{asset}/", "orgs/", ListingSplit.FirstFolder)]
    [InlineData("media/{asset}/", "media/", ListingSplit.FirstFolder)]
    [InlineData("media/{asset}.mp4", "media/", ListingSplit.Sampled)]
    [InlineData("media/{file}", "media/", ListingSplit.Sampled)]
    public void Classifier_ListsTheLayoutsFixedPrefix_SplitByFolderWhenAFolderFollowsTheFirstVariable(string layout, string prefix, ListingSplit split)
    {
        var classifier = new KeyClassifier(Layout.Parse(layout), ".trash/", "media");

        classifier.Prefix.Should().Be(prefix);
        classifier.Split.Should().Be(split);
    }

    [Fact]
    public void Rent_ReusesAPooledBatch_Emptied()
    {
        var pool = new ConcurrentQueue<ListedBatch>();
        var classifier = new KeyClassifier(Layout.Parse("o/{asset}/"), ".trash/", "media");
        var used = Batch(true, "o/a/1", "o/b/1");
        classifier.Classify(used);
        pool.Enqueue(used);

        var rented = ListedBatch.Rent(pool, withMetadata: true, 16);

        rented.Should().BeSameAs(used);
        rented.Count.Should().Be(0);
        rented.GroupCount.Should().Be(0);
        rented.StartsGroup.Should().OnlyContain(s => !s);
        ListedBatch.Rent(pool, withMetadata: false, 4).Metadata.Should().BeNull("the pool is empty again: a new batch");
        ListedBatch.Rent(pool, withMetadata: true, 4).Metadata.Should().HaveCount(4);
    }

    [Fact]
    public void Add_ToABatchWithoutMetadata_IsRefused()
    {
        var batch = Batch(false);

        batch.Invoking(b => b.Add(new StoredObject("o/a/1", 1, Old))).Should().Throw<InvalidOperationException>();
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
