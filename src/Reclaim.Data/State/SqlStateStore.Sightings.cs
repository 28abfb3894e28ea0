using System.Globalization;
using Reclaim.Core.State;
using static Reclaim.Data.DbCommands;

namespace Reclaim.Data.State;

/// <summary>Two-sighting confirmation: the first time each group was seen orphaned (schema step 5, <c>reclaim_sightings</c>).</summary>
public sealed partial class SqlStateStore : ISightings
{
    /// <summary>Rows per INSERT: 400 (three parameters each, within SQLite's 32766 and PostgreSQL's 65535 parameters).</summary>
    private const int SightingsPerInsert = 400;

    private const string SightingsSchema = """
        CREATE TABLE IF NOT EXISTS reclaim_sightings (
          policy TEXT NOT NULL,
          fingerprint BIGINT NOT NULL,
          first_seen_at BIGINT NOT NULL,
          PRIMARY KEY (policy, fingerprint));
        """;

    /// <inheritdoc/>
    /// <remarks>One transaction: the policy's sightings are read, replaced by exactly <paramref name="orphaned"/>, each with its first time.</remarks>
    public async Task<IReadOnlyDictionary<ulong, DateTimeOffset>> SightAsync(string policy, IReadOnlyCollection<ulong> orphaned, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(orphaned);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var known = new Dictionary<ulong, long>();
        await using (var read = Command(connection, transaction, "SELECT fingerprint, first_seen_at FROM reclaim_sightings WHERE policy = @policy" + (_postgres ? " FOR UPDATE" : string.Empty)))
        {
            Add(read, "policy", policy);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                known[unchecked((ulong)Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture))] = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
            }
        }

        await using (var forget = Command(connection, transaction, "DELETE FROM reclaim_sightings WHERE policy = @policy"))
        {
            Add(forget, "policy", policy);
            await forget.ExecuteNonQueryAsync(cancellationToken);
        }

        var nowMs = now.ToUnixTimeMilliseconds();
        var first = new Dictionary<ulong, DateTimeOffset>(orphaned.Count);
        foreach (var part in orphaned.Distinct().Chunk(SightingsPerInsert))
        {
            var values = string.Join(", ", part.Select((_, i) => $"(@policy, @f{i}, @t{i})"));
            await using var insert = Command(connection, transaction, $"INSERT INTO reclaim_sightings (policy, fingerprint, first_seen_at) VALUES {values}");
            Add(insert, "policy", policy);
            for (var i = 0; i < part.Length; i++)
            {
                var seen = known.GetValueOrDefault(part[i], nowMs);
                Add(insert, $"f{i}", unchecked((long)part[i]));
                Add(insert, $"t{i}", seen);
                first[part[i]] = DateTimeOffset.FromUnixTimeMilliseconds(seen);
            }

            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return first;
    }
}
