using Reclaim.Core.State;
using Reclaim.Engine.Gate;

namespace Reclaim.Engine;

/// <summary>The outcome of a run that touched (or, dry, would have touched) stores.</summary>
/// <param name="Run">The run as recorded (for a dry run, as it would have been).</param>
/// <param name="Totals">What was done.</param>
/// <param name="PerPolicy">Totals by policy name.</param>
/// <param name="Recorded">Whether the run is in state (<c>reclaim runs show</c> finds its id): always, except a dry run not asked to be recorded.</param>
public sealed record RunResult(RunRecord Run, GateTotals Totals, IReadOnlyDictionary<string, GateTotals> PerPolicy, bool Recorded = true);
