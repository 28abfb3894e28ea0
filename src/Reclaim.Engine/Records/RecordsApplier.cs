using Reclaim.Core.Catalogs;
using Reclaim.Core.Planning;
using Reclaim.Core.Records;
using Reclaim.Core.State;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.Records;

/// <summary>Records application: a <c>records</c> policy's plan applied row by row, each row's objects through the gate, then its <c>after</c> statement.</summary>
/// <param name="workspace">The config's stores and catalogs.</param>
/// <param name="timeProvider">The clock of recorded times.</param>
internal sealed class RecordsApplier(Workspace workspace, TimeProvider timeProvider)
{
    private ReclaimConfig Config => workspace.Config;

    /// <summary>
    /// Applies a <c>records</c> plan row by row: the row's objects are rendered again from its columns, the row is
    /// looked up in the catalog again (a row no longer selected is skipped), its objects go through the gate, and
    /// then its <c>after</c> statement runs, recorded as an action of its own. A row whose objects are gone
    /// already still gets its <c>after</c> (a rerun after a crash finishes the job); a failure on one row is
    /// recorded and the next row goes on. An object another live row still names through the store's protections
    /// (a file shared by two records) is skipped, recorded with the policy that protects it; the row's <c>after</c>
    /// still runs, since only the object is shared.
    /// </summary>
    public async Task<GateTotals> ApplyAsync(DestructiveGate gate, GateRun gateRun, IStateStore? state, RecordsPolicy policy, PolicyPlan policyPlan, CancellationToken cancellationToken)
    {
        var catalog = workspace.Catalog(policy.Catalog);
        var store = workspace.Store(policy.Store);
        var templates = policy.Objects.Select(Core.Records.RecordTemplate.Parse).ToList();
        var totals = new GateTotals();
        async Task<bool> StillSelectedAsync(IReadOnlyList<KeyValuePair<string, string?>> present, CancellationToken token) =>
            present.Count == 0 || (await catalog.FindAsync(policy.Query, [.. present.Select(c => c.Key)], [[.. present.Select(c => c.Value!)]], token)).Count > 0;

        // An object another live row still names through the store's protections is kept: the rows being removed
        // (still selected now) are counted out of the protecting rows (docs/safety.md, "Records"). That count needs
        // every row's rendered keys and prefixes at once, so a store with protections reads the rows once ahead,
        // holding only those and the row's non-NULL columns; the rows themselves (objects, reasons) stay spooled.
        var protections = StoreProtections.Of(Config, policy.Store, workspace.Catalog, timeProvider);
        if (!protections.IsEmpty)
        {
            var named = new List<(IReadOnlyList<string> Keys, IReadOnlyList<string> Prefixes)>(policyPlan.Rows.Count);
            var present = new List<KeyValuePair<string, string?>[]>(policyPlan.Rows.Count);
            foreach (var planned in policyPlan.Rows)
            {
                var (rowKeys, rowPrefixes, _) = RecordsPlanner.Render(templates, planned.Columns, Config.Trash.Prefix);
                named.Add((rowKeys, rowPrefixes));
                present.Add(Present(planned));
            }

            protections = protections.Deleting(new DeletingRows(named, (index, token) => StillSelectedAsync(present[index], token)));
        }

        // The rows are read in order, once, from the plan's spooled sequence.
        foreach (var row in policyPlan.Rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var label = RecordsPlanner.Label(row.Columns);
            var (keys, prefixes, problem) = RecordsPlanner.Render(templates, row.Columns, Config.Trash.Prefix);
            if (problem is not null)
            {
                throw new PlanFileException($"the plan's policy '{policy.Name}' row {label}: {problem}; make a new plan");
            }

            if (!await StillSelectedAsync(Present(row), cancellationToken))
            {
                totals.GroupsSkipped++;
                await RecordAfterAsync(state, gateRun, policy, label, ActionOutcome.Skipped, "no longer selected by the query; nothing removed", cancellationToken);
                continue;
            }

            var removal = new RequestedRemoval(policy.Name, store, policy.Action, Config.Trash.Prefix, keys, prefixes, $"row {label}", $"{row.Reason} (row {label})", protections);
            var done = await gate.RemoveRequestedAsync(gateRun, removal, cancellationToken);
            totals.Add(done);
            if (policy.After is null || gateRun.DryRun)
            {
                continue;
            }

            if (done.Stopped)
            {
                break; // the run was asked to stop: the row's after statement waits for a rerun
            }

            if (done.ObjectsFailed > 0)
            {
                await RecordAfterAsync(state, gateRun, policy, label, ActionOutcome.Skipped, "not run: some of the row's objects could not be removed", cancellationToken);
                continue;
            }

            var parameters = RecordTemplate.Parameters(policy.After).ToDictionary(n => n, n => (object?)row.Columns[n], StringComparer.Ordinal);
            var intent = await RecordAfterAsync(state, gateRun, policy, label, ActionOutcome.Pending, null, cancellationToken);
            try
            {
                await catalog.ExecuteAsync(policy.After, parameters, cancellationToken);
                await state!.RecordOutcomesAsync([SettledAction.Done(intent!.Id)], timeProvider.GetUtcNow(), CancellationToken.None);
            }
            catch (CatalogException e)
            {
                totals.ObjectsFailed++;
                if (totals.SampleErrors.Count < 10)
                {
                    totals.SampleErrors.Add($"after for row {label}: {e.Message}");
                }

                await state!.RecordOutcomesAsync([SettledAction.Failed(intent!.Id, e.Message)], timeProvider.GetUtcNow(), CancellationToken.None);
            }
        }

        return totals;
    }

    /// <summary>A row's columns that are not SQL NULL: what finds it again in the catalog.</summary>
    private static KeyValuePair<string, string?>[] Present(PlannedRow row) => [.. row.Columns.Where(c => c.Value is not null)];

    private async Task<ActionRecord?> RecordAfterAsync(IStateStore? state, GateRun run, RecordsPolicy policy, string label, ActionOutcome outcome, string? error, CancellationToken cancellationToken)
    {
        if (state is null || run.DryRun)
        {
            return null;
        }

        var action = new ActionRecord(0, run.RunId, policy.Name, policy.Store, ActionKind.After, $"row {label}", 0, $"row {label}",
            policy.After ?? string.Empty, null, null, outcome, error, timeProvider.GetUtcNow());
        return (await state.RecordIntentAsync([action], cancellationToken))[0];
    }
}
