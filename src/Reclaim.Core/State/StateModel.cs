namespace Reclaim.Core.State;

/// <summary>What an action does to one object.</summary>
public enum ActionKind
{
    /// <summary>Remove the object; irreversible.</summary>
    Delete,

    /// <summary>Move the object under the trash prefix, restorable until the trash retention passes.</summary>
    Quarantine,

    /// <summary>Move a quarantined object back to its original key.</summary>
    Restore,

    /// <summary>Delete a quarantined object past the trash retention.</summary>
    Purge,

    /// <summary>A records policy's <c>after</c> statement for one row (a catalog write, run once the row's objects are gone).</summary>
    After,
}

/// <summary>Where an action stands.</summary>
public enum ActionOutcome
{
    /// <summary>Recorded before the store is touched; a run that crashed leaves its actions here.</summary>
    Pending,

    /// <summary>Done.</summary>
    Done,

    /// <summary>Not done on purpose: the gate's re-check found a reason (referenced now, changed, young, gone).</summary>
    Skipped,

    /// <summary>The store refused; <see cref="ActionRecord.Error"/> says why.</summary>
    Failed,
}

/// <summary>How a run ended.</summary>
public enum RunStatus
{
    /// <summary>In progress (or crashed: its actions show how far it got).</summary>
    Running,

    /// <summary>Every action done or skipped.</summary>
    Succeeded,

    /// <summary>Done with some actions failed (exit code 4).</summary>
    PartiallyFailed,

    /// <summary>A guard refused the plan; nothing was touched (exit code 3).</summary>
    Refused,

    /// <summary>The run stopped on an error (exit code 1).</summary>
    Failed,

    /// <summary>
    /// The run did not finish: it was stopped (Ctrl+C, SIGTERM, a shutdown) after recording what it had done, or
    /// its process died and the next command that touched it settled its actions from the store's state. Its
    /// <see cref="RunRecord.Error"/> says which.
    /// </summary>
    Interrupted,
}

/// <summary>One run as recorded in state.</summary>
/// <param name="Id">The run id: <c>yyyyMMdd-HHmmss-xxxxxx</c> (UTC start time and 6 random hex digits), sortable by time.</param>
/// <param name="Kind">What the run did: <c>sweep</c>, <c>apply</c>, <c>restore</c>, <c>purge</c>.</param>
/// <param name="StartedAt">When it started, UTC.</param>
/// <param name="FinishedAt">When it ended, UTC; <see langword="null"/> while running.</param>
/// <param name="Status">How it ended.</param>
/// <param name="Actor">Who started it (<c>cli:user@host</c>, a token name).</param>
/// <param name="Policies">The policies it applied, comma-separated.</param>
/// <param name="DryRun">Whether it was a dry run (no action touches a store).</param>
/// <param name="Summary">Totals as JSON (objects and bytes per outcome), or <see langword="null"/>.</param>
/// <param name="Error">
/// Why the run failed or was interrupted, in one line (the store, operation and key where a store failed), or
/// <see langword="null"/>.
/// </param>
/// <param name="Owner">
/// The process running it, <c>host:pid:start</c> (the process's start time in Unix milliseconds, so a reused pid is
/// not mistaken for it), or <see langword="null"/> (runs recorded before schema version 4).
/// </param>
/// <param name="HeartbeatAt">When its process last said it was alive, UTC; <see langword="null"/> when unknown.</param>
public sealed record RunRecord(
    string Id,
    string Kind,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    RunStatus Status,
    string Actor,
    string Policies,
    bool DryRun,
    string? Summary,
    string? Error = null,
    string? Owner = null,
    DateTimeOffset? HeartbeatAt = null);

/// <summary>One action on one object, as recorded in state before and after the store is touched.</summary>
/// <param name="Id">State-assigned id (0 before it is recorded).</param>
/// <param name="RunId">The run.</param>
/// <param name="Policy">The policy that proposed it.</param>
/// <param name="Store">The store's name.</param>
/// <param name="Kind">What it does.</param>
/// <param name="Key">The object's key.</param>
/// <param name="Size">The object's size in bytes, as planned.</param>
/// <param name="GroupKey">The group the object belongs to.</param>
/// <param name="Reason">Why the policy proposed it (for example <c>orphan: no reference renders to the group; newest object 3d old</c>).</param>
/// <param name="Evidence">What the gate saw just before acting (ETag or mtime), or <see langword="null"/>.</param>
/// <param name="TrashKey">For quarantine and restore: the key under the trash prefix.</param>
/// <param name="Outcome">Where it stands.</param>
/// <param name="Error">Why it failed or was skipped.</param>
/// <param name="At">When the outcome was recorded, UTC.</param>
public sealed record ActionRecord(
    long Id,
    string RunId,
    string Policy,
    string Store,
    ActionKind Kind,
    string Key,
    long Size,
    string GroupKey,
    string Reason,
    string? Evidence,
    string? TrashKey,
    ActionOutcome Outcome,
    string? Error,
    DateTimeOffset At);

/// <summary>What became of one recorded action, written once the store has answered (or the gate has decided).</summary>
/// <param name="ActionId">The action's id as <see cref="IStateStore.RecordIntentAsync"/> returned it.</param>
/// <param name="Outcome">Where it stands now: done, skipped or failed (pending only to say it is still unknown).</param>
/// <param name="Error">Why it failed or was skipped, or <see langword="null"/>.</param>
/// <param name="Evidence">What the gate saw of the object, when it has more to say than at intent; <see langword="null"/> keeps the recorded evidence.</param>
public readonly record struct SettledAction(long ActionId, ActionOutcome Outcome, string? Error = null, string? Evidence = null)
{
    /// <summary>An action done.</summary>
    /// <param name="actionId">The action.</param>
    /// <returns>The outcome.</returns>
    public static SettledAction Done(long actionId) => new(actionId, ActionOutcome.Done);

    /// <summary>An action failed, with the store's or the gate's reason.</summary>
    /// <param name="actionId">The action.</param>
    /// <param name="error">Why, in one line.</param>
    /// <returns>The outcome.</returns>
    public static SettledAction Failed(long actionId, string error) => new(actionId, ActionOutcome.Failed, error);

    /// <summary>An action not done on purpose.</summary>
    /// <param name="actionId">The action.</param>
    /// <param name="reason">Why, in one line.</param>
    /// <returns>The outcome.</returns>
    public static SettledAction Skipped(long actionId, string reason) => new(actionId, ActionOutcome.Skipped, reason);
}

/// <summary>Reclaim's own database: runs and actions (SQLite by default, PostgreSQL for several replicas).</summary>
public interface IStateStore : IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema; safe to call at every start.</summary>
    /// <param name="cancellationToken">Cancels the migration.</param>
    /// <returns>The schema version now in place.</returns>
    Task<int> MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Records a new run with status <see cref="RunStatus.Running"/>.</summary>
    /// <param name="run">The run.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    Task StartRunAsync(RunRecord run, CancellationToken cancellationToken);

    /// <summary>Records a run's end.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="status">How it ended.</param>
    /// <param name="finishedAt">When, UTC.</param>
    /// <param name="summary">Totals as JSON.</param>
    /// <param name="error">Why it failed or was interrupted, in one line; <see langword="null"/> when it did neither.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    Task FinishRunAsync(string runId, RunStatus status, DateTimeOffset finishedAt, string? summary, string? error, CancellationToken cancellationToken);

    /// <summary>Records that a running run's process is alive (<see cref="RunRecord.HeartbeatAt"/>).</summary>
    /// <param name="runId">The run.</param>
    /// <param name="at">Now, UTC.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    Task HeartbeatAsync(string runId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Marks a run <see cref="RunStatus.Interrupted"/> with <paramref name="reason"/> (appended to an error it has),
    /// provided it still has <paramref name="expected"/> status, so that two commands settling the same run, or a run
    /// that finishes meanwhile, do not overwrite each other. A run without an end time gets <paramref name="at"/>.
    /// </summary>
    /// <param name="runId">The run.</param>
    /// <param name="expected">The status it was read with.</param>
    /// <param name="at">Now, UTC.</param>
    /// <param name="reason">Why, in one line.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when the run was marked; <see langword="false"/> when its status had changed.</returns>
    Task<bool> InterruptRunAsync(string runId, RunStatus expected, DateTimeOffset at, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// The runs not settled: those recorded as <see cref="RunStatus.Running"/>, and those with actions still pending
    /// (intent recorded, outcome not), oldest first.
    /// </summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>Their ids.</returns>
    Task<IReadOnlyList<string>> UnsettledRunsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Records actions before the store is touched, in one transaction, and returns them with their ids.
    /// </summary>
    /// <param name="actions">Actions with <see cref="ActionRecord.Id"/> 0.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The same actions, in order, with ids.</returns>
    Task<IReadOnlyList<ActionRecord>> RecordIntentAsync(IReadOnlyList<ActionRecord> actions, CancellationToken cancellationToken);

    /// <summary>Records outcomes, in one transaction.</summary>
    /// <param name="outcomes">What became of each action.</param>
    /// <param name="at">When, UTC.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    Task RecordOutcomesAsync(IReadOnlyList<SettledAction> outcomes, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>The most recent runs, newest first.</summary>
    /// <param name="limit">How many, 1 or more.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The runs.</returns>
    Task<IReadOnlyList<RunRecord>> ListRunsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>One run.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The run, or <see langword="null"/> when there is none with that id.</returns>
    Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken);

    /// <summary>A run's actions in the order they were recorded, streamed.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The actions.</returns>
    IAsyncEnumerable<ActionRecord> ListActionsAsync(string runId, CancellationToken cancellationToken);
}
