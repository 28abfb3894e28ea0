using System.Text;
using Reclaim.Core.Storage;
using Reclaim.Testing;

namespace Reclaim.Stores.Tests;

/// <summary>
/// What every store must do (after rclone's <c>fstests</c>). Each concrete subclass hands every test a new, empty
/// store; the scenarios come from docs/safety.md's invariants and edge cases.
/// </summary>
public abstract partial class StoreConformanceTests : IAsyncLifetime
{
    private IObjectStore? _store;

    /// <summary>Keys that must round-trip exactly through every store.</summary>
    public static TheoryData<string> OddKeys => new()
    {
        "odd/with space.txt",
        "odd/plus+sign.txt",
        "odd/percent%41%2F%zz.txt",
        "odd/hash#fragment.txt",
        "odd/question?query=1&b=2.txt",
        "odd/\"double\" 'single'.txt",
        "odd/emoji 😀🎬.txt",
        "odd/xml &amp; <tag>.txt",
        "odd/tilde~star*(paren)[square]{curly}$dollar@at,comma;semi=eq!bang.txt",
        "odd/ünïcödé/日本語.txt",
        "odd/ leading and trailing spaces .txt",
    };

    /// <summary>Keys no store accepts.</summary>
    public static TheoryData<string> InvalidKeys => new()
    {
        "../escape.txt",
        "media/../../escape.txt",
        "/absolute.txt",
        "media/./x.txt",
        "back\\slash.txt",
        "nul\0.txt",
    };

    protected IObjectStore Store => _store ?? throw new InvalidOperationException("the store is created in InitializeAsync");

    protected IObjectContent Content => (IObjectContent)Store;

    /// <summary>Whether keys with an empty segment (<c>a//b</c>, <c>a/</c>) are objects of this store (S3) or refused (filesystem).</summary>
    protected abstract bool HoldsKeysWithEmptySegments { get; }

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    /// <summary>A new store with no objects.</summary>
    protected abstract Task<IObjectStore> CreateStoreAsync();

    [Fact]
    public async Task List_NestedFolders_StreamsKeysInUtf8ByteOrder()
    {
        // Arrange: '.' (0x2E) sorts before '/' (0x2F), so "a.b" precedes "a/x" although a folder walk meets "a" first;
        // U+FFFD (EF BF BD) precedes an emoji (F0 ...) in UTF-8, the reverse of UTF-16 order.
        string[] expected =
        [
            "a-c", "a.b", "a/x", "a/y/z", "a0", "ab",
            "b/c.txt", "b/c/d.txt",
            "z/é.txt", "z/\uFF5E.txt", "z/\uFFFD.txt", "z/😀.txt",
        ];
        await PutAllAsync(expected.Reverse());

        // Act
        var listed = await Store.ListAsync("", default).CollectAsync();

        // Assert
        listed.Select(o => o.Key).Should().Equal(expected);
        expected.Order(ObjectKey.Comparer).Should().Equal(expected, "the expectation itself is in the comparer's order");
        listed.Should().OnlyContain(o => o.Size == Encoding.UTF8.GetByteCount(o.Key));
        if (Store is IKeyListing keyListing)
        {
            (await keyListing.ListKeysAsync("", default).CollectAsync()).Should().Equal(expected);
        }
    }

    [Fact]
    public async Task List_PrefixEndingMidName_ReturnsEveryKeyStartingWithIt()
    {
        await PutAllAsync(
        [
            "orgs/1/avatars/x.png", "orgs/1/up", "orgs/1/upl.txt", "orgs/1/uploads/a/raw.mp4", "orgs/1/uploads/b/thumb.jpg",
            "orgs/10/uploads/c.mp4", "orgs/2/uploads/d.mp4",
        ]);

        (await KeysAsync("orgs/1/upl")).Should().Equal("orgs/1/upl.txt", "orgs/1/uploads/a/raw.mp4", "orgs/1/uploads/b/thumb.jpg");
        (await KeysAsync("orgs/1/uploads/a/raw.mp4")).Should().Equal("orgs/1/uploads/a/raw.mp4");
        (await KeysAsync("orgs/1")).Should().Equal(
            "orgs/1/avatars/x.png", "orgs/1/up", "orgs/1/upl.txt", "orgs/1/uploads/a/raw.mp4", "orgs/1/uploads/b/thumb.jpg", "orgs/10/uploads/c.mp4");
        (await KeysAsync("orgs/3/")).Should().BeEmpty();
        (await KeysAsync("nothing-here")).Should().BeEmpty();
    }

    [Fact]
    public async Task List_FolderPrefix_NeverReachesASiblingWhoseNameExtendsIt()
    {
        await PutAllAsync(["images/a.jpg", "images/b/c.jpg", "images2/d.jpg", "images.bak/e.jpg", "images-old/f.jpg", "imagesX"]);

        (await KeysAsync("images/")).Should().Equal("images/a.jpg", "images/b/c.jpg");
        (await KeysAsync("images")).Should().Equal("images-old/f.jpg", "images.bak/e.jpg", "images/a.jpg", "images/b/c.jpg", "images2/d.jpg", "imagesX");
    }

    [Fact]
    public async Task List_EmptyStore_ReturnsNothing()
    {
        (await KeysAsync("")).Should().BeEmpty();
    }

    [Fact]
    public async Task Stat_ExistingObject_ReturnsItsSizeAndUtcLastModified()
    {
        var before = DateTimeOffset.UtcNow;
        await PutAsync("media/clip.mp4", new byte[1234]);
        var after = DateTimeOffset.UtcNow;

        var stored = await Store.StatAsync("media/clip.mp4", default);

        stored.Should().NotBeNull();
        stored!.Value.Key.Should().Be("media/clip.mp4");
        stored.Value.Size.Should().Be(1234);
        stored.Value.LastModified.Offset.Should().Be(TimeSpan.Zero);
        stored.Value.LastModified.Should().BeOnOrAfter(before.AddSeconds(-2)).And.BeOnOrBefore(after.AddSeconds(2));
        var listed = (await Store.ListAsync("media/", default).CollectAsync()).Single();
        listed.IsUnchangedSince(stored.Value).Should().BeTrue("the listing and a stat describe the same object");
    }

    [Fact]
    public async Task Stat_MissingObject_ReturnsNull()
    {
        await PutAsync("media/present.txt", "x");

        (await Store.StatAsync("media/absent.txt", default)).Should().BeNull();
        (await Store.StatAsync("elsewhere/absent.txt", default)).Should().BeNull();
    }

    [Fact]
    public async Task Stat_KeyOfAFolder_ReturnsNull()
    {
        await PutAsync("media/folder/inside.txt", "x");

        (await Store.StatAsync("media/folder", default)).Should().BeNull("a folder is not an object");
    }

    [Fact]
    public async Task Delete_BatchWithMissingKeys_SucceedsAndRemovesOnlyTheGivenObjects()
    {
        await PutAllAsync(["keep/a.txt", "gone/b.txt", "gone/c.txt"]);

        var errors = await Store.DeleteAsync(["gone/b.txt", "gone/never-existed.txt", "gone/c.txt", "nowhere/at/all.txt"], default);

        errors.Should().BeEmpty();
        (await KeysAsync("")).Should().Equal("keep/a.txt");
    }

    [Fact]
    public async Task Delete_AlreadyDeletedObject_SucceedsAgain()
    {
        await PutAsync("once.txt", "x");
        (await Store.DeleteAsync(["once.txt"], default)).Should().BeEmpty();

        (await Store.DeleteAsync(["once.txt"], default)).Should().BeEmpty();
    }

    [Fact]
    public async Task Delete_MoreKeysThanOneBatch_IsRefusedWithoutDeleting()
    {
        await PutAsync("keep.txt", "x");
        var keys = Enumerable.Range(0, Store.MaxDeleteBatch).Select(i => $"k{i}").Append("keep.txt").ToList();

        var delete = () => Store.DeleteAsync(keys, default);

        await delete.Should().ThrowAsync<ArgumentException>();
        (await KeysAsync("")).Should().Equal("keep.txt");
    }

    [Fact]
    public async Task Delete_ThousandsOfObjectsInOneGroup_GoInSeveralBatches()
    {
        var keys = Enumerable.Range(0, 2 * Store.MaxDeleteBatch + 100).Select(i => $"orgs/1/uploads/big/part-{i:D5}.ts").ToList();
        await PutAllAsync(keys);
        (await KeysAsync("orgs/1/uploads/big/")).Should().Equal(keys, "a listing of several pages keeps the order");

        foreach (var batch in keys.Chunk(Store.MaxDeleteBatch))
        {
            (await Store.DeleteAsync(batch, default)).Should().BeEmpty();
        }

        (await KeysAsync("")).Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(InvalidKeys))]
    public async Task InvalidKey_IsRefusedBeforeAnythingIsDeleted(string key)
    {
        await PutAllAsync(["media/a.txt", "escape.txt"]);

        var delete = () => Store.DeleteAsync(["media/a.txt", key], default);
        var stat = () => Store.StatAsync(key, default);
        var move = () => Store.MoveAsync("media/a.txt", key, default);
        var write = () => Content.WriteAsync(key, new MemoryStream([1]), default);

        await delete.Should().ThrowAsync<InvalidKeyException>();
        await stat.Should().ThrowAsync<InvalidKeyException>();
        await move.Should().ThrowAsync<InvalidKeyException>();
        await write.Should().ThrowAsync<InvalidKeyException>();
        (await KeysAsync("")).Should().Equal("escape.txt", "media/a.txt");
    }

    [Fact]
    public async Task Move_ToANewKey_KeepsTheBytesAndRemovesTheSource()
    {
        var bytes = new byte[200_000];
        new Random(42).NextBytes(bytes);
        await PutAsync("orgs/1/uploads/7/raw.mp4", bytes);
        var before = await Store.StatAsync("orgs/1/uploads/7/raw.mp4", default);

        await Store.MoveAsync("orgs/1/uploads/7/raw.mp4", ".reclaim-trash/run-1/orgs/1/uploads/7/raw.mp4", default);

        (await Store.StatAsync("orgs/1/uploads/7/raw.mp4", default)).Should().BeNull();
        (await Content.ReadAllAsync(".reclaim-trash/run-1/orgs/1/uploads/7/raw.mp4", default)).Should().Equal(bytes);
        var after = await Store.StatAsync(".reclaim-trash/run-1/orgs/1/uploads/7/raw.mp4", default);
        after!.Value.Size.Should().Be(before!.Value.Size);
        (await KeysAsync("")).Should().Equal(".reclaim-trash/run-1/orgs/1/uploads/7/raw.mp4");
    }

    [Fact]
    public async Task Move_OntoAnExistingKey_IsRefusedAndChangesNothing()
    {
        await PutAsync("restore/me.txt", "quarantined");
        await PutAsync("original/me.txt", "reappeared");

        var move = () => Store.MoveAsync("restore/me.txt", "original/me.txt", default);

        (await move.Should().ThrowAsync<ObjectExistsException>()).Which.Key.Should().Be("original/me.txt");
        (await ReadTextAsync("restore/me.txt")).Should().Be("quarantined");
        (await ReadTextAsync("original/me.txt")).Should().Be("reappeared");
    }

    [Fact]
    public async Task Move_MissingSource_ThrowsObjectNotFound()
    {
        await PutAsync("other.txt", "x");

        var move = () => Store.MoveAsync("missing.txt", "moved.txt", default);

        (await move.Should().ThrowAsync<ObjectNotFoundException>()).Which.Key.Should().Be("missing.txt");
        (await KeysAsync("")).Should().Equal("other.txt");
    }

    [Fact]
    public async Task ReadAll_MissingObject_ThrowsObjectNotFound()
    {
        var read = () => Content.ReadAllAsync("missing.txt", default);

        await read.Should().ThrowAsync<ObjectNotFoundException>();
    }

    [Fact]
    public async Task Write_ExistingKey_ReplacesTheContent()
    {
        await PutAsync("a.txt", "first version, longer");
        await PutAsync("a.txt", "second");

        (await ReadTextAsync("a.txt")).Should().Be("second");
        (await Store.StatAsync("a.txt", default))!.Value.Size.Should().Be(6);
    }

    [Theory]
    [MemberData(nameof(OddKeys))]
    public async Task OddKey_RoundTripsExactly(string key)
    {
        var content = Encoding.UTF8.GetBytes("content of " + key);
        await PutAsync(key, content);
        await PutAsync("odd/neighbour.txt", "n");

        (await KeysAsync("odd/")).Should().Contain(key).And.HaveCount(2);
        (await Store.StatAsync(key, default))!.Value.Size.Should().Be(content.Length);
        (await Content.ReadAllAsync(key, default)).Should().Equal(content);

        var moved = "moved/" + key;
        await Store.MoveAsync(key, moved, default);
        (await Content.ReadAllAsync(moved, default)).Should().Equal(content);
        (await Store.StatAsync(key, default)).Should().BeNull();

        (await Store.DeleteAsync([moved], default)).Should().BeEmpty();
        (await KeysAsync("")).Should().Equal("odd/neighbour.txt");
    }

    [Fact]
    public async Task NfcAndNfdForms_AreTwoDistinctKeys()
    {
        const string nfc = "names/caf\u00E9.txt";
        const string nfd = "names/cafe\u0301.txt";
        await PutAsync(nfc, "composed");
        await PutAsync(nfd, "decomposed");

        (await KeysAsync("names/")).Should().Equal(nfd, nfc); // 'e' (0x65) sorts before 'é' (0xC3 0xA9)
        (await ReadTextAsync(nfc)).Should().Be("composed");
        (await ReadTextAsync(nfd)).Should().Be("decomposed");

        (await Store.DeleteAsync([nfc], default)).Should().BeEmpty();
        (await KeysAsync("names/")).Should().Equal(nfd);
    }

    [Fact]
    public async Task KeyCase_IsKept()
    {
        await PutAsync("Media/Clip.MP4", "upper");
        await PutAsync("media/clip.mp4", "lower");

        (await KeysAsync("")).Should().Equal("Media/Clip.MP4", "media/clip.mp4");
        (await Store.StatAsync("MEDIA/CLIP.MP4", default)).Should().BeNull();
    }

    [Fact]
    public async Task VeryLongKey_About900Bytes_RoundTrips()
    {
        // Six 150-byte segments: within S3's 1024-byte key limit and a filesystem's 255-byte name limit.
        var segment = string.Concat(Enumerable.Repeat("é", 50)) + new string('x', 50);
        var key = string.Join('/', Enumerable.Repeat(segment, 6)) + ".bin";
        Encoding.UTF8.GetByteCount(key).Should().BeInRange(900, 1000);
        await PutAsync(key, "long");

        (await KeysAsync("")).Should().Equal(key);
        (await Store.StatAsync(key, default))!.Value.Size.Should().Be(4);
        (await Store.DeleteAsync([key], default)).Should().BeEmpty();
        (await KeysAsync("")).Should().BeEmpty();
    }

    [Fact]
    public async Task KeyLongerThan1024Bytes_IsRefused()
    {
        var key = string.Join('/', Enumerable.Repeat(new string('k', 200), 6));

        var write = () => Content.WriteAsync(key, new MemoryStream([1]), default);

        await write.Should().ThrowAsync<InvalidKeyException>();
    }

    [Fact]
    public async Task ZeroByteObject_IsListedWithSizeZero()
    {
        await PutAsync("empty/zero.bin", Array.Empty<byte>());

        var listed = await Store.ListAsync("", default).CollectAsync();

        listed.Should().ContainSingle().Which.Size.Should().Be(0);
        (await Store.StatAsync("empty/zero.bin", default))!.Value.Size.Should().Be(0);
        (await Content.ReadAllAsync("empty/zero.bin", default)).Should().BeEmpty();
    }

    [Fact]
    public async Task DoubleSlashKey_IsEitherADistinctObjectOrRefused()
    {
        await PutAsync("a/b.txt", "single");

        if (HoldsKeysWithEmptySegments)
        {
            await PutAsync("a//b.txt", "double");
            (await KeysAsync("a/")).Should().Equal("a//b.txt", "a/b.txt");
            (await KeysAsync("a//")).Should().Equal("a//b.txt");
            (await ReadTextAsync("a//b.txt")).Should().Be("double");
            (await Store.DeleteAsync(["a//b.txt"], default)).Should().BeEmpty();
        }
        else
        {
            var write = () => Content.WriteAsync("a//b.txt", new MemoryStream([1]), default);
            var delete = () => Store.DeleteAsync(["a//b.txt"], default);
            await write.Should().ThrowAsync<InvalidKeyException>();
            await delete.Should().ThrowAsync<InvalidKeyException>();
            (await KeysAsync("a//")).Should().BeEmpty();
        }

        (await ReadTextAsync("a/b.txt")).Should().Be("single");
        (await KeysAsync("")).Should().Equal("a/b.txt");
    }

    /// <summary>Keys where '-' (0x2D), '.' (0x2E) and '/' (0x2F) interleave, over several prefixes, with a few non-ASCII ones.</summary>
    private static readonly string[] RangeKeys =
    [
        "a-c", "a.b", "a/x", "a/y/z", "a/y/z.bak", "a0", "ab",
        "orgs/1/uploads/a-1/raw.mp4", "orgs/1/uploads/a.1/raw.mp4", "orgs/1/uploads/a/raw.mp4", "orgs/1/uploads/a/thumb.jpg",
        "orgs/1/uploads/b/raw.mp4", "orgs/10/uploads/c/raw.mp4", "orgs/2/uploads/d/raw.mp4", "orgs/2/uploads/d/streaming/seg_000.ts",
        "z/é.txt", "z/😀.txt", "z/😁.txt",
    ];

    [Fact]
    public async Task ListRange_AnyBounds_TakesInExactlyTheKeysTheRangeContains()
    {
        // Arrange: every bound is a key or a folder of one; the expectation is the whole listing filtered.
        var ranges = Store.Should().BeAssignableTo<IRangeListing>().Subject;
        await PutAllAsync(RangeKeys);
        var all = await Store.ListAsync("", default).CollectAsync();
        string[] bounds =
        [
            "", "a-c", "a.b", "a/", "a/y/z", "a0", "orgs/1/uploads/a-1/raw.mp4", "orgs/1/uploads/a/", "orgs/1/uploads/b/",
            "orgs/10/", "orgs/2/uploads/d/", "z/😀.txt", "z/😁.txt", "zz",
        ];

        foreach (var from in bounds)
        {
            foreach (var through in bounds)
            {
                var range = new KeyRange(from, through);

                // Act
                var listed = await ranges.ListRangeAsync(range, default).CollectAsync();

                // Assert
                listed.Should().Equal(all.Where(o => range.Contains(o.Key)), $"the range [{from}, {through}] takes in exactly those keys");
            }
        }
    }

    [Fact]
    public async Task ListRange_SpanningSeveralPrefixes_ListsTheGroupsInBetweenInKeyOrder()
    {
        var ranges = (IRangeListing)Store;
        await PutAllAsync(RangeKeys);

        var listed = await ranges.ListRangeAsync(new KeyRange("orgs/1/uploads/a/", "orgs/2/uploads/d/"), default).CollectAsync();

        listed.Select(o => o.Key).Should().Equal(
            "orgs/1/uploads/a/raw.mp4", "orgs/1/uploads/a/thumb.jpg", "orgs/1/uploads/b/raw.mp4", "orgs/10/uploads/c/raw.mp4",
            "orgs/2/uploads/d/raw.mp4", "orgs/2/uploads/d/streaming/seg_000.ts");
        listed.Should().OnlyContain(o => o.Size == Encoding.UTF8.GetByteCount(o.Key));
    }

    [Fact]
    public async Task ListRange_AfterAChangeAndADelete_ShowsTheObjectAsItIsNowAndNotTheGoneOne()
    {
        // Arrange: the gate's case: listed once (the plan), then one object rewritten and one removed.
        var ranges = (IRangeListing)Store;
        await PutAllAsync(["g/1/a.bin", "g/1/b.bin", "g/2/c.bin", "g/3/d.bin"]);
        var range = new KeyRange("g/1/", "g/2/");
        var before = await ranges.ListRangeAsync(range, default).CollectAsync();
        await PutAsync("g/1/b.bin", "rewritten with other content");
        (await Store.DeleteAsync(["g/2/c.bin"], default)).Should().BeEmpty();

        // Act
        var after = await ranges.ListRangeAsync(range, default).CollectAsync();

        // Assert
        before.Select(o => o.Key).Should().Equal("g/1/a.bin", "g/1/b.bin", "g/2/c.bin");
        after.Select(o => o.Key).Should().Equal("g/1/a.bin", "g/1/b.bin");
        after[0].IsUnchangedSince(before[0]).Should().BeTrue();
        after[1].IsUnchangedSince(before[1]).Should().BeFalse("the object was rewritten with another size");
        var stat = await Store.StatAsync("g/1/b.bin", default);
        after[1].Size.Should().Be(stat!.Value.Size);
        after[1].IsUnchangedSince(stat.Value).Should().BeTrue("the range listing reports what a stat reports");
    }

    [Fact]
    public async Task ListRange_ThroughAFolder_TakesInObjectsWrittenThereAfterTheLastKnownKey()
    {
        var ranges = (IRangeListing)Store;
        await PutAllAsync(["f/a/1.bin", "f/a/2.bin", "f/b/1.bin"]);
        await PutAsync("f/a/3-new.bin", "a young upload");

        var listed = await ranges.ListRangeAsync(KeyRange.Under("f/a/"), default).CollectAsync();

        listed.Select(o => o.Key).Should().Equal("f/a/1.bin", "f/a/2.bin", "f/a/3-new.bin");
    }

    [Fact]
    public async Task ListRange_ManyKeysAroundTheRange_ReadsOnlyTheRange()
    {
        // More than a listing page of keys before, inside and after the range.
        var ranges = (IRangeListing)Store;
        var keys = Enumerable.Range(0, 2500).Select(i => $"p/{i:D5}.bin").ToList();
        await PutAllAsync(keys);

        var listed = await ranges.ListRangeAsync(new KeyRange("p/01000.bin", "p/02199.bin"), default).CollectAsync();

        listed.Select(o => o.Key).Should().Equal(keys[1000..2200]);
    }

    [Theory]
    [MemberData(nameof(InvalidKeys))]
    public async Task ListRange_InvalidBound_IsRefused(string bound)
    {
        var ranges = (IRangeListing)Store;

        var list = () => ranges.ListRangeAsync(new KeyRange(bound, "z"), default).CollectAsync();

        await list.Should().ThrowAsync<InvalidKeyException>();
    }

    protected async Task<List<string>> KeysAsync(string prefix) =>
        (await Store.ListAsync(prefix, default).CollectAsync()).Select(o => o.Key).ToList();

    protected Task PutAsync(string key, string text) => PutAsync(key, Encoding.UTF8.GetBytes(text));

    protected Task PutAsync(string key, byte[] bytes) => Content.WriteAsync(key, new MemoryStream(bytes), default);

    /// <summary>Writes each key with its own UTF-8 bytes as content, a few at a time.</summary>
    protected Task PutAllAsync(IEnumerable<string> keys) =>
        Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, _) => await PutAsync(key, key));

    protected async Task<string> ReadTextAsync(string key) => Encoding.UTF8.GetString(await Content.ReadAllAsync(key, default));
}
