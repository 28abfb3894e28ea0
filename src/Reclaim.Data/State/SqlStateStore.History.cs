using System.Globalization;
using Reclaim.Core.State;
using static Reclaim.Data.DbCommands;

namespace Reclaim.Data.State;

/// <summary>Totals over the recorded actions.</summary>
public sealed partial class SqlStateStore : IActionHistory
{
    private const long MillisecondsPerDay = 86_400_000;

    /// <inheritdoc/>
    public async Task<IReadOnlyList<DailyActionTotals>> DoneByDayAsync(DateTimeOffset from, CancellationToken cancellationToken)
    {
        // Times are Unix milliseconds, so whole-number division gives the UTC day in both SQLite and PostgreSQL.
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            SELECT at / {MillisecondsPerDay} AS day, kind, COUNT(*), COALESCE(SUM(size), 0) FROM reclaim_actions
            WHERE outcome = 'done' AND at >= @from GROUP BY at / {MillisecondsPerDay}, kind
            """);
        Add(command, "from", from.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<DailyActionTotals>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var day = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture) * MillisecondsPerDay).UtcDateTime);
            rows.Add(new DailyActionTotals(day, Enum.Parse<ActionKind>(reader.GetString(1), ignoreCase: true),
                Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture)));
        }

        return rows;
    }
}
