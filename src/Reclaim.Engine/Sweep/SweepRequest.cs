using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine.Planning;

namespace Reclaim.Engine;

/// <summary>What a sweep (plan, then apply) is asked to do: <see cref="ReclaimEngine.SweepAsync"/>.</summary>
public sealed record SweepRequest
{
    /// <summary>Policy names; empty (the default) selects every policy of a planned kind.</summary>
    public IReadOnlyList<string> Policies { get; init; } = [];

    /// <summary>Who sweeps, as recorded (<c>cli:USER</c>, <c>api:NAME</c>, <c>schedule:N</c>).</summary>
    public required string Actor { get; init; }

    /// <summary>Plan and re-check only: nothing is touched; the run is recorded as a dry run without its actions.</summary>
    public bool DryRun { get; init; }

    /// <summary>Accept a grace period below <c>min_age_floor</c> (<c>--force</c>).</summary>
    public bool Force { get; init; }

    /// <summary>The run's id when the caller announced it already (the HTTP API's <c>Location</c>); a new one when <see langword="null"/>.</summary>
    public string? RunId { get; init; }

    /// <summary>Settings of the plan that differ from the config's (a compat route's <c>retention_days</c>); none when <see langword="null"/>.</summary>
    public PlanOptions? Options { get; init; }

    /// <summary>Listing progress; may be <see langword="null"/>.</summary>
    public IProgress<ScanProgress>? Progress { get; init; }

    /// <summary>The error recorded when planning is cancelled.</summary>
    public string CancelledReason { get; init; } = "cancelled while planning; nothing was touched";

    /// <summary>Called with the plan once it is made, before anything is recorded or applied (to show it); may be <see langword="null"/>.</summary>
    public Action<Plan>? Planned { get; init; }

    /// <summary>
    /// Asked before a sweep that is not dry removes anything: <see langword="false"/> ends it with nothing touched
    /// and no run recorded. <see langword="null"/> (the default) goes on without asking (<c>--yes</c>, the server).
    /// </summary>
    public Func<Plan, bool>? Confirm { get; init; }
}

/// <summary>How a sweep ended.</summary>
/// <param name="Plan">The plan it made.</param>
/// <param name="Result">The applied run, or <see langword="null"/> when the plan was refused entirely or the sweep not confirmed.</param>
/// <param name="Refusal">The run recorded for a plan refused entirely (nothing touched), or <see langword="null"/>.</param>
public sealed record SweepOutcome(Plan Plan, RunResult? Result, RunRecord? Refusal)
{
    /// <summary>Whether confirmation was declined: nothing was touched or recorded.</summary>
    public bool Declined => Result is null && Refusal is null;
}
