using Microsoft.Extensions.Logging;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Records;
using Reclaim.Engine.Runs;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.Apply;

/// <summary>
/// Applying a plan as one run: the plan verified against the config, every earlier run settled, then each policy's
/// groups (or rows) through the gate, a refused policy left alone, the run recorded before and after.
/// </summary>
/// <param name="workspace">The config's stores, catalogs and state.</param>
/// <param name="timeProvider">The clock of recorded times.</param>
/// <param name="loggerFactory">Logging.</param>
/// <param name="recorder">Records the run.</param>
/// <param name="planning">The catalogs of the protecting queries, as at planning.</param>
internal sealed class PlanApplier(Workspace workspace, TimeProvider timeProvider, ILoggerFactory loggerFactory, RunRecorder recorder, PlanMaker planning)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Reclaim.Engine");

    private ReclaimConfig Config => workspace.Config;

    /// <summary>Applies exactly <paramref name="plan"/>; see <see cref="ReclaimEngine.ApplyAsync"/>.</summary>
    public async Task<RunResult> ApplyAsync(Plan plan, string actor, bool dryRun, string kind, string? runId, bool recordDryRun, CancellationToken stopping, CancellationToken cancellationToken)
    {
        new PlanVerifier(Config).Verify(plan);

        var newRun = recorder.NewRun(kind, actor, plan.Policies.Select(p => p.Policy), dryRun, runId);
        var state = dryRun && !recordDryRun ? null : await workspace.StateAsync(cancellationToken);
        if (state is not null && !dryRun)
        {
            await new RunReconciler(workspace, state, timeProvider, loggerFactory).SettleAllAsync(cancellationToken);
        }

        await using var recorded = await recorder.StartAsync(state, newRun, cancellationToken);
        var run = recorded.Run;
        var totals = new GateTotals();
        var perPolicy = new Dictionary<string, GateTotals>(StringComparer.Ordinal);
        var status = RunStatus.Succeeded;
        string? error = null;
        try
        {
            if (plan.RefusedEntirely)
            {
                var reason = plan.Guards.Concat(plan.Policies.SelectMany(p => p.Guards.Select(g => g with { Message = $"policy '{p.Policy}': {g.Message}" }))).First(g => !g.Passed);
                status = RunStatus.Refused;
                error = $"guard {reason.Guard} refused the plan: {reason.Message}";
                throw new GuardRefusedException(error);
            }

            var gate = new DestructiveGate(dryRun ? NullState.Instance : state!, timeProvider, loggerFactory.CreateLogger<DestructiveGate>());
            var gateRun = new GateRun(run.Id, actor, dryRun) { Stopping = stopping };
            var records = new RecordsApplier(workspace, timeProvider);
            foreach (var policyPlan in plan.Policies)
            {
                if (stopping.IsCancellationRequested || cancellationToken.IsCancellationRequested)
                {
                    totals.Stopped = true;
                    break;
                }

                var policy = Config.Policies.First(p => string.Equals(p.Name, policyPlan.Policy, StringComparison.Ordinal));
                if (policyPlan.Refused)
                {
                    // A refused policy is refused alone: nothing of it is touched, and the others go on.
                    perPolicy[policy.Name] = new GateTotals();
                    continue;
                }

                var done = policy switch
                {
                    RecordsPolicy recordsPolicy => await records.ApplyAsync(gate, gateRun, state, recordsPolicy, policyPlan, cancellationToken),
                    LayoutPolicy layoutPolicy => await RemoveGroupsAsync(gate, gateRun, PlanVerifier.Effective(layoutPolicy, policyPlan), policyPlan, plan.CreatedAt, cancellationToken),
                    _ => throw new PlanFileException($"the plan's policy '{policy.Name}' is of type {policy.Kind.Name()}, which plans are not made of"),
                };
                perPolicy[policy.Name] = done;
                totals.Add(done);
            }

            (status, error) = RunRecorder.EndOf(totals);
            if (status == RunStatus.Succeeded && plan.Refused)
            {
                (status, error) = (RunStatus.Refused, $"refused: {string.Join("; ", RunSummaries.RefusalReasons(plan))}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            (status, error) = (RunStatus.Interrupted, "cancelled: the store requests in flight were abandoned; their actions stay pending until the next runs, restore, sweep or trash purge settles them from the store");
            throw;
        }
        catch (Exception e) when (status != RunStatus.Refused)
        {
            (status, error) = (RunStatus.Failed, e.Message);
            throw;
        }
        finally
        {
            run = await recorded.FinishAsync(status, RunSummaries.Of(totals, perPolicy, plan, recorded.Clock.ElapsedMilliseconds), error);
            Log.RunFinished(_logger, run.Id, run.Kind, status.ToString(), totals.ObjectsDone, totals.BytesDone, totals.ObjectsSkipped, totals.ObjectsFailed, recorded.Clock.ElapsedMilliseconds);
        }

        return new RunResult(run, totals, perPolicy, recorded.Recorded);
    }

    /// <summary>A layout policy's proposed groups through the gate, which re-checks every protecting query of the policy (a list: each, on its own catalog).</summary>
    private Task<GateTotals> RemoveGroupsAsync(DestructiveGate gate, GateRun gateRun, LayoutPolicy policy, PolicyPlan policyPlan, DateTimeOffset planned, CancellationToken cancellationToken)
    {
        var queries = policy.ProtectingQueries.Select(q => new ProtectingQuery(planning.ProtectingCatalog(policy, q, planned), q.Query)).ToList();
        var removal = new GroupRemoval(policyPlan, workspace.Store(policy.Store), queries.FirstOrDefault()?.Catalog,
            queries.FirstOrDefault()?.Query, policy.Layout, policyPlan.MinAge, Config.Trash.Prefix) { Queries = queries };
        return gate.RemoveGroupsAsync(gateRun, removal, cancellationToken);
    }
}
