using Microsoft.Extensions.Time.Testing;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Layouts;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Tests.Configuration;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// <see cref="StoreProtections"/> and <see cref="DeletingRows"/> over scripted catalogs: which rows being removed by
/// a records policy account for a protecting row (a key in the group, a folder holding it, a folder inside it), a
/// catalog that is not needed is not asked, and a keep query's <c>@cutoff</c> that cannot be bound is an error.
/// </summary>
public sealed class StoreProtectionRulesTests : IDisposable
{
    private static readonly Layout Folders = Layout.Parse("orgs/{org}/uploads/{asset}/");

    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static DeletingRows Rows(params (string[] Keys, string[] Prefixes)[] rows) =>
        new([.. rows.Select(r => ((IReadOnlyList<string>)r.Keys, (IReadOnlyList<string>)r.Prefixes))], (_, _) => Task.FromResult(true));

    [Fact]
    public async Task ARowNamingAKeyOfTheGroup_OrAFolderHoldingIt_NamesTheGroup()
    {
        var rows = Rows(
            (["audio/a.mp3"], []),
            ([], ["audio/"]),
            ([], ["audio/sub/"]),
            (["video/a.mp3"], []),
            ([], ["aud/"]));

        (await rows.CountNamingAsync(Layout.Parse("audio/{file}"), "audio/a.mp3", CancellationToken.None)).Should().Be(2, "its own key, and the audio/ folder");
        (await rows.CountNamingAsync(Layout.Parse("audio/sub/{file}"), "audio/sub/b.mp3", CancellationToken.None)).Should().Be(2, "audio/ and audio/sub/ both hold it");
        (await rows.CountNamingAsync(Layout.Parse("video/{file}"), "video/a.mp3", CancellationToken.None)).Should().Be(1);
        (await rows.CountNamingAsync(Layout.Parse("clips/{file}"), "clips/a.mp3", CancellationToken.None)).Should().Be(0);
    }

    [Fact]
    public async Task OfAFolderLayout_ARowNamingAFolderInsideTheGroup_NamesTheGroup_ANeighbourWithALongerNameDoesNot()
    {
        var rows = Rows(
            ([], ["orgs/o1/uploads/a2/thumbs/"]),
            ([], ["orgs/o1/uploads/a1/raw/"]),
            ([], ["orgs/o1/uploads/a10/"]),
            ([], ["orgs/"]),
            ([], ["orgs/o1/uploads/a1/"]),
            (["orgs/o1/uploads/a1/x.mp4"], []),
            ([], ["orgs/o1/uploads/a1/streaming/hd/"]));

        (await rows.CountNamingAsync(Folders, "orgs/o1/uploads/a1/", CancellationToken.None)).Should().Be(5, "raw/, streaming/hd/, the folder itself, orgs/ and x.mp4");
        (await rows.CountNamingAsync(Folders, "orgs/o1/uploads/a2/", CancellationToken.None)).Should().Be(2, "thumbs/ and orgs/");
        (await rows.CountNamingAsync(Folders, "orgs/o1/uploads/a3/", CancellationToken.None)).Should().Be(1, "orgs/ alone");
    }

    [Fact]
    public async Task OfAFolderLayout_TheGroupItselfAndTheLastFolderInsideIt_AreEachCountedOnce()
    {
        // The group is the first of the sorted folders, and a folder inside it the last.
        var rows = Rows(([], ["orgs/o1/uploads/a1/"]), ([], ["orgs/o1/uploads/a1/raw/"]));

        (await rows.CountNamingAsync(Folders, "orgs/o1/uploads/a1/", CancellationToken.None)).Should().Be(2);
        (await rows.CountNamingAsync(Folders, "orgs/o1/uploads/a0/", CancellationToken.None)).Should().Be(0);
    }

    [Fact]
    public async Task ARowNoLongerSelected_DoesNotCount()
    {
        var rows = new DeletingRows([(["audio/a.mp3"], []), (["audio/a.mp3"], [])], (row, _) => Task.FromResult(row == 1));

        (await rows.CountNamingAsync(Layout.Parse("audio/{file}"), "audio/a.mp3", CancellationToken.None)).Should().Be(1);
    }

    [Fact]
    public async Task Deleting_AFolderGroupWhoseOnlyReferenceIsTheRowBeingRemoved_IsNotProtected_ASecondReferenceProtectsIt()
    {
        var catalog = new ScriptedCatalog();
        catalog.Add(("org", "o1"), ("asset", "a1"));
        catalog.Add(("org", "o1"), ("asset", "a2"));
        catalog.Add(("org", "o1"), ("asset", "a2"));
        var protections = StoreProtections.Of(Config(), "media", _ => catalog, new FakeTimeProvider())
            .Deleting(Rows(([], ["orgs/o1/uploads/a1/raw/"]), ([], ["orgs/o1/uploads/a2/raw/"])));

        var found = await protections.FindAsync(["orgs/o1/uploads/a1/raw/x.mp4", "orgs/o1/uploads/a2/raw/x.mp4"], CancellationToken.None);

        found.Keys.Should().Equal("orgs/o1/uploads/a2/raw/x.mp4");
        found["orgs/o1/uploads/a2/raw/x.mp4"].Should().Be(new ProtectedBy("orphan-uploads", "references", "app", "orgs/o1/uploads/a2/"));
    }

    [Fact]
    public async Task ACatalogNoKeyOfTheCheckNeeds_IsNotOpened()
    {
        var app = new ScriptedCatalog();
        app.Add(("org", "o1"), ("asset", "a1"));
        var protections = StoreProtections.Of(Config(), "media",
            name => name == "app" ? app : throw new CatalogException($"catalog '{name}': cannot connect"), new FakeTimeProvider());

        var uploads = await protections.FindAsync(["orgs/o1/uploads/a1/x.mp4", "orgs/o1/uploads/a2/x.mp4"], CancellationToken.None);
        var clips = () => protections.FindAsync(["clips/c1.mp4"], CancellationToken.None);

        uploads.Keys.Should().Equal("orgs/o1/uploads/a1/x.mp4");
        (await clips.Should().ThrowAsync<CatalogException>()).WithMessage("catalog 'archive': cannot connect", "a key the clips policy matches needs its catalog");
    }

    [Fact]
    public async Task AKeepQueryNamingCutoff_OnACatalogThatCannotBindIt_IsAnError_NeverNothingProtected()
    {
        var archive = new ScriptedCatalog("archive");
        archive.Add(("clip", "c1.mp4"));
        var protections = StoreProtections.Of(Config(keep: "SELECT name AS clip FROM clips WHERE created_at > @cutoff"), "media", _ => archive, new FakeTimeProvider());

        var act = () => protections.FindAsync(["clips/c1.mp4"], CancellationToken.None);

        (await act.Should().ThrowAsync<CatalogException>()).WithMessage("policy 'expire-clips': catalog 'archive' cannot bind @cutoff");
    }

    private ReclaimConfig Config(string keep = "SELECT name AS clip FROM clips") => _folder.Load(new TestConfig()
        .FolderStore()
        .SqliteCatalog()
        .SqliteCatalog("archive", "./archive.db")
        .OrphanUploads()
        .ExpireClips("archive", keep)
        .Yaml);
}
