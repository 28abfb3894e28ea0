using System.Data.Common;
using System.Globalization;
using Reclaim.Core.State;
using static Reclaim.Data.DbCommands;

namespace Reclaim.Data.State;

/// <summary>
/// Partitioned runs (schema steps 6 and 7): <c>reclaim_partitioned_runs</c>, one row per run key with the guards' verdict,
/// and <c>reclaim_partition_ranges</c>, one row per key range with its phase, lease, totals and plan. A range's
/// plan is kept in its row (not in a file) because every participant reaches the state database and none reaches
/// another's disk; a plan is JSON text, at most a range's share of the run's <c>max_delete_count</c> objects.
/// </summary>
public sealed partial class SqlStateStore : IPartitionedRuns
{
    private const string PartitionsSchema = """
        CREATE TABLE IF NOT EXISTS reclaim_partitioned_runs (
          run_key TEXT PRIMARY KEY,
          definition TEXT NOT NULL,
          ranges INTEGER NOT NULL,
          created_at BIGINT NOT NULL,
          verdict_passed INTEGER,
          verdict TEXT,
          verdict_by TEXT,
          verdict_at BIGINT);
        CREATE TABLE IF NOT EXISTS reclaim_partition_ranges (
          run_key TEXT NOT NULL,
          range_index INTEGER NOT NULL,
          phase TEXT NOT NULL,
          owner TEXT,
          previous_owner TEXT,
          lease_until BIGINT NOT NULL,
          totals TEXT,
          plan TEXT,
          planned_by TEXT,
          planned_at BIGINT,
          apply_run_id TEXT,
          applied_by TEXT,
          applied_at BIGINT,
          takeovers INTEGER NOT NULL,
          PRIMARY KEY (run_key, range_index));
        """;

    private const string PartitionedRunColumns = "run_key, definition, ranges, created_at, verdict_passed, verdict, verdict_by, policies, forced, actor, apply_requested, summary_run_id";

    private const string RangeColumns = "range_index, phase, owner, lease_until, totals, planned_by, apply_run_id, applied_by, takeovers";

    /// <inheritdoc/>
    public async Task<PartitionedRunRecord> JoinRunAsync(string runKey, string definition, int ranges, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ranges, 1);
        await using var connection = await OpenAsync(cancellationToken);
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using var insert = Command(connection, transaction, """
                INSERT INTO reclaim_partitioned_runs (run_key, definition, ranges, created_at) VALUES (@key, @definition, @ranges, @now)
                ON CONFLICT (run_key) DO NOTHING
                """);
            Add(insert, "key", runKey);
            Add(insert, "definition", definition);
            Add(insert, "ranges", ranges);
            Add(insert, "now", now.ToUnixTimeMilliseconds());
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                await using var range = Command(connection, transaction, """
                    INSERT INTO reclaim_partition_ranges (run_key, range_index, phase, lease_until, takeovers) VALUES (@key, @index, 'pending', 0, 0)
                    """);
                Add(range, "key", runKey);
                Add(range, "index", 0);
                for (var i = 0; i < ranges; i++)
                {
                    range.Parameters[1].Value = i;
                    await range.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return await ReadPartitionedRunAsync(connection, runKey, cancellationToken)
            ?? throw new InvalidOperationException($"partitioned run '{runKey}' vanished while it was joined");
    }

    /// <inheritdoc/>
    public async Task<PartitionedRunRecord?> GetPartitionedRunAsync(string runKey, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ReadPartitionedRunAsync(connection, runKey, cancellationToken);
    }

    private static async Task<PartitionedRunRecord?> ReadPartitionedRunAsync(DbConnection connection, string runKey, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, $"SELECT {PartitionedRunColumns} FROM reclaim_partitioned_runs WHERE run_key = @key");
        Add(command, "key", runKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadPartitionedRun(reader) : null;
    }

    private static PartitionedRunRecord ReadPartitionedRun(DbDataReader reader) =>
        new(
            reader.GetString(0),
            reader.GetString(1),
            Convert.ToInt32(reader.GetValue(2), CultureInfo.InvariantCulture),
            DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture)),
            reader.IsDBNull(4) ? null : Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture) != 0,
            reader.IsDBNull(5) ? null : reader.GetString(5),
            reader.IsDBNull(6) ? null : reader.GetString(6))
        {
            Policies = reader.IsDBNull(7) ? null : reader.GetString(7).Split('\n'),
            Force = !reader.IsDBNull(8) && Convert.ToInt64(reader.GetValue(8), CultureInfo.InvariantCulture) != 0,
            Actor = reader.IsDBNull(9) ? null : reader.GetString(9),
            Apply = !reader.IsDBNull(10) && Convert.ToInt64(reader.GetValue(10), CultureInfo.InvariantCulture) != 0,
            SummaryRunId = reader.IsDBNull(11) ? null : reader.GetString(11),
        };

    /// <summary>Step 7: what a partitioned run plans, who started it, whether it is applied, and its summary run.</summary>
    private async Task AddPartitionedRunRequestAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await AddColumnAsync(connection, transaction, "reclaim_partitioned_runs", "policies", "TEXT", cancellationToken);
        await AddColumnAsync(connection, transaction, "reclaim_partitioned_runs", "forced", "INTEGER", cancellationToken);
        await AddColumnAsync(connection, transaction, "reclaim_partitioned_runs", "actor", "TEXT", cancellationToken);
        await AddColumnAsync(connection, transaction, "reclaim_partitioned_runs", "apply_requested", "INTEGER", cancellationToken);
        await AddColumnAsync(connection, transaction, "reclaim_partitioned_runs", "summary_run_id", "TEXT", cancellationToken);
    }

    /// <inheritdoc/>
    public async Task RecordRequestAsync(string runKey, IReadOnlyList<string> policies, bool force, string actor, bool apply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policies);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            UPDATE reclaim_partitioned_runs
            SET policies = COALESCE(policies, @policies), forced = COALESCE(forced, @forced), actor = COALESCE(actor, @actor),
                apply_requested = CASE WHEN @apply = 1 THEN 1 ELSE COALESCE(apply_requested, 0) END
            WHERE run_key = @key
            """);
        Add(command, "policies", string.Join('\n', policies));
        Add(command, "forced", force ? 1 : 0);
        Add(command, "actor", actor);
        Add(command, "apply", apply ? 1 : 0);
        Add(command, "key", runKey);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<PartitionedRunRecord>> ListOpenRunsAsync(DateTimeOffset createdAfter, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            SELECT {PartitionedRunColumns} FROM reclaim_partitioned_runs r
            WHERE created_at > @after AND policies IS NOT NULL AND (
              verdict_passed IS NULL
              OR (verdict_passed = 1 AND apply_requested = 1 AND EXISTS (SELECT 1 FROM reclaim_partition_ranges g WHERE g.run_key = r.run_key AND g.phase <> 'applied')))
            ORDER BY created_at, run_key
            """);
        Add(command, "after", createdAfter.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var runs = new List<PartitionedRunRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(ReadPartitionedRun(reader));
        }

        return runs;
    }

    /// <inheritdoc/>
    public async Task<bool> RecordSummaryAsync(string runKey, string summaryRunId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            UPDATE reclaim_partitioned_runs SET summary_run_id = @summary
            WHERE run_key = @key AND summary_run_id IS NULL AND verdict_passed IS NOT NULL
              AND (verdict_passed = 0 OR NOT EXISTS (SELECT 1 FROM reclaim_partition_ranges WHERE run_key = @key AND phase <> 'applied'))
            """);
        Add(command, "summary", summaryRunId);
        Add(command, "key", runKey);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<PartitionRange>> ListRangesAsync(string runKey, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {RangeColumns} FROM reclaim_partition_ranges WHERE run_key = @key ORDER BY range_index");
        Add(command, "key", runKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ranges = new List<PartitionRange>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var lease = Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture);
            ranges.Add(new PartitionRange(
                Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture),
                Enum.Parse<RangePhase>(reader.GetString(1), ignoreCase: true),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                lease == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(lease),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7),
                Convert.ToInt32(reader.GetValue(8), CultureInfo.InvariantCulture)));
        }

        return ranges;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One statement: the inner <c>SELECT</c> picks the range (on PostgreSQL locking it, <c>FOR UPDATE SKIP LOCKED</c>,
    /// so participants claiming at once each get another), and the <c>UPDATE</c> checks its phase and lease again.
    /// On SQLite the statement is its own write transaction, one at a time.
    /// </remarks>
    public async Task<RangeClaim?> ClaimRangeAsync(string runKey, RangePhase phase, int participant, int participants, string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (phase is not (RangePhase.Pending or RangePhase.Planned))
        {
            throw new ArgumentOutOfRangeException(nameof(phase), phase, "only a pending or planned range is claimed");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(participants, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(participant);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(participant, participants);
        var verdict = phase == RangePhase.Planned
            ? "AND EXISTS (SELECT 1 FROM reclaim_partitioned_runs r WHERE r.run_key = @key AND r.verdict_passed = 1)"
            : string.Empty;
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            UPDATE reclaim_partition_ranges
            SET previous_owner = owner, owner = @owner, lease_until = @until,
                takeovers = takeovers + CASE WHEN owner IS NULL THEN 0 ELSE 1 END
            WHERE run_key = @key AND phase = @phase AND lease_until < @now AND range_index = (
              SELECT range_index FROM reclaim_partition_ranges
              WHERE run_key = @key AND phase = @phase AND lease_until < @now {verdict}
              ORDER BY CASE WHEN range_index % @participants = @participant THEN 0 ELSE 1 END, range_index
              LIMIT 1{(_postgres ? " FOR UPDATE SKIP LOCKED" : string.Empty)})
            RETURNING range_index, {(phase == RangePhase.Planned ? "plan" : "NULL")}, previous_owner
            """);
        Add(command, "owner", owner);
        Add(command, "until", leaseUntil.ToUnixTimeMilliseconds());
        Add(command, "key", runKey);
        Add(command, "phase", PhaseText(phase));
        Add(command, "now", now.ToUnixTimeMilliseconds());
        Add(command, "participants", participants);
        Add(command, "participant", participant);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new RangeClaim(
            Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture),
            reader.IsDBNull(1) ? null : reader.GetString(1),
            !reader.IsDBNull(2));
    }

    /// <inheritdoc/>
    public async Task<int> RenewLeasesAsync(string runKey, string owner, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            UPDATE reclaim_partition_ranges SET lease_until = @until
            WHERE run_key = @key AND owner = @owner AND phase <> 'applied' AND lease_until > 0
            """);
        Add(command, "until", leaseUntil.ToUnixTimeMilliseconds());
        Add(command, "key", runKey);
        Add(command, "owner", owner);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task ReleaseRangeAsync(string runKey, int index, string owner, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            UPDATE reclaim_partition_ranges SET owner = NULL, lease_until = 0
            WHERE run_key = @key AND range_index = @index AND owner = @owner AND phase <> 'applied'
            """);
        Add(command, "key", runKey);
        Add(command, "index", index);
        Add(command, "owner", owner);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<bool> RecordPlannedAsync(string runKey, int index, string owner, string totals, string plan, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            UPDATE reclaim_partition_ranges
            SET phase = 'planned', totals = @totals, plan = @plan, planned_by = @owner, planned_at = @now, owner = NULL, lease_until = 0
            WHERE run_key = @key AND range_index = @index AND owner = @owner AND phase = 'pending'
            """);
        Add(command, "totals", totals);
        Add(command, "plan", plan);
        Add(command, "owner", owner);
        Add(command, "now", now.ToUnixTimeMilliseconds());
        Add(command, "key", runKey);
        Add(command, "index", index);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc/>
    public async Task<bool> RecordApplyingAsync(string runKey, int index, string owner, string applyRunId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            UPDATE reclaim_partition_ranges SET apply_run_id = @run
            WHERE run_key = @key AND range_index = @index AND owner = @owner AND phase = 'planned'
            """);
        Add(command, "run", applyRunId);
        Add(command, "key", runKey);
        Add(command, "index", index);
        Add(command, "owner", owner);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc/>
    public async Task<bool> RecordAppliedAsync(string runKey, int index, string owner, string applyRunId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            UPDATE reclaim_partition_ranges
            SET phase = 'applied', apply_run_id = @run, applied_by = @owner, applied_at = @now, owner = NULL, lease_until = 0
            WHERE run_key = @key AND range_index = @index AND owner = @owner AND phase = 'planned'
            """);
        Add(command, "run", applyRunId);
        Add(command, "owner", owner);
        Add(command, "now", now.ToUnixTimeMilliseconds());
        Add(command, "key", runKey);
        Add(command, "index", index);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc/>
    /// <remarks>A conditional <c>UPDATE</c> of the run's row: participants recording at once wait on its row lock, and only the first finds no verdict.</remarks>
    public async Task<bool> RecordVerdictAsync(string runKey, bool passed, string verdict, string by, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            UPDATE reclaim_partitioned_runs SET verdict_passed = @passed, verdict = @verdict, verdict_by = @by, verdict_at = @now
            WHERE run_key = @key AND verdict_passed IS NULL
              AND NOT EXISTS (SELECT 1 FROM reclaim_partition_ranges WHERE run_key = @key AND phase = 'pending')
            """);
        Add(command, "passed", passed ? 1 : 0);
        Add(command, "verdict", verdict);
        Add(command, "by", by);
        Add(command, "now", now.ToUnixTimeMilliseconds());
        Add(command, "key", runKey);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static string PhaseText(RangePhase phase) => phase.ToString().ToLowerInvariant();
}
