using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Planning;

namespace Reclaim.Server.Compat;

/// <summary>A compat route's run once its wait is over: the run, and whether it finished within the wait.</summary>
/// <param name="Run">The run the coordinator started.</param>
/// <param name="Finished">Whether it finished before the route's <c>wait</c> passed.</param>
/// <param name="Actions">A real run's recorded actions (empty for a dry run or an unfinished run).</param>
internal sealed record CompatRun(TrackedRun Run, bool Finished, IReadOnlyList<ActionRecord> Actions);

/// <summary>
/// What the compat routes share: they start a run through the <see cref="RunCoordinator"/> (the same plan, guards,
/// gate and history as <c>POST /api/v1/runs</c>) and wait for it up to their configured <c>wait</c>.
/// </summary>
internal static class CompatRuns
{
    /// <summary>Bytes in the MB of the replaced endpoints' <c>*_mb</c> fields: 2^20.</summary>
    public const double BytesPerMb = 1024 * 1024;

    /// <summary>Bytes as MB with two decimals, as the replaced endpoints wrote them.</summary>
    public static double Mb(long bytes) => Math.Round(bytes / BytesPerMb, 2);

    /// <summary>
    /// Starts a run and waits for it: up to <paramref name="wait"/>, or until the client goes away (the run goes on
    /// either way). A finished real run's actions are read back from state.
    /// </summary>
    /// <returns>The run, or the problem that kept it from starting (an unknown policy, a policy busy in another run).</returns>
    public static async Task<(CompatRun? Run, ProblemHttpResult? Problem)> StartAsync(
        RunCoordinator coordinator, ReclaimEngine engine, TimeProvider timeProvider, IReadOnlyList<string> policies, bool dryRun, string actor,
        PlanOptions options, TimeSpan wait, CancellationToken cancellationToken)
    {
        TrackedRun run;
        try
        {
            run = coordinator.Start(policies, dryRun, actor, options);
        }
        catch (UsageException e)
        {
            return (null, TypedResults.Problem(e.Message, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Cannot run"));
        }
        catch (PolicyBusyException e)
        {
            return (null, TypedResults.Problem(e.Message, statusCode: StatusCodes.Status409Conflict, title: "Policy busy",
                extensions: new Dictionary<string, object?> { ["run_id"] = e.RunId }));
        }

        try
        {
            await run.Finished.WaitAsync(wait, timeProvider, cancellationToken);
        }
        catch (TimeoutException)
        {
            return (new CompatRun(run, false, []), null);
        }

        IReadOnlyList<ActionRecord> actions = [];
        if (!dryRun && run.Result is not null)
        {
            (_, actions) = await engine.RunAsync(run.Id, cancellationToken);
        }

        return (new CompatRun(run, true, actions), null);
    }

    /// <summary>The HTTP status of a finished run's answer: 200 when it ran (some actions may have failed), 422 when a guard refused it, 500 when it failed.</summary>
    public static int StatusCode(TrackedRun run) => run.Status switch
    {
        "refused" => StatusCodes.Status422UnprocessableEntity,
        "failed" => StatusCodes.Status500InternalServerError,
        _ => StatusCodes.Status200OK,
    };

    /// <summary>The <c>Location</c> of a run in the history API.</summary>
    public static string Location(TrackedRun run) => $"/api/v1/runs/{run.Id}";

    /// <summary>Objects the gate removed (or, in a dry run, would remove) for <paramref name="policies"/>, and their bytes.</summary>
    public static (long Objects, long Bytes, long Failed, List<string> Errors) Done(TrackedRun run, IEnumerable<string> policies)
    {
        long objects = 0, bytes = 0, failed = 0;
        var errors = new List<string>();
        foreach (var policy in policies)
        {
            if (run.Result?.PerPolicy.GetValueOrDefault(policy) is { } done)
            {
                objects += done.ObjectsDone;
                bytes += done.BytesDone;
                failed += done.ObjectsFailed;
                errors.AddRange(done.SampleErrors);
            }
        }

        if (run.Error is not null)
        {
            errors.Insert(0, run.Error);
        }

        return (objects, bytes, failed, errors);
    }
}
