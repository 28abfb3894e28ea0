using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Runtime;

/// <summary>Validate and migrate: connectivity to every store, catalog and the state, and the state's schema.</summary>
/// <param name="workspace">The config's stores, catalogs and state.</param>
internal sealed class WorkspaceChecks(Workspace workspace)
{
    private ReclaimConfig Config => workspace.Config;

    /// <summary>Checks every store (a one-key listing) and catalog (a trivial query), and the state database.</summary>
    /// <param name="cancellationToken">Cancels the checks.</param>
    /// <returns>
    /// One line per component: name, whether it is reachable, and the error when not; and a line per queue policy with
    /// neither <c>layout</c> nor <c>references</c>, reachable but with a detail starting <c>warning:</c>.
    /// </returns>
    public async Task<IReadOnlyList<(string Component, bool Ok, string Detail)>> ValidateAsync(CancellationToken cancellationToken)
    {
        var results = new List<(string, bool, string)>();
        foreach (var name in Config.Stores.Keys)
        {
            try
            {
                var store = workspace.Store(name);
                await foreach (var _ in store.ListAsync(string.Empty, cancellationToken))
                {
                    break;
                }

                results.Add(($"store {name}", true, Config.Stores[name].Type));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                results.Add(($"store {name}", false, e.Message));
            }
        }

        foreach (var name in Config.Catalogs.Keys)
        {
            try
            {
                await workspace.Catalog(name).PingAsync(cancellationToken);
                results.Add(($"catalog {name}", true, Config.Catalogs[name].Provider));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                results.Add(($"catalog {name}", false, e.Message));
            }
        }

        foreach (var policy in Config.Policies.OfType<QueuePolicy>().Where(p => p.Layout is null && p.References is null))
        {
            results.Add(($"policy {policy.Name}", true,
                $"warning: a queue with neither layout nor references empties the folder folder_depth ({policy.FolderDepth}) segments up from each path, " +
                "whatever owns it, and executes requests for live records: add layout: (the group a request empties) and references: (what keeps it)"));
        }

        try
        {
            await workspace.StateAsync(cancellationToken);
            results.Add(("state", true, Config.State.Provider));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            results.Add(("state", false, e.Message));
        }

        return results;
    }

    /// <summary>Creates or upgrades the state schema.</summary>
    /// <param name="cancellationToken">Cancels the migration.</param>
    /// <returns>The schema version.</returns>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken) =>
        await (await workspace.StateAsync(cancellationToken)).MigrateAsync(cancellationToken);
}
