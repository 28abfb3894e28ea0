using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Reclaim.Core.Catalogs;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Runtime;
using Reclaim.Engine.Tests.Configuration;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// <see cref="StoreProtections"/> on its own, over a real SQLite catalog: which objects of a store the references and
/// keep queries of the policies on it protect, and by which policy.
/// </summary>
public sealed class StoreProtectionsTests : IAsyncLifetime
{
    private readonly ConfigFolder _folder = new();
    private Workspace? _workspace;

    public async Task InitializeAsync()
    {
        await ExecuteAsync("""
            CREATE TABLE media_assets (id TEXT, org_id TEXT);
            CREATE TABLE clips (name TEXT, status TEXT);
            CREATE TABLE jobs (org TEXT, asset TEXT);
            CREATE TABLE sessions (id INTEGER, file TEXT, status TEXT);
            INSERT INTO media_assets VALUES ('a1', 'o1'), ('a2', 'o1');
            INSERT INTO clips VALUES ('c1.mp4', 'completed'), ('c2.mp4', 'failed');
            INSERT INTO jobs VALUES ('o2', 'a9');
            """);
        Directory.CreateDirectory(Path.Join(_folder.Path, "media"));
        Directory.CreateDirectory(Path.Join(_folder.Path, "other"));
        var config = _folder.Load(Config().Yaml);
        _workspace = new Workspace(config, NullLoggerFactory.Instance);
    }

    /// <summary>
    /// Two folder stores and a SQLite catalog; on <c>media</c> an orphans, a retention, a queue and a records policy,
    /// on <c>other</c> an orphans policy.
    /// </summary>
    private static TestConfig Config(string jobsQuery = "SELECT org, asset FROM jobs", string clipsKeep = "SELECT name AS clip FROM clips WHERE status = 'completed'") =>
        new TestConfig()
            .FolderStore()
            .FolderStore("other", "./other")
            .SqliteCatalog()
            .Orphans("orphan-assets", "media", TestConfig.UploadsLayout, "app", TestConfig.AssetsQuery)
            .ExpireClips("app", clipsKeep)
            .Policy("cleanup", "queue",
                "catalog: app", "table: jobs", "store: media", "target: folder", $"layout: \"{TestConfig.UploadsLayout}\"", $"references: {{catalog: app, query: \"{jobsQuery}\"}}")
            .Policy("failed-sessions", "records",
                "catalog: app", "store: media", "query: \"SELECT id, file FROM sessions WHERE status = 'failed'\"", "objects: \"audio/{file}\"")
            .Orphans("elsewhere", "other", "{name}", "app", "SELECT name FROM clips");

    public async Task DisposeAsync()
    {
        await _workspace!.DisposeAsync();
        _folder.Dispose();
    }

    private StoreProtections Media => StoreProtections.Of(_workspace!.Config, "media", _workspace.Catalog, TimeProvider.System);

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Join(_folder.Path, "app.db")};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public void Of_TakesTheReferencesAndKeepQueriesOfThePoliciesOnTheStore_Only()
    {
        Media.Entries.Select(e => (e.Policy, e.Kind)).Should().Equal(("orphan-assets", "references"), ("expire-clips", "keep"), ("cleanup", "references"));
        StoreProtections.Of(_workspace!.Config, "other", _workspace.Catalog, TimeProvider.System).Entries.Select(e => e.Policy).Should().Equal("elsewhere");
        Media.Only("cleanup").Entries.Should().ContainSingle().Which.Policy.Should().Be("cleanup");
        Media.Only("failed-sessions").IsEmpty.Should().BeTrue("a records policy protects nothing");
    }

    [Fact]
    public async Task FindAsync_ObjectsOfReferencedGroups_AreProtectedByTheFirstPolicyThatReferencesThem()
    {
        var found = await Media.FindAsync(
        [
            "orgs/o1/uploads/a1/raw/match.mp4", "orgs/o1/uploads/a1/thumbnail.jpg", "orgs/o1/uploads/a3/raw/match.mp4",
            "orgs/o2/uploads/a9/x.ts", "clips/c1.mp4", "clips/c2.mp4", "audio/s1.mp3", "orgs/o1/uploads/a10/raw/match.mp4",
        ], CancellationToken.None);

        found.Keys.Should().BeEquivalentTo(["orgs/o1/uploads/a1/raw/match.mp4", "orgs/o1/uploads/a1/thumbnail.jpg", "orgs/o2/uploads/a9/x.ts", "clips/c1.mp4"]);
        found["orgs/o1/uploads/a1/thumbnail.jpg"].Should().Be(new ProtectedBy("orphan-assets", "references", "app", "orgs/o1/uploads/a1/"));
        found["orgs/o2/uploads/a9/x.ts"].Policy.Should().Be("cleanup");
        found["clips/c1.mp4"].Should().Be(new ProtectedBy("expire-clips", "keep", "app", "clips/c1.mp4"));
        found["clips/c1.mp4"].Reason.Should().Be("protected by policy 'expire-clips' (keep): a row of catalog 'app' renders to 'clips/c1.mp4'");
    }

    [Fact]
    public async Task FindAsync_ManyGroupsOfATwoVariableLayout_AreLookedUpInChunks()
    {
        await ExecuteAsync(string.Join(";\n", Enumerable.Range(0, 1500).Where(i => i % 3 == 0).Select(i => $"INSERT INTO media_assets VALUES ('b{i}', 'o{i % 7}')")));
        var keys = Enumerable.Range(0, 1500).Select(i => $"orgs/o{i % 7}/uploads/b{i}/raw/match.mp4").ToList();

        var counting = new CountingCatalog(_workspace!.Catalog("app"));

        var found = await StoreProtections.Of(_workspace.Config, "media", _ => counting, TimeProvider.System).FindAsync(keys, CancellationToken.None);

        found.Keys.Should().BeEquivalentTo(keys.Where((_, i) => i % 3 == 0));
        counting.Finds.Should().Be(8 + 5, "orphan-assets looks up 1500 groups 200 a query; cleanup's other query only the 1000 keys still unprotected");
    }

    [Fact]
    public async Task FindAsync_TwoPoliciesWithTheSameQueryAndLayout_RunItOnce_AndNameTheFirst()
    {
        // cleanup (queue) and a second orphans policy share orphan-assets' layout; make their queries the same.
        var config = _folder.Load(Config(jobsQuery: TestConfig.AssetsQuery).Yaml);
        await using var workspace = new Workspace(config, NullLoggerFactory.Instance);
        var counting = new CountingCatalog(workspace.Catalog("app"));
        var protections = StoreProtections.Of(config, "media", _ => counting, TimeProvider.System);

        var found = await protections.FindAsync(["orgs/o1/uploads/a1/x.mp4", "orgs/o1/uploads/a2/x.mp4", "orgs/o1/uploads/a7/x.mp4"], CancellationToken.None);

        found.Values.Select(v => v.Policy).Should().Equal("orphan-assets", "orphan-assets");
        counting.Finds.Should().Be(1, "the queue's identical references query is not run again");
    }

    [Fact]
    public async Task FindAsync_AKeepQueryNamingCutoff_KeepsWhatIsYoungerThanMaxAgeAtTheTimeOfTheCheck()
    {
        await ExecuteAsync("""
            CREATE TABLE recent (name TEXT, created_at TEXT);
            INSERT INTO recent VALUES ('new.mp4', '2026-05-30 12:00:00'), ('old.mp4', '2026-05-20 12:00:00');
            """);
        var config = _folder.Load(Config(clipsKeep: "SELECT name AS clip FROM recent WHERE created_at > @cutoff").Yaml);
        await using var workspace = new Workspace(config, NullLoggerFactory.Instance);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var protections = StoreProtections.Of(config, "media", workspace.Catalog, clock);

        var now = await protections.FindAsync(["clips/new.mp4", "clips/old.mp4"], CancellationToken.None);
        clock.Advance(TimeSpan.FromDays(4));
        var later = await protections.FindAsync(["clips/new.mp4", "clips/old.mp4"], CancellationToken.None);

        now.Keys.Should().Equal("clips/new.mp4");
        later.Should().BeEmpty("four days on, new.mp4 is older than max_age (5d) too");
    }

    [Fact]
    public async Task FindAsync_KeysNoLayoutMatches_AreNotProtected()
    {
        var found = await Media.FindAsync(["orgs/o1/uploads/a1", "orgs/o1/a1/x", "Orgs/o1/uploads/a1/x", "clips/c1.mp4/x"], CancellationToken.None);

        found.Should().BeEmpty();
    }

    [Fact]
    public async Task FindAsync_AProtectingQueryThatFails_Throws_NeverReportsNothingProtected()
    {
        await ExecuteAsync("DROP TABLE clips");

        var act = () => Media.FindAsync(["clips/c1.mp4"], CancellationToken.None);

        await act.Should().ThrowAsync<CatalogException>();
    }

    [Fact]
    public async Task FindAsync_Deleting_AFileSharedWithALiveRowIsProtected_OneOnlyTheDeletedRowsNameIsNot()
    {
        // Two sessions name shared.mp3; the records policy removes one of them. Every session is a reference.
        await ExecuteAsync("""
            INSERT INTO sessions VALUES (1, 'shared.mp3', 'failed'), (2, 'shared.mp3', 'live'), (3, 'own.mp3', 'failed'), (4, 'gone.mp3', 'failed'), (5, 'gone.mp3', 'failed');
            """);
        var config = _folder.Load(Config().Orphans("orphan-audio", "media", "audio/{file}", "app", "SELECT file FROM sessions").Yaml);
        await using var workspace = new Workspace(config, NullLoggerFactory.Instance);
        var asked = new List<int>();
        var rows = new DeletingRows(
            [(["audio/shared.mp3"], []), (["audio/own.mp3"], []), (["audio/gone.mp3"], []), ([], ["audio/"])],
            (row, _) =>
            {
                asked.Add(row);
                return Task.FromResult(row != 3);
            });
        var protections = StoreProtections.Of(config, "media", workspace.Catalog, TimeProvider.System).Deleting(rows);

        var found = await protections.FindAsync(["audio/shared.mp3", "audio/own.mp3", "audio/gone.mp3"], CancellationToken.None);

        found.Keys.Should().BeEquivalentTo(["audio/shared.mp3", "audio/gone.mp3"],
            "session 2 still names shared.mp3; own.mp3 is named by the removed row alone; gone.mp3 has two rows and the folder row that would account for one is no longer selected");
        found["audio/shared.mp3"].Policy.Should().Be("orphan-audio");
        asked.Should().OnlyHaveUniqueItems("each row's selection is asked once");
    }

    /// <summary>A catalog that counts its re-check queries and passes them on.</summary>
    private sealed class CountingCatalog(ICatalog inner) : ICatalog
    {
        public int Finds { get; private set; }

        public string Name => inner.Name;

        public Task PingAsync(CancellationToken cancellationToken) => inner.PingAsync(cancellationToken);

        public IAsyncEnumerable<string?[]> ReadAsync(string query, IReadOnlyList<string> columns, CancellationToken cancellationToken) => inner.ReadAsync(query, columns, cancellationToken);

        public Task<IReadOnlyList<string?[]>> FindAsync(string query, IReadOnlyList<string> columns, IReadOnlyList<string[]> tuples, CancellationToken cancellationToken)
        {
            Finds++;
            return inner.FindAsync(query, columns, tuples, cancellationToken);
        }

        public Task<long> CountAsync(string query, CancellationToken cancellationToken) => inner.CountAsync(query, cancellationToken);

        public Task<int> ExecuteAsync(string statement, IReadOnlyDictionary<string, object?> parameters, CancellationToken cancellationToken) => inner.ExecuteAsync(statement, parameters, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
