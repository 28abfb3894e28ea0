using System.Diagnostics;
using System.Globalization;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.Runs;

/// <summary>
/// A run's life in state, written once for every kind of run (apply, sweep, restore, purge, a queue cycle): its record
/// before anything is touched, its heartbeat while it runs, and its status, summary and error when it ends. Runs that
/// end before they start (a refused plan, a plan that could not be made) are recorded whole at once.
/// </summary>
/// <param name="workspace">The config's state.</param>
/// <param name="timeProvider">The clock of every recorded time.</param>
internal sealed class RunRecorder(Workspace workspace, TimeProvider timeProvider)
{
    /// <summary>A new run, running from now, owned by this process.</summary>
    /// <param name="kind">The run's kind: <c>apply</c>, <c>sweep</c>, <c>restore</c>, <c>purge</c> or <c>queue</c>.</param>
    /// <param name="actor">Who started it.</param>
    /// <param name="policies">Its policies (stores for a restore, the queue for a queue cycle), joined with <c>,</c>.</param>
    /// <param name="dryRun">Whether it is a dry run.</param>
    /// <param name="runId">Its id when the caller announced one already; a new one (<see cref="RunIds.New"/>) when <see langword="null"/>.</param>
    /// <returns>The run record.</returns>
    public RunRecord NewRun(string kind, string actor, IEnumerable<string> policies, bool dryRun, string? runId = null) =>
        new(runId ?? RunIds.New(timeProvider.GetUtcNow()), kind, timeProvider.GetUtcNow(), null, RunStatus.Running, actor, string.Join(',', policies), dryRun, null,
            Owner: RunOwner.Current, HeartbeatAt: timeProvider.GetUtcNow());

    /// <summary>Records <paramref name="run"/> as started in <paramref name="state"/> and starts its heartbeat; with no state, only times it.</summary>
    /// <param name="state">Where the run is recorded; <see langword="null"/> for a dry run that is not recorded.</param>
    /// <param name="run">A run from <see cref="NewRun"/>.</param>
    /// <param name="cancellationToken">Cancels recording the start.</param>
    /// <returns>The running run; finish it with <see cref="RecordedRun.FinishAsync"/>.</returns>
    public async Task<RecordedRun> StartAsync(IStateStore? state, RunRecord run, CancellationToken cancellationToken)
    {
        if (state is not null)
        {
            await state.StartRunAsync(run, cancellationToken);
        }

        return new RecordedRun(state, run, RunHeartbeat.Start(state, run.Id, timeProvider), timeProvider);
    }

    /// <summary>
    /// Runs <paramref name="body"/> through the gate as <paramref name="run"/> (restore, purge): recorded in
    /// <paramref name="state"/> unless the run is dry, its status from the totals of its parts.
    /// </summary>
    /// <param name="gate">The gate, on <paramref name="state"/>.</param>
    /// <param name="state">The state; a dry run records nothing in it.</param>
    /// <param name="run">The run.</param>
    /// <param name="body">The work: the gate's totals per part (store).</param>
    /// <param name="stopping">The soft stop, handed to the gate.</param>
    /// <param name="cancellationToken">Cancels recording the start.</param>
    /// <returns>The run as it ended, with its totals.</returns>
    public async Task<RunResult> RunThroughGateAsync(
        DestructiveGate gate,
        IStateStore state,
        RunRecord run,
        Func<DestructiveGate, GateRun, Task<Dictionary<string, GateTotals>>> body,
        CancellationToken stopping,
        CancellationToken cancellationToken)
    {
        await using var recorded = await StartAsync(run.DryRun ? null : state, run, cancellationToken);
        var totals = new GateTotals();
        Dictionary<string, GateTotals> parts = new(StringComparer.Ordinal);
        var status = RunStatus.Failed;
        string? error = null;
        try
        {
            parts = await body(gate, new GateRun(run.Id, run.Actor, run.DryRun) { Stopping = stopping });
            foreach (var part in parts.Values)
            {
                totals.Add(part);
            }

            (status, error) = EndOf(totals);
        }
        catch (Exception e)
        {
            error = e.Message;
            throw;
        }
        finally
        {
            run = await recorded.FinishAsync(status, RunSummaries.Of(totals, parts), error);
        }

        return new RunResult(run, totals, parts, !run.DryRun);
    }

    /// <summary>Records a refused plan as a run of kind <c>sweep</c> that ended refused, so refusals are in the history too.</summary>
    /// <param name="plan">The refused plan.</param>
    /// <param name="actor">Who asked.</param>
    /// <param name="runId">The run's id when the caller announced it already; a new one when <see langword="null"/>.</param>
    /// <param name="dryRun">Whether the refused plan was for a dry run.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The recorded run.</returns>
    public Task<RunRecord> RecordRefusalAsync(Plan plan, string actor, string? runId, bool dryRun, CancellationToken cancellationToken) =>
        RecordEndedAsync(NewRun("sweep", actor, plan.Policies.Select(p => p.Policy), dryRun, runId), RunStatus.Refused,
            new RunSummary { Refused = RunSummaries.RefusalReasons(plan) }.ToJson(), $"refused: {string.Join("; ", RunSummaries.RefusalReasons(plan))}", cancellationToken);

    /// <summary>Records a run of kind <c>sweep</c> that failed before anything was applied, its summary <c>{"error": "..."}</c>.</summary>
    /// <param name="policies">The policies the run was for.</param>
    /// <param name="actor">Who started it.</param>
    /// <param name="dryRun">Whether it was a dry run.</param>
    /// <param name="error">Why it failed, one line.</param>
    /// <param name="runId">The run's id when the caller announced it already; a new one when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The recorded run.</returns>
    public Task<RunRecord> RecordFailureAsync(IReadOnlyList<string> policies, string actor, bool dryRun, string error, string? runId, CancellationToken cancellationToken) =>
        RecordEndedAsync(NewRun("sweep", actor, policies, dryRun, runId), RunStatus.Failed, new RunSummary { Error = error }.ToJson(), error, cancellationToken);

    /// <summary>
    /// How a run that went through to its end stands, and why when not plainly: interrupted when it was stopped
    /// early or left actions pending, partially failed when an action failed.
    /// </summary>
    /// <param name="totals">What the gate did.</param>
    /// <returns>The status and its error, <see langword="null"/> when it succeeded.</returns>
    public static (RunStatus Status, string? Error) EndOf(GateTotals totals)
    {
        if (totals.Stopped || totals.ObjectsPending > 0)
        {
            var error = string.Create(CultureInfo.InvariantCulture,
                $"stopped on request (Ctrl+C, SIGTERM or a shutdown) before it finished: {totals.GroupsNotStarted} groups or objects were not started; every batch started was finished and recorded");
            if (totals.ObjectsPending > 0)
            {
                error += string.Create(CultureInfo.InvariantCulture,
                    $"; {totals.ObjectsPending} actions were in flight when it was cancelled and stay pending until the next runs, restore, sweep or trash purge settles them from the store");
            }

            return (RunStatus.Interrupted, error);
        }

        return totals.ObjectsFailed > 0
            ? (RunStatus.PartiallyFailed, string.Create(CultureInfo.InvariantCulture, $"{totals.ObjectsFailed} actions failed, each recorded with its error; first: {totals.SampleErrors.FirstOrDefault()}"))
            : (RunStatus.Succeeded, null);
    }

    private async Task<RunRecord> RecordEndedAsync(RunRecord run, RunStatus status, string summary, string error, CancellationToken cancellationToken)
    {
        var state = await workspace.StateAsync(cancellationToken);
        await state.StartRunAsync(run, cancellationToken);
        var finishedAt = timeProvider.GetUtcNow();
        await state.FinishRunAsync(run.Id, status, finishedAt, summary, error, cancellationToken);
        return run with { Status = status, FinishedAt = finishedAt, Summary = summary, Error = error };
    }
}

/// <summary>A run in progress: its heartbeat beats until it is finished (or disposed).</summary>
internal sealed class RecordedRun : IAsyncDisposable
{
    private readonly IStateStore? _state;
    private readonly TimeProvider _timeProvider;
    private RunHeartbeat? _heartbeat;

    internal RecordedRun(IStateStore? state, RunRecord run, RunHeartbeat? heartbeat, TimeProvider timeProvider)
    {
        _state = state;
        Run = run;
        _heartbeat = heartbeat;
        _timeProvider = timeProvider;
    }

    /// <summary>The run as started (as finished, once <see cref="FinishAsync"/> returned).</summary>
    public RunRecord Run { get; private set; }

    /// <summary>Whether the run is in state (a dry run that is not recorded is not).</summary>
    public bool Recorded => _state is not null;

    /// <summary>Since the run started.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>
    /// Stops the heartbeat and records the run's end: its status, summary and error. The write is not cancellable:
    /// a run that was cancelled is still recorded as it ended.
    /// </summary>
    /// <param name="status">How it ended.</param>
    /// <param name="summary">Its summary as JSON (<see cref="RunSummary"/>).</param>
    /// <param name="error">Why it did not simply succeed, or <see langword="null"/>.</param>
    /// <returns>The finished run.</returns>
    public async Task<RunRecord> FinishAsync(RunStatus status, string summary, string? error)
    {
        await DisposeAsync();
        var finishedAt = _timeProvider.GetUtcNow();
        if (_state is not null)
        {
            await _state.FinishRunAsync(Run.Id, status, finishedAt, summary, error, CancellationToken.None);
        }

        Run = Run with { FinishedAt = finishedAt, Status = status, Summary = summary, Error = error };
        return Run;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_heartbeat is { } heartbeat)
        {
            _heartbeat = null;
            await heartbeat.DisposeAsync();
        }
    }
}
