using Reclaim.Core.Storage;
using Reclaim.Testing;

namespace Reclaim.Stores.Tests;

/// <summary>
/// The optional <see cref="IKeyListing"/> capability, for a store that has it (as rclone's fstests test optional
/// features): the same keys in the same order as <see cref="IObjectStore.ListAsync"/>, in the caller's batches, each
/// filled to capacity but the last, none empty, the next asked for only once the one before is yielded.
/// </summary>
public abstract partial class StoreConformanceTests
{
    private IKeyListing? KeyListing => Store as IKeyListing;

    [Fact]
    public async Task KeyListing_SameKeysInTheSameOrderAsTheListing_UnderEachPrefix()
    {
        if (KeyListing is not { } listing)
        {
            return;
        }

        await PutAllAsync(["orgs/1/up", "orgs/1/upl.txt", "orgs/1/uploads/a/raw.mp4", "orgs/10/c.mp4", "orgs/2/d.mp4", "images2/x.jpg", "images/y.jpg", "odd/emoji 😀.txt"]);

        foreach (var prefix in new[] { "", "orgs/1", "orgs/1/upl", "orgs/1/uploads/", "images/", "odd/", "nothing-here/" })
        {
            (await listing.ListKeysAsync(prefix, default).CollectAsync()).Should().Equal(await KeysAsync(prefix), $"prefix '{prefix}'");
        }
    }

    [Fact]
    public async Task KeyListing_BatchesAreTheCallersFilledToCapacity_TheLastMayHoldFewer_NoneEmpty()
    {
        if (KeyListing is not { } listing)
        {
            return;
        }

        var keys = Enumerable.Range(0, 7).Select(i => $"media/{i:D2}.mp4").ToList();
        await PutAllAsync(keys);
        var handedOut = new List<KeyBatch>();
        var seen = new List<(KeyBatch Batch, int Count, List<string> Keys)>();

        await foreach (var batch in listing.ListKeyBatchesAsync("media/", () =>
        {
            handedOut.Should().HaveCount(seen.Count, "the next batch is asked for only once the one before is yielded");
            var next = new KeyBatch(3);
            handedOut.Add(next);
            return next;
        }, default))
        {
            seen.Add((batch, batch.Count, Enumerable.Range(0, batch.Count).Select(batch.GetString).ToList()));
        }

        seen.Select(s => s.Count).Should().Equal(3, 3, 1);
        seen.Select(s => s.Batch).Should().Equal(handedOut.Take(seen.Count), "each yielded batch is one the caller returned, in order");
        seen.SelectMany(s => s.Keys).Should().Equal(keys);
    }

    [Fact]
    public async Task KeyListing_EmptyPrefixRange_YieldsNoBatch()
    {
        if (KeyListing is not { } listing)
        {
            return;
        }

        await PutAllAsync(["media/a.mp4"]);

        (await listing.ListKeyBatchesAsync("other/", () => new KeyBatch(4), default).CollectAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task KeyListing_CallerHandsBackANonEmptyBatch_IsRefused()
    {
        if (KeyListing is not { } listing)
        {
            return;
        }

        await PutAllAsync(["media/a.mp4", "media/b.mp4"]);
        var used = new KeyBatch(1);
        used.Add("left/over");

        var act = async () => await listing.ListKeyBatchesAsync("media/", () => used, default).CollectAsync();

        await act.Should().ThrowAsync<ArgumentException>();
    }
}
