using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Examples;

/// <summary>
/// <c>examples/tours</c> (tours app) end to end: its real config, a records phase then an orphans phase in one
/// sweep, on a folder store and SQLite, PostgreSQL or MariaDB.
/// </summary>
public abstract class ToursExampleTests : IAsyncLifetime
{
    private static readonly string[] Live =
        ["uploads/tours/t1-cover.jpg", "uploads/companies/c1-logo.png", "uploads/guides/g1-portrait.jpg", "uploads/drivers/d1-licence.jpg", "uploads/users/u1-avatar.png"];

    private static readonly string[] OfGoneEntities = ["uploads/tours/t9-cover.jpg", "uploads/companies/c9-logo.png", "uploads/drivers/d9-licence.jpg"];

    private static readonly string[] WithoutMedia = ["uploads/tours/stray-old.jpg", "uploads/guides/left-behind.jpg"];

    private static readonly string[] Untouchable = ["uploads/banners/b1-summer.jpg", "uploads/readme.txt", "uploads/tours/nested/x.jpg", "other/notes.txt"];

    private const string Young = "uploads/tours/just-uploaded.jpg";

    private readonly ExampleSite _site;

    protected ToursExampleTests(ExampleSite site)
    {
        _site = site;
    }

    public async Task InitializeAsync()
    {
        await _site.InitializeAsync();
        await _site.ExecuteSqlAsync("""
            CREATE TABLE tours (id VARCHAR(64) PRIMARY KEY, title TEXT);
            CREATE TABLE companies (id VARCHAR(64) PRIMARY KEY, name TEXT);
            CREATE TABLE guides (id VARCHAR(64) PRIMARY KEY, name TEXT);
            CREATE TABLE drivers (id VARCHAR(64) PRIMARY KEY, name TEXT);
            CREATE TABLE users (id VARCHAR(64) PRIMARY KEY, email TEXT);
            CREATE TABLE media (id VARCHAR(64) PRIMARY KEY, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, filename TEXT NOT NULL);
            INSERT INTO tours VALUES ('t1', 'Kazbegi day trip');
            INSERT INTO companies VALUES ('c1', 'Caucasus Tours');
            INSERT INTO guides VALUES ('g1', 'Nino');
            INSERT INTO drivers VALUES ('d1', 'Giorgi');
            INSERT INTO users VALUES ('u1', 'traveller@example.com');
            INSERT INTO media VALUES
              ('m1', 'tour', 't1', 't1-cover.jpg'),
              ('m2', 'company', 'c1', 'c1-logo.png'),
              ('m3', 'guide', 'g1', 'g1-portrait.jpg'),
              ('m4', 'driver', 'd1', 'd1-licence.jpg'),
              ('m5', 'user', 'u1', 'u1-avatar.png'),
              ('m6', 'tour', 't9', 't9-cover.jpg'),
              ('m7', 'company', 'c9', 'c9-logo.png'),
              ('m8', 'user', 'u9', 'u9-avatar.png'),
              ('m9', 'driver', 'd9', 'd9-licence.jpg'),
              ('m10', 'banner', 'b1', 'b1-summer.jpg');
            """);
    }

    public Task DisposeAsync() => _site.DisposeAsync();

    private Task<ManualClock> SeedAsync() =>
        _site.SeedObjectsAsync([.. Live, .. OfGoneEntities, .. WithoutMedia, .. Untouchable], [Young], TimeSpan.FromHours(1));

    [Fact]
    public async Task Sweep_RemovesRowsOfGoneEntitiesWithTheirFiles_ThenFilesWithoutRows()
    {
        var clock = await SeedAsync();

        var sweep = await _site.CliAsync(clock, "sweep", "--yes");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _site.LiveKeysAsync()).Should().Equal(Live.Concat(Untouchable).Append(Young).Order(StringComparer.Ordinal));
        (await _site.TrashedKeysAsync()).Should().Equal(OfGoneEntities.Concat(WithoutMedia).Order(StringComparer.Ordinal));
        (await _site.ColumnAsync("SELECT id FROM media")).Should().Equal("m1", "m10", "m2", "m3", "m4", "m5");
        var parts = sweep.Json.GetProperty("parts");
        parts.GetProperty("media-without-entity").GetProperty("objects_done").GetInt64().Should().Be(OfGoneEntities.Length);
        parts.GetProperty("files-without-media").GetProperty("objects_done").GetInt64().Should().Be(WithoutMedia.Length);
    }

    [Fact]
    public async Task Sweep_RecordsOneAfterPerRow_InConfigOrder()
    {
        var clock = await SeedAsync();

        var sweep = await _site.CliAsync(clock, "sweep", "--yes");

        var actions = await _site.ActionsAsync(clock, sweep);
        actions.Where(a => a.Kind == "after").Select(a => (a.Key, a.Outcome))
            .Should().BeEquivalentTo(new[] { ("row id=m6", "done"), ("row id=m7", "done"), ("row id=m8", "done"), ("row id=m9", "done") });
        var lastRecords = actions.FindLastIndex(a => OfGoneEntities.Contains(a.Key) || a.Kind == "after");
        var firstOrphan = actions.FindIndex(a => WithoutMedia.Contains(a.Key));
        lastRecords.Should().BeLessThan(firstOrphan, "the records phase comes first in the config");
    }

    [Fact]
    public async Task Restore_PutsBackTheFiles_ButTheDeletedRowsStayDeleted()
    {
        var clock = await SeedAsync();
        var sweep = await _site.CliAsync(clock, "sweep", "--yes");

        var restore = await _site.CliAsync(clock, "restore", sweep.Json.GetProperty("run").GetProperty("id").GetString()!);

        restore.ExitCode.Should().Be(0, restore.ToString());
        (await _site.TrashedKeysAsync()).Should().BeEmpty();
        (await _site.LiveKeysAsync()).Should().Contain(OfGoneEntities).And.Contain(WithoutMedia);
        (await _site.ColumnAsync("SELECT id FROM media")).Should().HaveCount(6);
    }

}

/// <summary>The example on a folder store and SQLite (its default).</summary>
public sealed class ToursExampleOnSqliteTests() : ToursExampleTests(new Site())
{
    private sealed class Site() : FolderSqliteSite("tours", "tours.db");
}

/// <summary>The example on a folder store and PostgreSQL.</summary>
public sealed class ToursExampleOnPostgresTests() : ToursExampleTests(new Site())
{
    private sealed class Site() : FolderPostgresSite("tours");
}

/// <summary>The example on a folder store and MariaDB (<c>CATALOG_PROVIDER=mysql</c>, a <c>mysql://</c> URL).</summary>
public sealed class ToursExampleOnMariaDbTests() : ToursExampleTests(new Site())
{
    private sealed class Site() : FolderMariaDbSite("tours");
}
