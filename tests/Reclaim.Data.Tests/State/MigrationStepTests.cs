using System.Globalization;
using Reclaim.Core.State;
using Reclaim.Data.State;

namespace Reclaim.Data.Tests.State;

/// <summary>
/// The state schema's numbered steps on SQLite and PostgreSQL: each, applied to a database at the version before it,
/// keeps every row there was; a fresh database and one brought up step by step (or made by an older Reclaim) end
/// with the same schema; a recorded version behind the schema, or ahead of this Reclaim, does no harm.
/// </summary>
public sealed class MigrationStepTests
{
    public static TheoryData<string, int> ProvidersAndSteps()
    {
        var data = new TheoryData<string, int>();
        foreach (var provider in new[] { "sqlite", "postgres" })
        {
            for (var step = 1; step <= SqlStateStore.SchemaVersion; step++)
            {
                data.Add(provider, step);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ProvidersAndSteps))]
    public async Task Step_OnADatabaseAtThePreviousVersion_KeepsEveryRowAndAddsToTheSchema(string provider, int step)
    {
        await using var database = await StateDatabase.CreateAsync(provider);
        (await database.MigrateToAsync(step - 1)).Should().Be(step - 1);
        var columnsBefore = await database.ColumnsAsync();
        var schemaBefore = await database.SchemaAsync();
        var written = new Dictionary<string, List<(StateColumn Column, string Value)>>(StringComparer.Ordinal);
        foreach (var table in columnsBefore.Where(c => c.Table != "reclaim_schema").GroupBy(c => c.Table))
        {
            written[table.Key] = await WriteRowAsync(database, table.ToList());
        }

        (await database.MigrateToAsync(step)).Should().Be(step);

        (await database.ScalarAsync("SELECT MAX(version) FROM reclaim_schema")).Should().Be(step);
        (await database.SchemaAsync()).Should().NotEqual(schemaBefore, $"step {step} adds to the schema");
        var columnsAfter = await database.ColumnsAsync();
        foreach (var (table, row) in written)
        {
            var rows = await database.QueryAsync($"SELECT {string.Join(", ", row.Select(c => c.Column.Name))} FROM {table}");
            rows.Should().ContainSingle($"step {step} keeps the row of {table}");
            rows[0].Select(Text).Should().Equal(row.Select(c => c.Value), $"step {step} keeps the values of {table}");

            var added = columnsAfter.Where(c => c.Table == table).Select(c => c.Name).Except(columnsBefore.Where(c => c.Table == table).Select(c => c.Name)).ToList();
            if (added.Count > 0)
            {
                (await database.QueryAsync($"SELECT {string.Join(", ", added)} FROM {table}")).Single().Should().AllSatisfy(
                    v => v.Should().BeNull(), $"a row written before step {step} has nothing in the columns it adds to {table}");
            }
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Migrate_FreshDatabaseAndOneBroughtUpStepByStep_EndWithTheSameSchema(string provider)
    {
        await using var fresh = await StateDatabase.CreateAsync(provider);
        await using var stepped = await StateDatabase.CreateAsync(provider);
        await using (var state = fresh.Open())
        {
            (await state.MigrateAsync(CancellationToken.None)).Should().Be(SqlStateStore.SchemaVersion);
        }

        for (var version = 1; version <= SqlStateStore.SchemaVersion; version++)
        {
            await stepped.MigrateToAsync(version);
        }

        var schema = await fresh.SchemaAsync();
        schema.Should().Contain(line => line.StartsWith("reclaim_partition_ranges.", StringComparison.Ordinal), "the last step's tables are there");
        (await stepped.SchemaAsync()).Should().Equal(schema);
        (await stepped.QueryAsync("SELECT version FROM reclaim_schema ORDER BY version")).Select(r => Text(r[0])).Should().Equal(
            (await fresh.QueryAsync("SELECT version FROM reclaim_schema ORDER BY version")).Select(r => Text(r[0])),
            "both record every step once");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Migrate_DatabaseMadeBySchemaVersion2_EndsWithTheSchemaOfAFreshOne(string provider)
    {
        await using var fresh = await StateDatabase.CreateAsync(provider);
        await using var old = await StateDatabase.CreateAsync(provider);
        await fresh.MigrateToAsync(SqlStateStore.SchemaVersion);
        await old.ExecuteAsync(string.Format(CultureInfo.InvariantCulture, StateMigrationTests.SchemaV2,
            old.IsPostgres ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"));

        await using (var state = old.Open())
        {
            (await state.MigrateAsync(CancellationToken.None)).Should().Be(SqlStateStore.SchemaVersion);
        }

        (await old.SchemaAsync()).Should().Equal(await fresh.SchemaAsync());
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Migrate_AgainOrWithARecordedVersionBehindTheSchema_ChangesNothingAndKeepsTheRows(string provider)
    {
        await using var database = await StateDatabase.CreateAsync(provider);
        var startedAt = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var run = new RunRecord("20260301-120000-abcdef", "sweep", startedAt, null, RunStatus.Running, "cli:ops@media-1", "orphan-uploads", false, null,
            Owner: "media-1/4242/1772366400000", HeartbeatAt: startedAt);
        await using (var state = database.Open())
        {
            await state.MigrateAsync(CancellationToken.None);
            await state.StartRunAsync(run, CancellationToken.None);
            await state.RecordIntentAsync([new ActionRecord(0, run.Id, "orphan-uploads", "media", ActionKind.Quarantine, "orgs/1/uploads/2/a.mp4", 10,
                "orgs/1/uploads/2/", "orphan", null, ".reclaim-trash/x/orgs/1/uploads/2/a.mp4", ActionOutcome.Pending, null, startedAt)], CancellationToken.None);
        }

        var schema = await database.SchemaAsync();

        // Every command migrates on first use; a database whose steps were recorded only in part (an older Reclaim's
        // record, a restored backup) has its steps run again over what is there.
        await database.MigrateToAsync(SqlStateStore.SchemaVersion);
        await database.ExecuteAsync("DELETE FROM reclaim_schema WHERE version > 1");
        (await database.MigrateToAsync(SqlStateStore.SchemaVersion)).Should().Be(SqlStateStore.SchemaVersion);

        (await database.SchemaAsync()).Should().Equal(schema);
        (await database.QueryAsync("SELECT version FROM reclaim_schema ORDER BY version")).Select(r => Text(r[0])).Should().Equal(
            Enumerable.Range(1, SqlStateStore.SchemaVersion).Select(v => v.ToString(CultureInfo.InvariantCulture)));
        await using var reopened = database.Open();
        (await reopened.GetRunAsync(run.Id, CancellationToken.None)).Should().Be(run);
        (await reopened.UnsettledRunsAsync(CancellationToken.None)).Should().Equal(run.Id);
        var action = await reopened.ListActionsAsync(run.Id, CancellationToken.None).SingleAsync();
        action.Key.Should().Be("orgs/1/uploads/2/a.mp4");
        action.Outcome.Should().Be(ActionOutcome.Pending);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Migrate_DatabaseOfANewerReclaim_IsRefusedAndLeftAsItIs(string provider)
    {
        await using var database = await StateDatabase.CreateAsync(provider);
        await database.MigrateToAsync(SqlStateStore.SchemaVersion);
        await database.ExecuteAsync($"INSERT INTO reclaim_schema (version) VALUES ({SqlStateStore.SchemaVersion + 1})");
        var schema = await database.SchemaAsync();

        await using var state = database.Open();
        var act = () => state.MigrateAsync(CancellationToken.None);

        (await act.Should().ThrowAsync<InvalidOperationException>()).WithMessage(
            $"*schema version {SqlStateStore.SchemaVersion + 1}, newer than this Reclaim ({SqlStateStore.SchemaVersion})*upgrade Reclaim*");
        (await database.SchemaAsync()).Should().Equal(schema);
        (await database.ScalarAsync("SELECT MAX(version) FROM reclaim_schema")).Should().Be(SqlStateStore.SchemaVersion + 1);
    }

    /// <summary>Writes one row into <paramref name="columns"/>' table: a distinct value in every column the database does not fill itself.</summary>
    private static async Task<List<(StateColumn Column, string Value)>> WriteRowAsync(StateDatabase database, List<StateColumn> columns)
    {
        var values = columns.Where(c => !c.Generated).Select((c, i) => (Column: c, Value: c.IsText
            ? $"{c.Table}.{c.Name} é/🎬"
            : (c.Type == "BIGINT" ? 1_740_000_000_000L + i : i + 1L).ToString(CultureInfo.InvariantCulture))).ToList();
        await database.ExecuteAsync(
            $"INSERT INTO {columns[0].Table} ({string.Join(", ", values.Select(v => v.Column.Name))}) VALUES ({string.Join(", ", values.Select((_, i) => "@p" + i))})",
            [.. values.Select((v, i) => ("p" + i, v.Column.IsText ? (object)v.Value : long.Parse(v.Value, CultureInfo.InvariantCulture)))]);
        return values;
    }

    private static string? Text(object? value) => value is null ? null : Convert.ToString(value, CultureInfo.InvariantCulture);
}
