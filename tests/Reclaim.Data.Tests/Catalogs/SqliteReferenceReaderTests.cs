using Microsoft.Data.Sqlite;
using Reclaim.Core.Layouts;
using Reclaim.Core.References;
using Reclaim.Data.Catalogs;
using Reclaim.Testing;

namespace Reclaim.Data.Tests.Catalogs;

public sealed class SqliteReferenceReaderTests : IDisposable
{
    private readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ReadReferences_AgreesWithReadingRowsAndRenderingThem()
    {
        var path = await CreateDatabaseAsync("app.db", """
            CREATE TABLE assets (org INTEGER, id TEXT);
            INSERT INTO assets VALUES (1, 'abc'), (1, 'abc '), (2, NULL), (NULL, 'x'), (3, ''), (4, 'a/b'),
              (5, 'caf' || char(233)), (6, 'cafe' || char(769)), (7, '🎬'), (8, 'abcd'), (9, 'ABC'), (10, 1.5);
            """);

        var layout = Layout.Parse("orgs/{org}/uploads/{asset}/");
        const string query = "SELECT org, id AS asset FROM assets";
        await using var catalog = new SqliteCatalog("app", path);

        var fast = new ReferenceSet();
        var (rows, unrenderable) = await catalog.ReadReferencesAsync(query, layout, fast, CancellationToken.None);
        fast.Seal();

        var rendered = new List<string>();
        long slowRows = 0;
        await foreach (var row in catalog.ReadAsync(query, layout.Variables, CancellationToken.None))
        {
            slowRows++;
            if (layout.Render(row) is { } key)
            {
                rendered.Add(key);
            }
        }

        rows.Should().Be(slowRows).And.Be(12);
        unrenderable.Should().Be(slowRows - rendered.Count).And.Be(4);
        fast.Count.Should().Be(rendered.Count);
        rendered.Should().OnlyContain(key => fast.Contains(key));
        fast.Contains("orgs/1/uploads/abc/").Should().BeTrue();
        fast.Contains("orgs/10/uploads/1.5/").Should().BeTrue();
        fast.Contains("orgs/1/uploads/ABC/").Should().BeFalse();
    }

    [Fact]
    public async Task ReadReferences_ValueHoldingNul_RendersNothing_AndLeavesOtherRowsAlone()
    {
        var path = await CreateDatabaseAsync("nul.db", """
            CREATE TABLE assets (org TEXT, id TEXT);
            INSERT INTO assets VALUES ('1', 'a' || char(0) || 'b'), ('1' || char(0), 'c'), ('2', 'd'), ('3', NULL);
            """);

        await using var catalog = new SqliteCatalog("app", path);
        var references = new ReferenceSet();
        var (rows, unrenderable) = await catalog.ReadReferencesAsync("SELECT org, id AS asset FROM assets", Layout.Parse("orgs/{org}/uploads/{asset}/"), references, CancellationToken.None);
        references.Seal();

        rows.Should().Be(4);
        unrenderable.Should().Be(3);
        references.Count.Should().Be(1);
        references.Contains("orgs/2/uploads/d/").Should().BeTrue();
    }

    [Fact]
    public async Task ReadReferences_BrokenQuery_ThrowsCatalogException()
    {
        var path = Path.Combine(_folder.Path, "app.db");
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE assets (org INTEGER, id TEXT)";
            await command.ExecuteNonQueryAsync();
        }

        await using var catalog = new SqliteCatalog("app", path);
        var act = () => catalog.ReadReferencesAsync("SELECT org, idd AS asset FROM assets", Layout.Parse("o/{org}/{asset}/"), new ReferenceSet(), CancellationToken.None);

        await act.Should().ThrowAsync<Reclaim.Core.Catalogs.CatalogException>().WithMessage("*catalog 'app'*");
    }

    [Fact]
    public async Task ReadReferences_QueryFailingPartWay_ThrowsCatalogException_NotAShortSet()
    {
        // The query prepares fine and fails on its second row: the rows read so far must not pass for the whole set.
        var path = await CreateDatabaseAsync("midway.db", """
            CREATE TABLE assets (org INTEGER, id TEXT);
            INSERT INTO assets VALUES (1, 'a'), (-9223372036854775808, 'b');
            """);

        await using var catalog = new SqliteCatalog("app", path);
        var act = () => catalog.ReadReferencesAsync("SELECT abs(org) AS org, id AS asset FROM assets ORDER BY id", Layout.Parse("o/{org}/{asset}/"), new ReferenceSet(), CancellationToken.None);

        await act.Should().ThrowAsync<Reclaim.Core.Catalogs.CatalogException>().WithMessage("*catalog 'app'*reading the query's rows failed*");
    }

    private async Task<string> CreateDatabaseAsync(string name, string sql)
    {
        var path = Path.Combine(_folder.Path, name);
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
        return path;
    }
}
