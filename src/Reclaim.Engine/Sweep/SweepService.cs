using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine.Apply;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Runs;

namespace Reclaim.Engine.Sweep;

/// <summary>
/// A sweep, as <c>reclaim sweep</c>, <c>POST /api/v1/runs</c> and the scheduler run it: plan the policies as a
/// recorded run, refuse the whole run when a guard refuses the whole plan, ask for confirmation, then apply.
/// </summary>
/// <param name="planning">Makes the plan.</param>
/// <param name="applier">Applies it.</param>
/// <param name="recorder">Records a refused plan.</param>
internal sealed class SweepService(PlanMaker planning, PlanApplier applier, RunRecorder recorder)
{
    /// <summary>Runs a sweep; see <see cref="ReclaimEngine.SweepAsync"/>.</summary>
    public async Task<SweepOutcome> SweepAsync(SweepRequest request, CancellationToken stopping, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        // Planning touches nothing: the soft stop ends it at once.
        Plan plan;
        using (var planningStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping))
        {
            plan = await planning.PlanRunAsync(request.Policies, request.Force, request.Progress, request.Actor, request.DryRun, request.RunId,
                request.CancelledReason, request.Options, planningStop.Token);
        }

        request.Planned?.Invoke(plan);
        if (plan.RefusedEntirely)
        {
            return new SweepOutcome(plan, null, await recorder.RecordRefusalAsync(plan, request.Actor, request.RunId, request.DryRun, CancellationToken.None));
        }

        if (!request.DryRun && plan.ObjectsAccepted > 0 && request.Confirm is { } confirm && !confirm(plan))
        {
            return new SweepOutcome(plan, null, null);
        }

        // A dry sweep is recorded as a run too (its actions are not), so the history shows it with its actor.
        var result = await applier.ApplyAsync(plan, request.Actor, request.DryRun, "sweep", request.RunId, recordDryRun: true, stopping, cancellationToken);
        return new SweepOutcome(plan, result, null);
    }
}
