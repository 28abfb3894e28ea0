using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Planning;

/// <summary>The queries that protect a policy's groups: its <c>references</c> (orphans, queue) or its <c>keep</c> (retention).</summary>
public static class ProtectingQueries
{
    /// <summary>The policy's protecting queries, in config order; empty when it has none (a retention policy without <c>keep</c>, a records policy).</summary>
    /// <param name="policy">A policy.</param>
    /// <returns>The queries.</returns>
    public static IReadOnlyList<QueryConfig> Of(PolicyConfig policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy switch
        {
            LayoutPolicy layout => layout.ProtectingQueries,
            QueuePolicy queue => queue.References ?? [],
            _ => [],
        };
    }
}
