using System.Globalization;
using Microsoft.Data.Sqlite;
using Reclaim.Core.Catalogs;
using Reclaim.Data.Catalogs;
using Reclaim.Testing;

namespace Reclaim.Data.Tests.Catalogs;

/// <summary>
/// The gate's re-check query (<see cref="ICatalog.FindAsync"/>) on SQLite and PostgreSQL (and MySQL for the largest
/// call): as many tuples as one call takes, of layouts with several variables, in the columns' own types and as text.
/// </summary>
public sealed class CatalogRecheckTests : IAsyncLifetime
{
    private readonly TemporaryFolder _folder = new();
    private PostgresDatabase? _postgres;
    private MariaDbDatabase? _mariaDb;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        if (_mariaDb is not null)
        {
            await _mariaDb.DisposeAsync();
        }

        _folder.Dispose();
    }

    /// <summary>A catalog over <paramref name="sql"/>, run on a fresh database of <paramref name="provider"/>.</summary>
    private async Task<ICatalog> CatalogAsync(string provider, string sql)
    {
        if (provider == "postgres")
        {
            _postgres = await PostgresDatabase.CreateAsync();
            await _postgres.ExecuteAsync(sql);
            return new PostgresCatalog("app", _postgres.ConnectionString);
        }

        if (provider == "mysql")
        {
            _mariaDb = await MariaDbDatabase.CreateAsync();
            await _mariaDb.ExecuteAsync(sql);
            return new MySqlCatalog("app", _mariaDb.ConnectionString);
        }

        var path = Path.Combine(_folder.Path, "app.db");
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        }

        return new SqliteCatalog("app", path);
    }

    private static string Insert(string table, IEnumerable<string> rows) =>
        string.Concat(rows.Chunk(500).Select(chunk => $"INSERT INTO {table} VALUES {string.Join(", ", chunk)};\n"));

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    [InlineData("mysql")]
    public async Task Find_AThousandTuplesOfTwoColumns_FindsExactlyTheReferencedOnes(string provider)
    {
        // Every third candidate has its row; the others are orphans. Integers in org, text in id.
        var rows = Enumerable.Range(0, 1000).Where(i => i % 3 == 0).Select(i => $"({i % 7}, 'asset-{i}')");
        var text = provider == "mysql" ? "VARCHAR(191)" : "TEXT";
        await using var catalog = await CatalogAsync(provider, $"CREATE TABLE media_assets (org_id INTEGER NOT NULL, id {text} NOT NULL, PRIMARY KEY (org_id, id));\n" + Insert("media_assets", rows));
        var tuples = Enumerable.Range(0, SqlCatalog.MaxFindTuples).Select(i => new[] { (i % 7).ToString(CultureInfo.InvariantCulture), $"asset-{i}" }).ToList();

        var found = await catalog.FindAsync("SELECT org_id AS org, id AS asset FROM media_assets", ["org", "asset"], tuples, CancellationToken.None);

        found.Select(r => $"{r[0]}/{r[1]}").Should().BeEquivalentTo(Enumerable.Range(0, 1000).Where(i => i % 3 == 0).Select(i => $"{i % 7}/asset-{i}"));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Find_ThreeColumns_MatchesWholeTuplesOnly(string provider)
    {
        await using var catalog = await CatalogAsync(provider, "CREATE TABLE t (a TEXT, b TEXT, c TEXT);\nINSERT INTO t VALUES ('1', '2', '3'), ('1', '2', '4'), ('x', NULL, 'z');");

        var found = await catalog.FindAsync("SELECT a, b, c FROM t;", ["a", "b", "c"], [["1", "2", "4"], ["1", "3", "3"], ["x", "", "z"], ["1", "2", "4"]], CancellationToken.None);

        found.Select(r => string.Join('|', r)).Distinct().Should().Equal("1|2|4");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Find_ValuesThatAreNotValidForTheColumnsType_AreSimplyNotFound(string provider)
    {
        await using var catalog = await CatalogAsync(provider, "CREATE TABLE a (org INTEGER, id INTEGER);\nINSERT INTO a VALUES (1, 10), (2, 20);");

        var found = await catalog.FindAsync("SELECT org, id FROM a", ["org", "id"], [["1", "10"], ["2", "twenty"], ["02", "20"]], CancellationToken.None);

        found.Select(r => $"{r[0]}/{r[1]}").Should().Equal("1/10");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Find_KeysWithQuotesSpacesAndUnicode_CompareExactly(string provider)
    {
        await using var catalog = await CatalogAsync(provider, "CREATE TABLE a (org TEXT, id TEXT);\nINSERT INTO a VALUES ('o', 'sp ace+%#?''q\"'), ('o', 'caf\u00e9'), ('o', 'ABC'), ('o', 'abc ');");

        var found = await catalog.FindAsync("SELECT org, id FROM a", ["org", "id"],
            [["o", "sp ace+%#?'q\""], ["o", "cafe\u0301"], ["o", "abc"], ["o", "abc "], ["o", "caf\u00e9"]], CancellationToken.None);

        found.Select(r => r[1]).Should().BeEquivalentTo(["sp ace+%#?'q\"", "abc ", "caf\u00e9"]);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Find_PostgresUuidAndSqliteReal_CompareInTheirTextForm(string provider)
    {
        var (create, value, other) = provider == "postgres"
            ? ("CREATE TABLE a (id uuid);\nINSERT INTO a VALUES ('6F9619FF-8B86-D011-B42D-00C04FC964FF');", "6f9619ff-8b86-d011-b42d-00c04fc964ff", "6F9619FF-8B86-D011-B42D-00C04FC964FF")
            : ("CREATE TABLE a (id REAL);\nINSERT INTO a VALUES (1.5);", "1.5", "1.50");
        await using var catalog = await CatalogAsync(provider, create);

        var found = await catalog.FindAsync("SELECT id AS asset, 'x' AS org FROM a", ["org", "asset"], [["x", value], ["x", other]], CancellationToken.None);

        // PostgreSQL compares in the column's type (so its index applies) and may return the row for either form; the
        // row comes back in the database's own text form, which is what the gate renders and compares.
        found.Select(r => r[1]).Should().Contain(value).And.OnlyContain(v => v == value);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Find_UserTableNamedLikeOneLetterAliases_IsNotShadowed(string provider)
    {
        await using var catalog = await CatalogAsync(provider, "CREATE TABLE t (a TEXT, r TEXT);\nINSERT INTO t VALUES ('1', '2');");

        var found = await catalog.FindAsync("SELECT t.a AS a, t.r AS b FROM t", ["a", "b"], [["1", "2"]], CancellationToken.None);

        found.Should().ContainSingle();
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Find_BrokenQuery_IsACatalogErrorNamingTheCatalog(string provider)
    {
        await using var catalog = await CatalogAsync(provider, "CREATE TABLE a (org TEXT, id TEXT);");

        var act = () => catalog.FindAsync("SELECT org, idd AS id FROM a", ["org", "id"], [["o", "1"]], CancellationToken.None);

        await act.Should().ThrowAsync<CatalogException>().WithMessage("*catalog 'app'*re-check query failed*");
    }
}
