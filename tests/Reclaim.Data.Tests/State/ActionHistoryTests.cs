using Reclaim.Core.State;
using Reclaim.Data.State;
using Reclaim.Testing;

namespace Reclaim.Data.Tests.State;

/// <summary><see cref="IActionHistory.DoneByDayAsync"/> on SQLite and PostgreSQL state: done actions only, per UTC day and kind.</summary>
public sealed class ActionHistoryTests
{
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task DoneByDay_CountsDoneActionsPerUtcDayAndKind(string provider)
    {
        using var folder = new TemporaryFolder("reclaim-history");
        await using var database = provider == "postgres" ? await PostgresDatabase.CreateAsync() : null;
        await using var state = database is null ? SqlStateStore.Sqlite(folder.Combine("state.db")) : SqlStateStore.Postgres(database.ConnectionString);
        await state.MigrateAsync(CancellationToken.None);
        var day1 = new DateTimeOffset(2025, 3, 1, 23, 59, 0, TimeSpan.Zero);
        var day2 = new DateTimeOffset(2025, 3, 2, 0, 1, 0, TimeSpan.Zero);
        await state.StartRunAsync(new RunRecord("20250301-235900-aaaaaa", "sweep", day1, null, RunStatus.Running, "test", "p", false, null), CancellationToken.None);
        ActionRecord Action(ActionKind kind, string key, long size, DateTimeOffset at) =>
            new(0, "20250301-235900-aaaaaa", "p", "media", kind, key, size, key, "test", null, null, ActionOutcome.Pending, null, at);
        var recorded = await state.RecordIntentAsync(
        [
            Action(ActionKind.Delete, "a", 100, day1), Action(ActionKind.Quarantine, "b", 20, day1), Action(ActionKind.Quarantine, "c", 3, day1),
            Action(ActionKind.Delete, "d", 4000, day2), Action(ActionKind.Delete, "e", 50000, day2), Action(ActionKind.Restore, "b", 20, day2),
            Action(ActionKind.Delete, "old", 7, day1.AddDays(-10)),
        ], CancellationToken.None);
        var byKey = recorded.ToDictionary(a => $"{a.Key}:{a.Kind}");
        await state.RecordOutcomesAsync([new SettledAction(byKey["a:Delete"].Id, ActionOutcome.Done, null), new SettledAction(byKey["b:Quarantine"].Id, ActionOutcome.Done, null),
            new SettledAction(byKey["c:Quarantine"].Id, ActionOutcome.Failed, "boom")], day1, CancellationToken.None);
        await state.RecordOutcomesAsync([new SettledAction(byKey["old:Delete"].Id, ActionOutcome.Done, null)], day1.AddDays(-10), CancellationToken.None);
        await state.RecordOutcomesAsync([new SettledAction(byKey["d:Delete"].Id, ActionOutcome.Done, null), new SettledAction(byKey["e:Delete"].Id, ActionOutcome.Skipped, "gone"),
            new SettledAction(byKey["b:Restore"].Id, ActionOutcome.Done, null)], day2, CancellationToken.None);

        var totals = await state.DoneByDayAsync(day1.AddDays(-1), CancellationToken.None);

        totals.Should().BeEquivalentTo(new[]
        {
            new DailyActionTotals(new DateOnly(2025, 3, 1), ActionKind.Delete, 1, 100),
            new DailyActionTotals(new DateOnly(2025, 3, 1), ActionKind.Quarantine, 1, 20),
            new DailyActionTotals(new DateOnly(2025, 3, 2), ActionKind.Delete, 1, 4000),
            new DailyActionTotals(new DateOnly(2025, 3, 2), ActionKind.Restore, 1, 20),
        }, "failed and skipped actions removed nothing, and actions before the start are left out");
    }
}
