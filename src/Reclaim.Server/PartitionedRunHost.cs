using Microsoft.Extensions.Hosting;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server;

/// <summary>
/// Joins the open partitioned runs this replica finds in state (<c>server.join_partitioned_runs</c>, on by default with
/// PostgreSQL state; nothing with SQLite): every <c>server.cluster_checkin_interval</c> it claims a free or
/// lease-expired key range of a run recorded in the last 6 hours, plans it, and, for a run to be applied whose guard
/// verdict passed, applies it through the gate — so that a run a scheduled firing, a <c>reclaim sweep --partition</c>
/// participant or a replica that died started is finished by the replicas. Runs in <c>reclaim serve</c> (between and
/// during firings) and in <c>reclaim worker</c>. On shutdown the range being applied ends interrupted and is given back.
/// </summary>
/// <param name="engine">The engine.</param>
/// <param name="config">The config.</param>
public sealed class PartitionedRunHost(ReclaimEngine engine, ReclaimConfig config) : BackgroundService
{
    /// <summary>Whether this replica joins partitioned runs: PostgreSQL state and <c>server.join_partitioned_runs</c>.</summary>
    /// <param name="config">The config.</param>
    /// <returns><see langword="true"/> when it does.</returns>
    public static bool Enabled(ReclaimConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.State.Provider == "postgres" && config.Server.JoinPartitionedRuns;
    }

    /// <summary>Joins open runs until <paramref name="stopping"/>: the loop of <c>reclaim serve</c> and <c>reclaim worker</c>.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="config">The config.</param>
    /// <param name="stopping">The soft stop.</param>
    /// <returns>A task that ends when stopped; at once when <see cref="Enabled"/> is false.</returns>
    public static Task RunAsync(ReclaimEngine engine, ReclaimConfig config, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return Enabled(config)
            ? engine.Partitioned.JoinOpenRunsContinuouslyAsync(config.Server.ClusterCheckinInterval, config.Server.PartitionLease, CancellationToken.None, stopping)
            : Task.CompletedTask;
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        await RunAsync(engine, config, stoppingToken);
    }
}
