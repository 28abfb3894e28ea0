using Microsoft.Extensions.Logging;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine.Apply;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.History;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Runs;
using Reclaim.Engine.Runtime;
using Reclaim.Engine.Sweep;
using Reclaim.Engine.Trash;
using Reclaim.Engine.Usage;

namespace Reclaim.Engine;

/// <summary>
/// Everything Reclaim does, behind one door: plan, apply, sweep, restore, purge, history, usage, validate and migrate.
/// The CLI verbs, the HTTP endpoints and the scheduler are thin callers of this class; each use case lives in its own
/// class (docs/architecture.md), and every destructive call goes through <see cref="Gate.DestructiveGate"/>.
/// </summary>
public sealed class ReclaimEngine
{
    private readonly Workspace _workspace;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly RunRecorder _recorder;
    private readonly PlanMaker _planning;
    private readonly PlanApplier _applier;

    /// <summary>Creates the engine of one config.</summary>
    /// <param name="workspace">The config's stores, catalogs and state.</param>
    /// <param name="timeProvider">The clock of every age and recorded time.</param>
    /// <param name="loggerFactory">Logging.</param>
    public ReclaimEngine(Workspace workspace, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        _workspace = workspace;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _recorder = new RunRecorder(workspace, timeProvider);
        _planning = new PlanMaker(workspace, timeProvider, _recorder, loggerFactory.CreateLogger("Reclaim.Engine"));
        _applier = new PlanApplier(workspace, timeProvider, loggerFactory, _recorder, _planning);
    }

    /// <summary>The parameter a retention policy's keep query may use: <c>@cutoff</c>.</summary>
    public const string CutoffParameter = PlanMaker.CutoffParameter;

    /// <summary>The config.</summary>
    public ReclaimConfig Config => _workspace.Config;

    /// <summary>The deletion-request queue: worker, status, retry, enqueue.</summary>
    public Queue.QueueService Queue => new(_workspace, _timeProvider, _loggerFactory);

    /// <summary>Partitioned runs: several participants planning and applying one run's key ranges.</summary>
    public Partitioning.PartitionedRuns Partitioned => new(this, _workspace, _timeProvider, _loggerFactory);

    /// <summary>Whether plans are made of <paramref name="policy"/> (orphans, retention, records; a queue policy is worked by the queue worker).</summary>
    /// <param name="policy">A policy.</param>
    /// <returns><see langword="true"/> for a layout or records policy.</returns>
    public static bool IsPlanned(PolicyConfig policy) => PlanMaker.IsPlanned(policy);

    /// <summary>Makes a plan: a dry run of the selected policies (all when none are named), with guard verdicts.</summary>
    /// <param name="policies">Policy names; empty selects every policy of a planned kind.</param>
    /// <param name="force">Accept a grace period below <c>min_age_floor</c>.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="UsageException">A named policy does not exist or its kind is not planned.</exception>
    /// <exception cref="Core.Catalogs.CatalogException">A references query failed.</exception>
    public Task<Plan> PlanAsync(IReadOnlyList<string> policies, bool force, IProgress<ScanProgress>? progress, CancellationToken cancellationToken) =>
        _planning.PlanAsync(policies, force, PlanOptions.None, progress, cancellationToken);

    /// <summary>
    /// Makes a plan with settings that differ from the config's for this plan only (<paramref name="options"/>). A
    /// retention policy's <c>keep</c> query may use <c>@cutoff</c>: the plan's start minus its effective
    /// <c>max_age</c>, in UTC and whole seconds (see <see cref="Cutoff"/>), bound again when the plan is applied.
    /// </summary>
    /// <param name="policies">Policy names; empty selects every policy of a planned kind.</param>
    /// <param name="force">Accept a grace period below <c>min_age_floor</c>.</param>
    /// <param name="options">Per-plan settings.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="UsageException">A named policy does not exist or is not planned, or a <c>max_age</c> override names no selected retention policy or is not positive.</exception>
    /// <exception cref="Core.Catalogs.CatalogException">A references query failed.</exception>
    public Task<Plan> PlanAsync(IReadOnlyList<string> policies, bool force, PlanOptions options, IProgress<ScanProgress>? progress, CancellationToken cancellationToken) =>
        _planning.PlanAsync(policies, force, options, progress, cancellationToken);

    /// <summary>
    /// Makes the plan of a run that is recorded in state: as <see cref="PlanAsync(IReadOnlyList{string}, bool, PlanOptions, IProgress{ScanProgress}?, CancellationToken)"/>,
    /// and when planning fails (a query or store failing, or cancellation) records the run as <see cref="RunStatus.Failed"/>
    /// with the error in its summary (<c>{"error": "..."}</c>) before rethrowing. A failure to record it is logged.
    /// </summary>
    /// <param name="policies">Policy names; empty selects every policy of a planned kind.</param>
    /// <param name="force">Accept a grace period below <c>min_age_floor</c>.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="actor">Who starts the run, as recorded.</param>
    /// <param name="dryRun">Whether the run is a dry run (recorded as such).</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <param name="runId">The run's id when the caller has announced it already; a new one when <see langword="null"/>.</param>
    /// <param name="cancelledReason">The error recorded when planning is cancelled.</param>
    /// <param name="options">Per-plan settings; none when <see langword="null"/>.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="UsageException">A named policy does not exist or is not planned, or an option is invalid (no run is recorded).</exception>
    /// <exception cref="Core.Catalogs.CatalogException">A references query failed (recorded).</exception>
    public Task<Plan> PlanRunAsync(IReadOnlyList<string> policies, bool force, IProgress<ScanProgress>? progress, string actor, bool dryRun, CancellationToken cancellationToken,
        string? runId = null, string cancelledReason = "cancelled while planning; nothing was touched", PlanOptions? options = null) =>
        _planning.PlanRunAsync(policies, force, progress, actor, dryRun, runId, cancelledReason, options, cancellationToken);

    /// <summary>
    /// Applies exactly <paramref name="plan"/>: every batch re-checked by the gate first. A policy a guard refused is
    /// skipped alone and the others are applied; the run is then recorded <see cref="RunStatus.Refused"/> unless some
    /// action failed, with every refusal in its summary. A plan refused entirely is recorded as a refused run.
    /// </summary>
    /// <param name="plan">A plan made from this config.</param>
    /// <param name="actor">Who applies it.</param>
    /// <param name="dryRun">Re-check and count only: nothing is touched.</param>
    /// <param name="cancellationToken">The hard stop: abandons the store requests in flight (their actions stay pending until the run is reconciled).</param>
    /// <param name="kind">The run's kind as recorded: <c>apply</c> (a plan file) or <c>sweep</c> (plan then apply).</param>
    /// <param name="runId">The run's id (from <see cref="RunIds.New"/>) when the caller has announced it already; a new one when <see langword="null"/>.</param>
    /// <param name="recordDryRun">Record a dry run in state as a run (its actions are not recorded).</param>
    /// <param name="stopping">The soft stop: no new sub-batch starts, the ones in flight finish and record, the run ends <see cref="RunStatus.Interrupted"/>.</param>
    /// <returns>The run.</returns>
    /// <exception cref="PlanFileException">The plan names a policy the config lacks or defines differently now, or its groups are not what that policy makes.</exception>
    /// <exception cref="Gate.GuardRefusedException">A guard refused the whole plan (the refusal is recorded as a run).</exception>
    /// <exception cref="Core.Catalogs.CatalogException">A re-check query failed (the run is recorded as failed).</exception>
    public Task<RunResult> ApplyAsync(Plan plan, string actor, bool dryRun, CancellationToken cancellationToken, string kind = "apply", string? runId = null, bool recordDryRun = false, CancellationToken stopping = default) =>
        _applier.ApplyAsync(plan, actor, dryRun, kind, runId, recordDryRun, stopping, cancellationToken);

    /// <summary>
    /// Sweeps: plans the policies as a recorded run (a planning failure is recorded), records a plan a guard refused
    /// entirely as a refused run and touches nothing, asks <see cref="SweepRequest.Confirm"/>, then applies the plan
    /// as a run of kind <c>sweep</c> (a dry sweep is recorded without its actions). The CLI's <c>reclaim sweep</c>, the
    /// API's runs and the scheduler all sweep through here.
    /// </summary>
    /// <param name="request">What to sweep.</param>
    /// <param name="stopping">The soft stop: ends planning at once, and no new sub-batch of the run starts.</param>
    /// <param name="cancellationToken">The hard stop: also abandons the store requests in flight.</param>
    /// <returns>The plan and how the sweep ended.</returns>
    /// <exception cref="UsageException">A named policy does not exist or is not planned.</exception>
    /// <exception cref="Core.Catalogs.CatalogException">A query failed (the run is recorded as failed).</exception>
    public Task<SweepOutcome> SweepAsync(SweepRequest request, CancellationToken stopping, CancellationToken cancellationToken) =>
        new SweepService(_planning, _applier, _recorder).SweepAsync(request, stopping, cancellationToken);

    /// <summary>
    /// Restores a run's quarantined objects (all, or only <paramref name="keys"/>) as a new run of kind <c>restore</c>:
    /// every object of the run that lies in the trash, whatever its recorded outcome; the run is settled first.
    /// </summary>
    /// <param name="runId">The run that quarantined them.</param>
    /// <param name="keys">Original keys to restore; empty restores all.</param>
    /// <param name="actor">Who asks.</param>
    /// <param name="cancellationToken">The hard stop: abandons the moves in flight.</param>
    /// <param name="stopping">The soft stop: no new batch of moves starts; the run ends interrupted.</param>
    /// <returns>The restore run.</returns>
    /// <exception cref="UsageException">No such run, it is still running, or the trash holds nothing of it (or none of the given keys).</exception>
    public Task<RunResult> RestoreAsync(string runId, IReadOnlyList<string> keys, string actor, CancellationToken cancellationToken, CancellationToken stopping = default) =>
        Trash().RestoreAsync(runId, keys, actor, stopping, cancellationToken);

    /// <summary>
    /// Deletes quarantined objects whose quarantine run is older than <paramref name="olderThan"/> (default: the trash
    /// retention), in every store; an object whose action is not settled is left alone.
    /// </summary>
    /// <param name="olderThan">Minimum age of the quarantine; <c>trash.retention</c> when <see langword="null"/>.</param>
    /// <param name="actor">Who asks.</param>
    /// <param name="dryRun">Count only (no run is settled either).</param>
    /// <param name="cancellationToken">The hard stop.</param>
    /// <param name="stopping">The soft stop: no new batch starts; the run ends interrupted.</param>
    /// <returns>The purge run.</returns>
    public Task<RunResult> PurgeAsync(TimeSpan? olderThan, string actor, bool dryRun, CancellationToken cancellationToken, CancellationToken stopping = default) =>
        Trash().PurgeAsync(olderThan, actor, dryRun, stopping, cancellationToken);

    /// <inheritdoc cref="RunHistory.RunsAsync"/>
    public Task<IReadOnlyList<RunRecord>> RunsAsync(int limit, CancellationToken cancellationToken) => History().RunsAsync(limit, cancellationToken);

    /// <inheritdoc cref="RunHistory.RunAsync"/>
    public Task<(RunRecord Run, IReadOnlyList<ActionRecord> Actions)> RunAsync(string runId, CancellationToken cancellationToken) => History().RunAsync(runId, cancellationToken);

    /// <inheritdoc cref="RunHistory.ReclaimedByDayAsync"/>
    public Task<IReadOnlyList<ReclaimedDay>> ReclaimedByDayAsync(int days, CancellationToken cancellationToken) => History().ReclaimedByDayAsync(days, cancellationToken);

    /// <inheritdoc cref="UsageService.UsageAsync"/>
    public Task<IReadOnlyList<UsageRow>> UsageAsync(string? storeName, int depth, IProgress<ScanProgress>? progress, CancellationToken cancellationToken) =>
        Usage().UsageAsync(storeName, depth, progress, cancellationToken);

    /// <inheritdoc cref="UsageService.UsageReportAsync"/>
    public Task<UsageReport> UsageReportAsync(string? storeName, int depth, bool reclaimable, IProgress<ScanProgress>? progress, CancellationToken cancellationToken) =>
        Usage().UsageReportAsync(storeName, depth, reclaimable, progress, cancellationToken);

    /// <inheritdoc cref="UsageService.UsageByAsync"/>
    public Task<VariableUsageReport> UsageByAsync(string? storeName, string variable, IProgress<ScanProgress>? progress, CancellationToken cancellationToken) =>
        Usage().UsageByAsync(storeName, variable, progress, cancellationToken);

    /// <inheritdoc cref="WorkspaceChecks.ValidateAsync"/>
    public Task<IReadOnlyList<(string Component, bool Ok, string Detail)>> ValidateAsync(CancellationToken cancellationToken) => new WorkspaceChecks(_workspace).ValidateAsync(cancellationToken);

    /// <inheritdoc cref="WorkspaceChecks.MigrateAsync"/>
    public Task<int> MigrateAsync(CancellationToken cancellationToken) => new WorkspaceChecks(_workspace).MigrateAsync(cancellationToken);

    /// <summary>Records a refused plan as a run, so refusals are in the history too.</summary>
    /// <param name="plan">The refused plan.</param>
    /// <param name="actor">Who asked.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <param name="runId">The run's id when the caller has announced it already; a new one when <see langword="null"/>.</param>
    /// <param name="dryRun">Whether the refused plan was for a dry run.</param>
    /// <returns>The recorded run.</returns>
    public Task<RunRecord> RecordRefusalAsync(Plan plan, string actor, CancellationToken cancellationToken, string? runId = null, bool dryRun = false) =>
        _recorder.RecordRefusalAsync(plan, actor, runId, dryRun, cancellationToken);

    /// <summary>Records a run that failed before anything was applied as a <see cref="RunStatus.Failed"/> run of kind <c>sweep</c>, its summary <c>{"error": "..."}</c>.</summary>
    /// <param name="policies">The policies the run was for.</param>
    /// <param name="actor">Who started it.</param>
    /// <param name="dryRun">Whether it was a dry run.</param>
    /// <param name="error">Why it failed, one line.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <param name="runId">The run's id when the caller has announced it already; a new one when <see langword="null"/>.</param>
    /// <returns>The recorded run.</returns>
    public Task<RunRecord> RecordFailureAsync(IReadOnlyList<string> policies, string actor, bool dryRun, string error, CancellationToken cancellationToken, string? runId = null) =>
        _recorder.RecordFailureAsync(policies, actor, dryRun, error, runId, cancellationToken);

    /// <inheritdoc cref="RunSummaries.RefusalReasons"/>
    public static IReadOnlyList<string> RefusalReasons(Plan plan) => RunSummaries.RefusalReasons(plan);

    /// <inheritdoc cref="PlanMaker.Cutoff"/>
    public static DateTime Cutoff(DateTimeOffset start, TimeSpan maxAge) => PlanMaker.Cutoff(start, maxAge);

    /// <inheritdoc cref="PlanMaker.Select"/>
    public IReadOnlyList<PolicyConfig> SelectPolicies(IReadOnlyList<string> names) => _planning.Select(names);

    private TrashService Trash() => new(_workspace, _timeProvider, _loggerFactory, _recorder);

    private RunHistory History() => new(_workspace, _timeProvider, _loggerFactory);

    private UsageService Usage() => new(_workspace, _timeProvider, _planning);
}
