using System.Text;
using Reclaim.Core.Storage;
using Reclaim.Stores.FileSystem;
using Reclaim.Testing;

namespace Reclaim.Stores.Tests;

/// <summary>The conformance suite on a filesystem store over a temporary folder, plus what only a filesystem has.</summary>
public sealed class FileSystemStoreConformanceTests : StoreConformanceTests, IDisposable
{
    private readonly TemporaryFolder _folder = new("fs-store");

    private string Root => _folder.Combine("root");

    protected override bool HoldsKeysWithEmptySegments => false;

    public void Dispose() => _folder.Dispose();

    protected override Task<IObjectStore> CreateStoreAsync()
    {
        Directory.CreateDirectory(Root);
        return Task.FromResult<IObjectStore>(new FileSystemStore("media", Root));
    }

    [Fact]
    public async Task SymlinkToAFileOutsideTheRoot_IsNeverListedNorDeletable()
    {
        var outside = _folder.Combine("outside.txt");
        await File.WriteAllTextAsync(outside, "not ours");
        await PutAsync("media/real.txt", "ours");
        File.CreateSymbolicLink(Path.Combine(Root, "media", "link.txt"), outside);

        (await KeysAsync("")).Should().Equal("media/real.txt");
        (await ((IKeyListing)Store).ListKeysAsync("", default).CollectAsync()).Should().Equal("media/real.txt");
        var delete = () => Store.DeleteAsync(["media/real.txt", "media/link.txt"], default);
        var stat = () => Store.StatAsync("media/link.txt", default);
        var move = () => Store.MoveAsync("media/link.txt", "media/moved.txt", default);
        var read = () => Content.ReadAllAsync("media/link.txt", default);

        await delete.Should().ThrowAsync<InvalidKeyException>();
        await stat.Should().ThrowAsync<InvalidKeyException>();
        await move.Should().ThrowAsync<InvalidKeyException>();
        await read.Should().ThrowAsync<InvalidKeyException>();
        File.ReadAllText(outside).Should().Be("not ours");
        (await KeysAsync("")).Should().Equal("media/real.txt");
    }

    [Fact]
    public async Task SymlinkToAFolderOutsideTheRoot_IsNeverListedNorEntered()
    {
        var outside = _folder.Combine("outside-folder");
        Directory.CreateDirectory(Path.Combine(outside, "deep"));
        await File.WriteAllTextAsync(Path.Combine(outside, "deep", "secret.txt"), "not ours");
        await PutAsync("media/real.txt", "ours");
        Directory.CreateSymbolicLink(Path.Combine(Root, "media", "linked"), outside);

        (await KeysAsync("")).Should().Equal("media/real.txt");
        (await KeysAsync("media/linked/")).Should().BeEmpty();
        (await KeysAsync("media/linked/deep/sec")).Should().BeEmpty();
        var delete = () => Store.DeleteAsync(["media/linked/deep/secret.txt"], default);
        var write = () => PutAsync("media/linked/new.txt", "x");
        var moveInto = () => Store.MoveAsync("media/real.txt", "media/linked/deep/real.txt", default);

        await delete.Should().ThrowAsync<InvalidKeyException>();
        await write.Should().ThrowAsync<InvalidKeyException>();
        await moveInto.Should().ThrowAsync<InvalidKeyException>();
        File.ReadAllText(Path.Combine(outside, "deep", "secret.txt")).Should().Be("not ours");
        File.Exists(Path.Combine(outside, "new.txt")).Should().BeFalse();
        (await KeysAsync("")).Should().Equal("media/real.txt");
    }

    [Fact]
    public async Task Delete_RemovesTheFoldersItLeftEmpty_ButNotTheRootNorFoldersStillInUse()
    {
        await PutAllAsync(["orgs/1/uploads/7/raw/a.mp4", "orgs/1/uploads/7/raw/b.mp4", "orgs/1/uploads/8/raw.mp4"]);

        (await Store.DeleteAsync(["orgs/1/uploads/7/raw/a.mp4", "orgs/1/uploads/7/raw/b.mp4"], default)).Should().BeEmpty();

        Directory.Exists(Path.Combine(Root, "orgs/1/uploads/7")).Should().BeFalse();
        File.Exists(Path.Combine(Root, "orgs/1/uploads/8/raw.mp4")).Should().BeTrue();
        (await Store.DeleteAsync(["orgs/1/uploads/8/raw.mp4"], default)).Should().BeEmpty();
        Directory.EnumerateFileSystemEntries(Root).Should().BeEmpty();
        Directory.Exists(Root).Should().BeTrue();
    }

    [Fact]
    public async Task Move_CreatesTheDestinationFolders_AndRemovesTheSourceFoldersLeftEmpty()
    {
        await PutAsync("orgs/1/uploads/7/raw.mp4", "video");
        var mtime = File.GetLastWriteTimeUtc(Path.Combine(Root, "orgs/1/uploads/7/raw.mp4"));

        await Store.MoveAsync("orgs/1/uploads/7/raw.mp4", ".reclaim-trash/r1/orgs/1/uploads/7/raw.mp4", default);

        Directory.Exists(Path.Combine(Root, "orgs")).Should().BeFalse();
        File.GetLastWriteTimeUtc(Path.Combine(Root, ".reclaim-trash/r1/orgs/1/uploads/7/raw.mp4")).Should().Be(mtime, "a rename keeps the modification time");
    }

    [Fact]
    public async Task EmptyFolders_ProduceNoKeys()
    {
        Directory.CreateDirectory(Path.Combine(Root, "empty/deeper/still"));
        await PutAsync("full/a.txt", "x");

        (await KeysAsync("")).Should().Equal("full/a.txt");
        (await ((IKeyListing)Store).ListKeysAsync("", default).CollectAsync()).Should().Equal("full/a.txt");
    }

    [Fact]
    public async Task Delete_KeyThatNamesAFolder_IsReportedAndRemovesNothing()
    {
        await PutAsync("folder/inside.txt", "x");

        var errors = await Store.DeleteAsync(["folder"], default);

        errors.Should().ContainSingle().Which.Key.Should().Be("folder");
        (await KeysAsync("")).Should().Equal("folder/inside.txt");
    }

    [Fact]
    public async Task ListKeys_WithPrefix_MatchesListAsync()
    {
        await PutAllAsync(["orgs/1/upl.txt", "orgs/1/uploads/a.mp4", "orgs/1/up", "orgs/10/x", "orgs.txt"]);
        var keyListing = (IKeyListing)Store;

        foreach (var prefix in new[] { "", "orgs", "orgs/", "orgs/1/upl", "orgs/1/uploads/", "missing/" })
        {
            (await keyListing.ListKeysAsync(prefix, default).CollectAsync()).Should().Equal(await KeysAsync(prefix), $"prefix '{prefix}'");
        }
    }

    [Fact]
    public async Task ListKeys_NamesThatDifferOnlyLate_ComeInUtf8ByteOrder()
    {
        // Names sharing long prefixes, differing past the first few chars, in the ranges where UTF-16 order and
        // UTF-8 order disagree, and a folder whose name + '/' falls between files.
        string[] keys =
        [
            "m/clip-0001-b.mp4", "m/clip-0001-a.mp4", "m/clip-0001-a/x.ts", "m/clip-0001-a.mp4.txt", "m/clip-0001-a-", "m/clip-0001-\uE000",
            "m/clip-0001-\U0001F3AC", "m/clip-0002", "m/clip-0001", "m/clip-00011", "m/clip", "m/Clip", "m/clip-0001-a0",
        ];
        await PutAllAsync(keys);
        var byBytes = keys.OrderBy(k => Encoding.UTF8.GetBytes(k), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToArray();

        (await ((IKeyListing)Store).ListKeysAsync("", default).CollectAsync()).Should().Equal(byBytes);
        (await KeysAsync("m/clip-0001")).Should().Equal(byBytes.Where(k => k.StartsWith("m/clip-0001", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(70_000)]
    public async Task ListKeys_LargeFolder_ComesInOrder_OnEitherSideOf65536Entries(int files)
    {
        // Past 65536 entries a folder's sort keys no longer carry the entry's index; both ways must give one order.
        // Names share a prefix and often their first chars after it, so many ties are settled by a full compare.
        var random = new Random(files);
        var folder = Path.Combine(Root, "big");
        Directory.CreateDirectory(folder);
        var names = Enumerable.Range(0, files).Select(i => $"asset-{random.Next(0, 64):x2}{i:x5}-{random.Next():x8}").ToArray();
        foreach (var name in names)
        {
            File.Create(Path.Combine(folder, name)).Dispose();
        }

        var listed = await ((IKeyListing)Store).ListKeysAsync("big/", default).CollectAsync();

        listed.Should().Equal(names.Select(n => "big/" + n).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Constructor_MissingRoot_ThrowsAnErrorNamingTheFolder()
    {
        var missing = _folder.Combine("no-such-root");

        var create = () => new FileSystemStore("media", missing);

        create.Should().Throw<DirectoryNotFoundException>().WithMessage($"*'media'*{missing}*");
    }

    [Fact]
    public async Task List_RootRemovedAfterStart_ThrowsRatherThanListingNothing()
    {
        await PutAsync("a.txt", "x");
        Directory.Delete(Root, recursive: true);

        var list = () => Store.ListAsync("", default).CollectAsync();

        await list.Should().ThrowAsync<DirectoryNotFoundException>();
    }

    [Fact]
    public async Task FileNameWithABackslash_IsNotListed()
    {
        await File.WriteAllTextAsync(Path.Combine(Root, "back\\slash.txt"), "x");
        await PutAsync("plain.txt", "x");

        (await KeysAsync("")).Should().Equal("plain.txt");
    }
}
