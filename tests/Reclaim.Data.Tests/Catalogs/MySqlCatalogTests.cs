using System.Globalization;
using Reclaim.Core.Catalogs;
using Reclaim.Data.Catalogs;
using Reclaim.Testing;

namespace Reclaim.Data.Tests.Catalogs;

/// <summary>The MySQL catalog on a real MariaDB (the test script's), in a database whose collation folds case and accents.</summary>
public sealed class MySqlCatalogTests : IAsyncLifetime
{
    private MariaDbDatabase? _database;
    private MySqlCatalog? _catalog;

    private MariaDbDatabase Database => _database!;

    private MySqlCatalog Catalog => _catalog!;

    public async Task InitializeAsync()
    {
        _database = await MariaDbDatabase.CreateAsync();
        _catalog = new MySqlCatalog("app", Database.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (_catalog is not null)
        {
            await _catalog.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [Fact]
    public async Task Read_GivesEachValuesTextForm_AndNullAsNull()
    {
        await Database.ExecuteAsync("""
            CREATE TABLE assets (id INT PRIMARY KEY, big BIGINT UNSIGNED, price DECIMAL(8,2), at DATETIME, name VARCHAR(100), raw VARBINARY(20), flag TINYINT(1));
            INSERT INTO assets VALUES
              (42, 18446744073709551615, 1.50, '2024-05-01 10:00:00', 'café 🎬', X'612F62', 1),
              (7, NULL, NULL, NULL, NULL, NULL, NULL);
            """);

        var rows = new List<string?[]>();
        await foreach (var row in Catalog.ReadAsync("SELECT id, big, price, at, name, raw, flag FROM assets;", ["id", "big", "price", "at", "name", "raw", "flag"], CancellationToken.None))
        {
            rows.Add([.. row]);
        }

        rows.Should().HaveCount(2);
        rows.Single(r => r[0] == "42").Should().Equal("42", "18446744073709551615", "1.50", "2024-05-01 10:00:00", "caf\u00e9 \U0001F3AC", "a/b", "1");
        rows.Single(r => r[0] == "7").Should().Equal("7", null, null, null, null, null, null);
    }

    [Fact]
    public async Task Find_ThousandTuples_MatchesBytes_NotTheCollation()
    {
        // 2,000 rows; the database's collation (utf8mb4_general_ci) says 'A0001' = 'a0001', 'a0002 ' = 'a0002' and
        // 'cafe' = 'café': the re-check must not, or a group whose key differs from a row would count as referenced
        // by it. A _bin collation would still say 'a0002 ' = 'a0002' (PAD SPACE).
        await Database.ExecuteAsync("CREATE TABLE assets (id VARCHAR(64) NOT NULL PRIMARY KEY, org INT NOT NULL)");
        var ids = Enumerable.Range(0, 2000).Select(i => $"a{i:0000}").Append("caf\u00e9").Append("sp ace+%#?'q\"\\").ToList();
        foreach (var chunk in ids.Chunk(500))
        {
            await Database.ExecuteAsync("INSERT INTO assets (id, org) VALUES " +
                string.Join(", ", chunk.Select((id, i) => $"('{id.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal)}', {i % 7})")));
        }

        // Each absent tuple equals, by the collation, a row that no present tuple names: a comparison by the
        // collation would return that row too.
        var present = ids.Where((_, i) => i % 4 == 0).Take(500).Append("sp ace+%#?'q\"\\").ToList();
        var absent = new List<string> { "cafe", "cafe\u0301", "CAF\u00c9", "caf\u00e9 ", "a0005\u0000" };
        absent.AddRange(ids.Where((_, i) => i % 4 == 1).Take(250).Select(id => id.ToUpperInvariant()));
        absent.AddRange(ids.Where((_, i) => i % 4 == 2).Take(1000 - present.Count - absent.Count).Select(id => id + " "));
        var tuples = present.Concat(absent).Select(id => new[] { id }).ToList();
        tuples.Should().HaveCount(SqlCatalog.MaxFindTuples);

        var found = await Catalog.FindAsync("SELECT id FROM assets", ["id"], tuples, CancellationToken.None);

        found.Select(r => r[0]).Should().BeEquivalentTo(present);
    }

    [Fact]
    public async Task Find_ThousandTwoColumnTuples_MatchesEachPairExactly_IntegersByTheirText()
    {
        await Database.ExecuteAsync("CREATE TABLE media_assets (org_id INT NOT NULL, id VARCHAR(64) NOT NULL, PRIMARY KEY (org_id, id))");
        var rows = Enumerable.Range(0, 1500).Select(i => (Org: i % 30, Id: $"asset-{i}")).ToList();
        await Database.ExecuteAsync("INSERT INTO media_assets (org_id, id) VALUES " + string.Join(", ", rows.Select(r => $"({r.Org}, '{r.Id}')")));

        var present = rows.Where((_, i) => i % 3 == 0).Take(400).Select(r => new[] { r.Org.ToString(CultureInfo.InvariantCulture), r.Id }).ToList();
        var absent = rows.Where((_, i) => i % 3 == 1).Take(200).Select(r => new[] { ((r.Org + 1) % 30).ToString(CultureInfo.InvariantCulture), r.Id }) // the id under another org
            .Concat(rows.Where((_, i) => i % 3 == 2).Take(200).Select(r => new[] { "0" + r.Org.ToString(CultureInfo.InvariantCulture), r.Id })) // "07" is not the text of 7
            .Concat(rows.Take(200).Select(r => new[] { r.Org.ToString(CultureInfo.InvariantCulture), r.Id.ToUpperInvariant() }))
            .ToList();
        var tuples = present.Concat(absent).ToList();
        tuples.Should().HaveCount(SqlCatalog.MaxFindTuples);

        var found = await Catalog.FindAsync("SELECT org_id AS org, id AS asset FROM media_assets", ["org", "asset"], tuples, CancellationToken.None);

        found.Select(r => $"{r[0]}/{r[1]}").Should().BeEquivalentTo(present.Select(t => $"{t[0]}/{t[1]}"));
    }

    [Fact]
    public async Task Find_MoreTuplesThanOneCallTakes_Throws()
    {
        var tuples = Enumerable.Range(0, SqlCatalog.MaxFindTuples + 1).Select(i => new[] { $"{i}" }).ToList();

        var find = () => Catalog.FindAsync("SELECT 1 AS id", ["id"], tuples, CancellationToken.None);

        await find.Should().ThrowAsync<ArgumentException>();
    }

    [Fact]
    public async Task Find_AndRead_AColumnNamedLikeAReservedWord()
    {
        await Database.ExecuteAsync("CREATE TABLE files (path VARCHAR(200) NOT NULL); INSERT INTO files VALUES ('a/b.mp4'), ('c.mp4')");

        var found = await Catalog.FindAsync("SELECT path AS `key` FROM files", ["key"], [["a/b.mp4"], ["x.mp4"]], CancellationToken.None);
        var count = await Catalog.CountAsync("SELECT path AS `key` FROM files", CancellationToken.None);

        found.Should().ContainSingle().Which.Should().Equal("a/b.mp4");
        count.Should().Be(2);
    }

    [Fact]
    public async Task Execute_BindsTheRenderedTextToAnIntegerColumn()
    {
        await Database.ExecuteAsync("CREATE TABLE sessions (id INT PRIMARY KEY, status VARCHAR(20)); INSERT INTO sessions VALUES (1, 'failed'), (2, 'failed'), (12, 'failed')");

        var changed = await Catalog.ExecuteAsync("DELETE FROM sessions WHERE id = @id", new Dictionary<string, object?> { ["id"] = "2" }, CancellationToken.None);

        changed.Should().Be(1);
        var left = new List<string?>();
        await foreach (var row in Catalog.ReadAsync("SELECT id FROM sessions", ["id"], CancellationToken.None))
        {
            left.Add(row[0]);
        }

        left.Should().BeEquivalentTo("1", "12");
    }

    [Fact]
    public async Task BrokenQuery_IsACatalogError_NamingTheCatalog()
    {
        var read = async () =>
        {
            await foreach (var _ in Catalog.ReadAsync("SELECT idd FROM no_such_table", ["idd"], CancellationToken.None))
            {
            }
        };

        (await read.Should().ThrowAsync<CatalogException>()).Which.Message.Should().Contain("catalog 'app'").And.Contain("no_such_table");
    }

    [Fact]
    public async Task Ping_NoServerOnThePort_IsACatalogError()
    {
        await using var catalog = new MySqlCatalog("gone", $"Server=127.0.0.1;Port={FreePort.Find()};User ID=root;Connection Timeout=5");

        var ping = () => catalog.PingAsync(CancellationToken.None);

        (await ping.Should().ThrowAsync<CatalogException>()).Which.Message.Should().Contain("catalog 'gone': cannot connect");
    }
}
