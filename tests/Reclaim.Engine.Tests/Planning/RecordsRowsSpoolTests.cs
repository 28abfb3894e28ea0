using Reclaim.Core.Planning;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Planning;
using Reclaim.Stores.FileSystem;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Planning;

/// <summary>
/// A records policy's rows are held as a layout policy's groups are: the first ones in memory, the rest spooled to
/// disk, by the planner and by the plan file's reader, and read back whole and in query order.
/// </summary>
public sealed class RecordsRowsSpoolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rows-spool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Plan_MoreRowsThanTheHead_HoldsOnlyTheHead_AndReadsEveryRowBackInQueryOrder()
    {
        // Arrange: 25 rows, each naming one file, one of them NULL (a row whose templates render nothing).
        var (store, catalog) = await SeedAsync(25);
        var planner = new RecordsPlanner { RowsInMemory = 4, SpillDirectory = _dir };

        // Act
        var plan = await planner.PlanAsync(Policy(), store, catalog, ".trash/", long.MaxValue, default);

        // Assert
        plan.Rows.Count.Should().Be(25);
        plan.Rows.InMemory.Should().Be(4, "rows beyond the head are spooled, not held");
        plan.Rows.Spooled.Should().Be(21);
        plan.Rows.Select(r => r.Columns["id"]).Should().Equal(Enumerable.Range(0, 25).Select(i => $"{i}"), "in the order the query returned them");
        plan.Rows.Select(r => r.Columns["id"]).Should().Equal(Enumerable.Range(0, 25).Select(i => $"{i}"), "a second read starts again from the first row");
        var last = plan.Rows.Last();
        last.Keys.Should().Equal("u/f24.bin");
        last.Objects.Should().ContainSingle().Which.Key.Should().Be("u/f24.bin");
        plan.Rows.Single(r => r.Columns["id"] == "7").Columns["file"].Should().BeNull("SQL NULL is kept through the spool");
        plan.Rows.Single(r => r.Columns["id"] == "7").Objects.Should().BeEmpty();
    }

    [Fact]
    public async Task PlanFile_OfMoreRowsThanTheHead_SpoolsThemWhileReading_AndWritesBackTheSameBytes()
    {
        // Arrange: a records plan of 300 rows written to a file.
        var (store, catalog) = await SeedAsync(300);
        var policyPlan = await new RecordsPlanner { RowsInMemory = 300, SpillDirectory = _dir }.PlanAsync(Policy(), store, catalog, ".trash/", long.MaxValue, default);
        var plan = new Plan { CreatedAt = DateTimeOffset.UnixEpoch, ConfigPath = "/etc/reclaim.yaml", Policies = [policyPlan] };
        var path = Path.Join(_dir, "plan.json");
        await PlanFile.WriteAsync(plan, path, default);

        // Act: read with a head of 8 rows, through the seam the commands use.
        Plan read;
        using (RecordsPlanner.HoldRowsInMemory(8))
        {
            read = await PlanFile.ReadAsync(path, default);
        }

        // Assert
        var rows = read.Policies[0].Rows;
        rows.Count.Should().Be(300);
        rows.InMemory.Should().Be(8, "the reader holds a bounded head of rows, whatever the file holds");
        rows.Spooled.Should().Be(292);
        rows.Select(r => r.Columns["id"]).Should().Equal(Enumerable.Range(0, 300).Select(i => $"{i}"));
        var again = Path.Join(_dir, "again.json");
        await PlanFile.WriteAsync(read, again, default);
        (await File.ReadAllTextAsync(again)).Should().Be(await File.ReadAllTextAsync(path), "the plan read is the plan written");
    }

    [Fact]
    public void HoldRowsInMemory_SetsTheHeadForTheCallingFlow_UntilDisposed()
    {
        var before = RecordsPlanner.CurrentRowsInMemory;

        using (RecordsPlanner.HoldRowsInMemory(2))
        {
            RecordsPlanner.CurrentRowsInMemory.Should().Be(2);
            new RecordsPlanner().RowsInMemory.Should().Be(2);
        }

        RecordsPlanner.CurrentRowsInMemory.Should().Be(before);
        before.Should().Be(RecordsPlanner.DefaultRowsInMemory);
        FluentActions.Invoking(() => RecordsPlanner.HoldRowsInMemory(-1)).Should().Throw<ArgumentOutOfRangeException>();
    }

    private static RecordsPolicy Policy() => new()
    {
        Name = "failed-sessions",
        Store = "media",
        Catalog = "app",
        Query = "SELECT id, file FROM sessions",
        Objects = ["u/{file}"],
        After = "DELETE FROM sessions WHERE id = @id",
        Action = Core.State.ActionKind.Delete,
    };

    private async Task<(FileSystemStore Store, ScriptedCatalog Catalog)> SeedAsync(int rows)
    {
        var root = Path.Join(_dir, "media");
        Directory.CreateDirectory(Path.Join(root, "u"));
        var catalog = new ScriptedCatalog();
        foreach (var i in Enumerable.Range(0, rows))
        {
            var file = i == 7 ? null : $"f{i}.bin";
            catalog.Add(("id", $"{i}"), ("file", file));
            if (file is not null)
            {
                await File.WriteAllTextAsync(Path.Join(root, "u", file), $"content {i}");
            }
        }

        return (new FileSystemStore("media", root), catalog);
    }
}
