using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reclaim.Core;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Planning;
using Reclaim.Core.Records;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Runtime;
using Reclaim.Engine.Usage;

namespace Reclaim.Engine;

/// <summary>The outcome of a run that touched (or, dry, would have touched) stores.</summary>
/// <param name="Run">The run as recorded (for a dry run, as it would have been).</param>
/// <param name="Totals">What was done.</param>
/// <param name="PerPolicy">Totals by policy name.</param>
/// <param name="Recorded">Whether the run is in state (<c>reclaim runs show</c> finds its id): always, except a dry run not asked to be recorded.</param>
public sealed record RunResult(RunRecord Run, GateTotals Totals, IReadOnlyDictionary<string, GateTotals> PerPolicy, bool Recorded = true);

/// <summary>Objects and bytes under one prefix.</summary>
/// <param name="Store">The store.</param>
/// <param name="Prefix">The prefix (the first N segments of the keys, ending in <c>/</c>), or a key with fewer segments.</param>
/// <param name="Objects">Objects.</param>
/// <param name="Bytes">Bytes.</param>
/// <param name="Oldest">The oldest object's modification time.</param>
/// <param name="Newest">The newest object's modification time.</param>
public sealed record UsageRow(string Store, string Prefix, long Objects, long Bytes, DateTimeOffset Oldest, DateTimeOffset Newest);

/// <summary>A store's totals and what they cost.</summary>
/// <param name="Store">The store.</param>
/// <param name="Objects">Objects (trash included).</param>
/// <param name="Bytes">Bytes (trash included).</param>
/// <param name="PricePerGbMonth">The configured price per GB-month (GB = 2^30 bytes, as S3-style bills count), or <see langword="null"/>.</param>
/// <param name="CostPerMonth">Bytes × price, or <see langword="null"/> when unpriced.</param>
/// <param name="Provider">An s3 store's <c>provider</c> (<c>aws</c>, <c>wasabi</c>, <c>r2</c>, <c>b2</c>, <c>generic</c>), or <see langword="null"/> when it names none.</param>
public sealed record UsageStore(string Store, long Objects, long Bytes, decimal? PricePerGbMonth, decimal? CostPerMonth, string? Provider = null);

/// <summary>What a policy would reclaim now (a dry run), and what that saves.</summary>
/// <param name="Policy">The policy.</param>
/// <param name="Store">Its store.</param>
/// <param name="Objects">Objects it would remove.</param>
/// <param name="Bytes">Bytes it would remove.</param>
/// <param name="SavingPerMonth">Bytes × the store's price, or <see langword="null"/> when unpriced.</param>
/// <param name="Refused">Whether a guard would refuse it.</param>
/// <param name="Cost">
/// On a store that names its <c>provider</c>: the plan's cost (bytes and $/month saving now and only after the minimum
/// storage duration, the sweep's requests, the trash copies' new minimum), as <c>reclaim plan</c> gives it; otherwise <see langword="null"/>.
/// </param>
/// <param name="CostWarnings">The plan's cost warnings (<see cref="StorageCosts.Warnings"/>): bytes that save nothing yet, quarantine copies; empty without a provider.</param>
public sealed record UsageReclaimable(string Policy, string Store, long Objects, long Bytes, decimal? SavingPerMonth, bool Refused, PolicyCost? Cost = null, IReadOnlyList<string>? CostWarnings = null);

/// <summary>The usage report: prefixes, stores and reclaimable bytes.</summary>
/// <param name="Prefixes">Objects and bytes by prefix.</param>
/// <param name="Stores">Per-store totals and cost.</param>
/// <param name="Reclaimable">Per-policy reclaimable bytes from a dry run (empty when not asked for).</param>
public sealed record UsageReport(IReadOnlyList<UsageRow> Prefixes, IReadOnlyList<UsageStore> Stores, IReadOnlyList<UsageReclaimable> Reclaimable);

/// <summary>What was removed on one UTC day.</summary>
/// <param name="Day">The day.</param>
/// <param name="ObjectsRemoved">Objects deleted or quarantined.</param>
/// <param name="BytesDeleted">Bytes deleted (gone for good).</param>
/// <param name="BytesQuarantined">Bytes moved to the trash (freed once purged).</param>
/// <param name="BytesRestored">Bytes moved back from the trash.</param>
public sealed record ReclaimedDay(DateOnly Day, long ObjectsRemoved, long BytesDeleted, long BytesQuarantined, long BytesRestored)
{
    /// <summary>Bytes deleted and quarantined together.</summary>
    public long BytesRemoved => BytesDeleted + BytesQuarantined;
}

/// <summary>
/// Everything Reclaim does, in one place: plan, apply, sweep, restore, purge, history, usage. The CLI verbs and
/// the HTTP endpoints are thin callers of this class. Destructive calls go through <see cref="DestructiveGate"/>.
/// </summary>
public sealed class ReclaimEngine(Workspace workspace, TimeProvider timeProvider, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Reclaim.Engine");

    /// <summary>Whether <paramref name="policy"/> is of a kind plans are made of (orphans, retention, records; a queue policy is worked by the queue worker).</summary>
    /// <param name="policy">A policy.</param>
    /// <returns><see langword="true"/> for a layout or records policy.</returns>
    public static bool IsPlanned(PolicyConfig policy) => policy is LayoutPolicy or RecordsPolicy;

    /// <summary>The config.</summary>
    public ReclaimConfig Config => workspace.Config;

    /// <summary>The deletion-request queue: worker, status, retry, enqueue.</summary>
    public Queue.QueueService Queue => new(workspace, timeProvider, loggerFactory);

    /// <summary>Partitioned runs: several participants planning and applying one run's key ranges.</summary>
    public Partitioning.PartitionedRuns Partitioned => new(this, workspace, timeProvider, loggerFactory);

    /// <summary>
    /// Makes a plan: a dry run of the selected policies (all when none are named), with guard verdicts.
    /// </summary>
    /// <param name="policies">Policy names; empty selects every policy of a supported type.</param>
    /// <param name="force">Accept a grace period below <c>min_age_floor</c>.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="UsageException">A named policy does not exist or its type is not supported.</exception>
    /// <exception cref="CatalogException">A references query failed.</exception>
    public Task<Plan> PlanAsync(IReadOnlyList<string> policies, bool force, IProgress<ScanProgress>? progress, CancellationToken cancellationToken) =>
        PlanAsync(policies, force, PlanOptions.None, progress, cancellationToken);

    /// <summary>
    /// Makes a plan with settings that differ from the config's for this plan only (<paramref name="options"/>). A
    /// retention policy's <c>keep</c> query may use <c>@cutoff</c>: the plan's start minus its effective
    /// <c>max_age</c>, in UTC and whole seconds (see <see cref="Cutoff"/>), bound again when the plan is applied.
    /// </summary>
    /// <param name="policies">Policy names; empty selects every policy of a supported type.</param>
    /// <param name="force">Accept a grace period below <c>min_age_floor</c>.</param>
    /// <param name="options">Per-plan settings.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="UsageException">
    /// A named policy does not exist or its type is not supported, or a <c>max_age</c> override names a policy that
    /// is not a selected retention policy or is not positive.
    /// </exception>
    /// <exception cref="CatalogException">A references query failed.</exception>
    public async Task<Plan> PlanAsync(IReadOnlyList<string> policies, bool force, PlanOptions options, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var selected = Select(policies);
        foreach (var (name, age) in options.MaxAge)
        {
            if (!selected.Any(p => p is RetentionPolicy && string.Equals(p.Name, name, StringComparison.Ordinal)) || age <= TimeSpan.Zero)
            {
                throw new UsageException($"max_age {Duration.Format(age)} for '{name}': only a positive age for a retention policy of the run can be set");
            }
        }

        var plan = new Plan { CreatedAt = timeProvider.GetUtcNow(), ConfigPath = Config.Path };
        var planner = new LayoutPlanner(timeProvider)
        {
            Timing = message => Log.PlannerTiming(_logger, message),
            QuarantinedInPlace = await InPlaceQuarantineQueries.KeysByStoreAsync(workspace, selected.Select(p => p.Store), cancellationToken),
        };
        foreach (var configured in selected)
        {
            var overridden = options.MaxAge.TryGetValue(configured.Name, out var maxAge);
            var policy = overridden && configured is RetentionPolicy retention ? retention with { MaxAge = maxAge } : configured;
            var store = Partitioning.PartitionedRuns.Scope(workspace.Store(policy.Store), policy, options.KeyRange);
            PolicyPlan policyPlan;
            if (policy is RecordsPolicy records)
            {
                policyPlan = await new RecordsPlanner().PlanAsync(records, store, workspace.Catalog(records.Catalog), Config.Trash.Prefix, Config.Guards.MaxDeleteCount + 1, cancellationToken);
            }
            else
            {
                var layoutPolicy = (LayoutPolicy)policy;
                ICatalog CatalogOf(QueryConfig query) => ProtectingCatalog(layoutPolicy, query, plan.CreatedAt);
                policyPlan = await planner.PlanAsync(layoutPolicy, store, CatalogOf, Config.Trash.Prefix, Config.Guards.MaxDeleteCount + 1, progress, cancellationToken);
                policyPlan.MaxAgeOverride = overridden ? maxAge : null;
                if (layoutPolicy.ConfirmAfter is { } confirmAfter)
                {
                    // Every plan records its sightings; a group goes only once it was orphaned in a plan that long before.
                    var sightings = await workspace.StateAsync(cancellationToken) as ISightings;
                    await SightingConfirmation.ApplyAsync(policyPlan, sightings, confirmAfter, plan.CreatedAt, cancellationToken);
                }

                if (Config.Stores[policy.Store].Costs is { } costs)
                {
                    StorageCosts.Apply(policyPlan, costs, plan.CreatedAt, trashCopies: store is not IObjectTagging { QuarantinesByTag: true });
                }
            }

            GuardEvaluator.EvaluatePolicy(policyPlan, policy.Guards ?? Config.Guards, force);
            Log.PolicyPlanned(_logger, policy.Name, policyPlan.Totals.GroupsOrphaned, policyPlan.Totals.ObjectsOrphaned, policyPlan.Totals.BytesReclaimable, policyPlan.Totals.GroupsScanned, policyPlan.Totals.DurationMs);
            foreach (var refused in policyPlan.Guards.Where(g => !g.Passed))
            {
                Log.GuardRefused(_logger, policy.Name, refused.Guard, refused.Message);
            }

            plan.Policies.Add(policyPlan);
        }

        GuardEvaluator.EvaluatePlan(plan, Config.Guards);
        return plan;
    }

    /// <summary>
    /// Makes the plan of a run that is recorded in state (a sweep that is not dry, a server run): as
    /// <see cref="PlanAsync(IReadOnlyList{string}, bool, PlanOptions, IProgress{ScanProgress}?, CancellationToken)"/>, and when planning fails — a references query or a store failing, or cancellation —
    /// records the run as <see cref="RunStatus.Failed"/> with the error in its summary (<c>{"error": "..."}</c>)
    /// before rethrowing, so the history shows the failure with its reason. A failure to record it is logged and
    /// the planning error is rethrown as it was.
    /// </summary>
    /// <param name="policies">Policy names; empty selects every policy of a supported type.</param>
    /// <param name="force">Accept a grace period below <c>min_age_floor</c>.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="actor">Who starts the run, as recorded.</param>
    /// <param name="dryRun">Whether the run is a dry run (recorded as such).</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <param name="runId">The run's id when the caller has announced it already; a new one when <see langword="null"/>.</param>
    /// <param name="cancelledReason">The error recorded when planning is cancelled.</param>
    /// <param name="options">Per-plan settings (see <see cref="PlanAsync(IReadOnlyList{string}, bool, PlanOptions, IProgress{ScanProgress}?, CancellationToken)"/>); none when <see langword="null"/>.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="UsageException">A named policy does not exist or its type is not supported, or an option is invalid (no run is recorded: none started).</exception>
    /// <exception cref="CatalogException">A references query failed (recorded).</exception>
    public async Task<Plan> PlanRunAsync(
        IReadOnlyList<string> policies,
        bool force,
        IProgress<ScanProgress>? progress,
        string actor,
        bool dryRun,
        CancellationToken cancellationToken,
        string? runId = null,
        string cancelledReason = "cancelled while planning; nothing was touched",
        PlanOptions? options = null)
    {
        var selected = Select(policies).Select(p => p.Name).ToList();
        try
        {
            return await PlanAsync(policies, force, options ?? PlanOptions.None, progress, cancellationToken);
        }
        catch (Exception e) when (e is not (UsageException or OutOfMemoryException))
        {
            var error = e is OperationCanceledException ? cancelledReason : e.Message;
            try
            {
                await RecordFailureAsync(selected, actor, dryRun, error, CancellationToken.None, runId);
            }
            catch (Exception recording) when (recording is not OutOfMemoryException)
            {
                // The state may be what is unreachable; the planning error is the one to report.
                Log.FailureNotRecorded(_logger, recording, error);
            }

            throw;
        }
    }

    /// <summary>
    /// Applies exactly <paramref name="plan"/>: every batch re-checked by the gate first. A policy a guard refused
    /// is skipped alone (nothing of it is touched) and the others are applied; the run is then recorded
    /// <see cref="RunStatus.Refused"/> unless some action failed, with every refusal in its summary
    /// (<c>refused</c>). A plan refused entirely (<see cref="Plan.RefusedEntirely"/>) is recorded as a refused
    /// run and nothing is touched.
    /// </summary>
    /// <param name="plan">A plan made from this config.</param>
    /// <param name="actor">Who applies it.</param>
    /// <param name="dryRun">Re-check and count only: nothing is recorded or touched.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <param name="kind">The run's kind as recorded: <c>apply</c> (a plan file) or <c>sweep</c> (plan then apply).</param>
    /// <param name="runId">The run's id (from <see cref="RunIds.New"/>), when the caller has announced it already (the HTTP API's <c>Location</c>); a new one when <see langword="null"/>.</param>
    /// <param name="recordDryRun">Record a dry run in state as a run (its actions are not recorded), so it shows in the history with its actor.</param>
    /// <param name="stopping">
    /// The soft stop (Ctrl+C, SIGTERM): no new sub-batch starts once it is cancelled, the ones in flight finish and
    /// record, and the run ends <see cref="RunStatus.Interrupted"/>. <paramref name="cancellationToken"/> is the hard
    /// stop: it abandons the store requests in flight (their actions stay pending until the run is reconciled).
    /// </param>
    /// <returns>The run.</returns>
    /// <exception cref="PlanFileException">
    /// The plan names a policy the config lacks or defines differently now, or its action or groups are not what
    /// that policy makes (an edited or damaged plan file).
    /// </exception>
    /// <exception cref="GuardRefusedException">A guard refused the whole plan (the refusal is recorded as a run).</exception>
    /// <exception cref="CatalogException">A re-check query failed (the run is recorded as failed).</exception>
    public async Task<RunResult> ApplyAsync(Plan plan, string actor, bool dryRun, CancellationToken cancellationToken, string kind = "apply", string? runId = null, bool recordDryRun = false, CancellationToken stopping = default)
    {
        foreach (var policyPlan in plan.Policies)
        {
            var policy = Config.Policies.FirstOrDefault(p => string.Equals(p.Name, policyPlan.Policy, StringComparison.Ordinal))
                ?? throw new PlanFileException($"the plan's policy '{policyPlan.Policy}' is not in {Config.Path}");
            policy = Effective(policy, policyPlan);
            if (!string.Equals(PolicyDefinition.Fingerprint(policy), policyPlan.Definition, StringComparison.Ordinal))
            {
                throw new PlanFileException($"policy '{policy.Name}' has changed in {Config.Path} since the plan was made; make a new plan");
            }

            CheckPlanMatchesPolicy(policyPlan, policy);
        }

        ReevaluateGuards(plan);

        var run = NewRun(kind, actor, plan.Policies.Select(p => p.Policy), dryRun, runId);
        var state = dryRun && !recordDryRun ? null : await workspace.StateAsync(cancellationToken);
        if (state is not null)
        {
            if (!dryRun)
            {
                await SettleInterruptedRunsAsync(state, cancellationToken);
            }

            await state.StartRunAsync(run, cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        var totals = new GateTotals();
        var perPolicy = new Dictionary<string, GateTotals>(StringComparer.Ordinal);
        var status = RunStatus.Succeeded;
        string? error = null;
        var heartbeat = RunHeartbeat.Start(state, run.Id, timeProvider);
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

                GateTotals done;
                if (policy is RecordsPolicy records)
                {
                    done = await ApplyRecordsAsync(gate, gateRun, state, records, policyPlan, cancellationToken);
                }
                else
                {
                    // The gate re-checks every protecting query of the policy (a list: each, on its own catalog).
                    var layoutPolicy = Effective((LayoutPolicy)policy, policyPlan);
                    var queries = layoutPolicy.ProtectingQueries.Select(q => new ProtectingQuery(ProtectingCatalog(layoutPolicy, q, plan.CreatedAt), q.Query)).ToList();
                    var removal = new GroupRemoval(policyPlan, workspace.Store(policy.Store), queries.FirstOrDefault()?.Catalog,
                        queries.FirstOrDefault()?.Query, layoutPolicy.Layout, policyPlan.MinAge, Config.Trash.Prefix) { Queries = queries };
                    done = await gate.RemoveGroupsAsync(gateRun, removal, cancellationToken);
                }

                perPolicy[policy.Name] = done;
                totals.Add(done);
            }

            (status, error) = EndOf(totals);
            if (status == RunStatus.Succeeded && plan.Refused)
            {
                (status, error) = (RunStatus.Refused, $"refused: {string.Join("; ", RefusalReasons(plan))}");
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
            if (heartbeat is not null)
            {
                await heartbeat.DisposeAsync();
            }

            var finished = run with { FinishedAt = timeProvider.GetUtcNow(), Status = status, Summary = Summary(totals, perPolicy, plan, clock.ElapsedMilliseconds), Error = error };
            if (state is not null)
            {
                await state.FinishRunAsync(run.Id, status, finished.FinishedAt!.Value, finished.Summary, error, CancellationToken.None);
            }

            run = finished;
            Log.RunFinished(_logger, run.Id, run.Kind, status.ToString(), totals.ObjectsDone, totals.BytesDone, totals.ObjectsSkipped, totals.ObjectsFailed, clock.ElapsedMilliseconds);
        }

        return new RunResult(run, totals, perPolicy, state is not null);
    }

    /// <summary>
    /// Restores a run's quarantined objects (all, or only <paramref name="keys"/>) as a new run of kind
    /// <c>restore</c>: every object of the run that lies in the trash (<c>{trash prefix}{run id}/</c> of each store),
    /// whatever its recorded outcome. The run is settled first when it ended without its outcomes.
    /// </summary>
    /// <param name="runId">The run that quarantined them.</param>
    /// <param name="keys">Original keys to restore; empty restores all.</param>
    /// <param name="actor">Who asks.</param>
    /// <param name="cancellationToken">The hard stop: abandons the moves in flight.</param>
    /// <param name="stopping">The soft stop: no new batch of moves starts; the run ends interrupted.</param>
    /// <returns>The restore run.</returns>
    /// <exception cref="UsageException">No such run, it is still running, or the trash holds nothing of it (or none of the given keys).</exception>
    public async Task<RunResult> RestoreAsync(string runId, IReadOnlyList<string> keys, string actor, CancellationToken cancellationToken, CancellationToken stopping = default)
    {
        var state = await workspace.StateAsync(cancellationToken);
        _ = await state.GetRunAsync(runId, cancellationToken) ?? throw new UsageException($"no run '{runId}' (see: reclaim runs)");
        await Reconciler(state).SettleAsync(runId, cancellationToken);
        var quarantined = await state.GetRunAsync(runId, cancellationToken);
        if (quarantined!.Status == RunStatus.Running)
        {
            throw new UsageException($"run '{runId}' is still running (owner {quarantined.Owner ?? "unknown"}); stop it (Ctrl+C or SIGTERM) or let it finish, then restore");
        }

        // What the run quarantined as recorded (a purged one then fails with its reason), and whatever lies in its
        // trash folder, whatever its recorded outcome.
        var wanted = keys.Count == 0 ? null : new HashSet<string>(keys, StringComparer.Ordinal);
        var candidates = new Dictionary<(string Store, string TrashKey), QuarantinedObject>();
        await foreach (var action in state.ListActionsAsync(runId, cancellationToken))
        {
            if (action is { Kind: ActionKind.Quarantine, Outcome: ActionOutcome.Done, TrashKey: not null } && (wanted is null || wanted.Contains(action.Key)))
            {
                candidates[(action.Store, action.TrashKey)] = new QuarantinedObject(action.Key, action.TrashKey, action.Size, action.Policy);
            }
        }

        var folder = DestructiveGate.TrashKey(Config.Trash.Prefix, runId, string.Empty);
        foreach (var storeName in Config.Stores.Keys)
        {
            await foreach (var item in workspace.Store(storeName).ListAsync(folder, cancellationToken))
            {
                var original = item.Key[folder.Length..];
                if (original.Length > 0 && (wanted is null || wanted.Contains(original)))
                {
                    var recorded = candidates.GetValueOrDefault((storeName, item.Key));
                    candidates[(storeName, item.Key)] = new QuarantinedObject(original, item.Key, item.Size, recorded?.Policy ?? "restore");
                }
            }
        }

        if (candidates.Count == 0)
        {
            throw new UsageException(wanted is null
                ? $"run '{runId}' quarantined nothing that could be restored (its trash folder '{folder}' is empty in every store)"
                : $"run '{runId}' quarantined none of the given keys");
        }

        var byStore = candidates.GroupBy(c => c.Key.Store, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(c => c.Value).OrderBy(o => o.Key, ObjectKey.Comparer).ToList(), StringComparer.Ordinal);

        var run = NewRun("restore", actor, byStore.Keys, false);
        return await RecordedRunAsync(state, run, async (gate, gateRun) =>
        {
            var perStore = new Dictionary<string, GateTotals>(StringComparer.Ordinal);
            foreach (var (storeName, objects) in byStore)
            {
                perStore[storeName] = await gate.RestoreAsync(gateRun, workspace.Store(storeName), objects, cancellationToken);
            }

            return perStore;
        }, cancellationToken, stopping);
    }

    /// <summary>
    /// Deletes quarantined objects whose quarantine run is older than <paramref name="olderThan"/> (default: the
    /// trash retention), in every store. Objects in the trash that are not in a run folder are left alone; so is
    /// every object whose action is not settled (runs that ended without their outcomes are settled first).
    /// </summary>
    /// <param name="olderThan">Minimum age of the quarantine; the config's <c>trash.retention</c> when <see langword="null"/>.</param>
    /// <param name="actor">Who asks.</param>
    /// <param name="dryRun">Count only (no run is settled either).</param>
    /// <param name="cancellationToken">The hard stop.</param>
    /// <param name="stopping">The soft stop: no new batch starts; the run ends interrupted.</param>
    /// <returns>The purge run.</returns>
    public async Task<RunResult> PurgeAsync(TimeSpan? olderThan, string actor, bool dryRun, CancellationToken cancellationToken, CancellationToken stopping = default)
    {
        var retention = olderThan ?? Config.Trash.EffectiveRetention;
        var now = timeProvider.GetUtcNow();
        var prefix = Config.Trash.Prefix;
        var stateStore = await workspace.StateAsync(cancellationToken);
        if (!dryRun)
        {
            await Reconciler(stateStore).SettleAllAsync(cancellationToken);
        }

        var unsettled = await UnsettledTrashKeysAsync(stateStore, cancellationToken);
        var byStore = new Dictionary<string, List<StoredObject>>(StringComparer.Ordinal);
        foreach (var storeName in Config.Stores.Keys)
        {
            var store = workspace.Store(storeName);
            var due = new List<StoredObject>();
            await foreach (var item in store.ListAsync(prefix, cancellationToken))
            {
                var rest = item.Key[prefix.Length..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                if (slash <= 0 || !RunIds.TryParseTime(rest[..slash], out var quarantinedAt) || unsettled.Contains((storeName, item.Key)))
                {
                    continue;
                }

                if (now - quarantinedAt >= retention)
                {
                    due.Add(item);
                }
            }

            if (due.Count > 0)
            {
                byStore[storeName] = due;
            }
        }

        var tagged = await InPlaceQuarantineQueries.DueAsync(stateStore, [.. Config.Stores.Keys], now, retention, cancellationToken);
        var run = NewRun("purge", actor, ["trash"], dryRun);
        var state = dryRun ? NullState.Instance : stateStore;
        return await RecordedRunAsync(state, run, async (gate, gateRun) =>
        {
            var perStore = new Dictionary<string, GateTotals>(StringComparer.Ordinal);
            foreach (var (storeName, objects) in byStore)
            {
                perStore[storeName] = await gate.PurgeAsync(gateRun, workspace.Store(storeName), prefix, objects, cancellationToken);
            }

            foreach (var (storeName, objects) in tagged)
            {
                var inPlace = await gate.PurgeTaggedAsync(gateRun, workspace.Store(storeName), objects, cancellationToken);
                if (perStore.TryGetValue(storeName, out var moved))
                {
                    moved.Add(inPlace);
                }
                else
                {
                    perStore[storeName] = inPlace;
                }
            }

            return perStore;
        }, cancellationToken, stopping);
    }

    /// <summary>The trash keys of every action not settled yet (a live run's, or one that could not be settled): purge leaves them.</summary>
    private static async Task<HashSet<(string Store, string Key)>> UnsettledTrashKeysAsync(IStateStore state, CancellationToken cancellationToken)
    {
        var keys = new HashSet<(string Store, string Key)>();
        foreach (var runId in await state.UnsettledRunsAsync(cancellationToken))
        {
            await foreach (var action in state.ListActionsAsync(runId, cancellationToken))
            {
                if (action.Outcome == ActionOutcome.Pending && action.TrashKey is { } trashKey)
                {
                    keys.Add((action.Store, trashKey));
                }
            }
        }

        return keys;
    }

    private RunReconciler Reconciler(IStateStore state) => new(workspace, state, timeProvider, loggerFactory);

    /// <summary>Settles, before a run acts, every earlier run that ended without its outcomes (their objects are then findable and restorable).</summary>
    private Task SettleInterruptedRunsAsync(IStateStore state, CancellationToken cancellationToken) =>
        Reconciler(state).SettleAllAsync(cancellationToken);

    /// <summary>The most recent runs, newest first; a listed run that ended without its outcomes is settled first.</summary>
    /// <param name="limit">How many.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The runs.</returns>
    public async Task<IReadOnlyList<RunRecord>> RunsAsync(int limit, CancellationToken cancellationToken)
    {
        var state = await workspace.StateAsync(cancellationToken);
        var runs = await state.ListRunsAsync(limit, cancellationToken);
        var unsettled = (await state.UnsettledRunsAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var settled = false;
        foreach (var run in runs.Where(r => unsettled.Contains(r.Id)))
        {
            settled |= await Reconciler(state).SettleAsync(run.Id, cancellationToken);
        }

        return settled ? await state.ListRunsAsync(limit, cancellationToken) : runs;
    }

    /// <summary>One run and its actions; a run that ended without its outcomes is settled first.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The run and its actions.</returns>
    /// <exception cref="UsageException">No such run.</exception>
    public async Task<(RunRecord Run, IReadOnlyList<ActionRecord> Actions)> RunAsync(string runId, CancellationToken cancellationToken)
    {
        var state = await workspace.StateAsync(cancellationToken);
        _ = await state.GetRunAsync(runId, cancellationToken) ?? throw new UsageException($"no run '{runId}' (see: reclaim runs)");
        await Reconciler(state).SettleAsync(runId, cancellationToken);
        var run = await state.GetRunAsync(runId, cancellationToken);
        var actions = new List<ActionRecord>();
        await foreach (var action in state.ListActionsAsync(runId, cancellationToken))
        {
            actions.Add(action);
        }

        return (run!, actions);
    }

    /// <summary>
    /// Objects and bytes by prefix: each key counts under its first <paramref name="depth"/> segments (or its
    /// folder, when it has fewer). The trash is reported as its own prefix.
    /// </summary>
    /// <param name="storeName">One store, or <see langword="null"/> for every store.</param>
    /// <param name="depth">Segments, 1 or more.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>One row per store and prefix, in key order. Memory grows with the number of distinct prefixes, not objects.</returns>
    public async Task<IReadOnlyList<UsageRow>> UsageAsync(string? storeName, int depth, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        if (storeName is not null && !Config.Stores.ContainsKey(storeName))
        {
            throw new UsageException($"no store named '{storeName}' in {Config.Path}");
        }

        var rows = new List<UsageRow>();
        foreach (var name in storeName is null ? Config.Stores.Keys.ToList() : [storeName])
        {
            var store = workspace.Store(name);
            var byPrefix = new SortedDictionary<string, UsageRow>(ObjectKey.Comparer);
            var clock = Stopwatch.StartNew();
            long scanned = 0;
            long bytes = 0;
            await foreach (var item in store.ListAsync(string.Empty, cancellationToken))
            {
                scanned++;
                bytes += item.Size;
                var prefix = ObjectKey.IsUnder(item.Key, Config.Trash.Prefix) ? Config.Trash.Prefix : PrefixAtDepth(item.Key, depth);
                byPrefix[prefix] = byPrefix.TryGetValue(prefix, out var row)
                    ? row with
                    {
                        Objects = row.Objects + 1,
                        Bytes = row.Bytes + item.Size,
                        Oldest = item.LastModified < row.Oldest ? item.LastModified : row.Oldest,
                        Newest = item.LastModified > row.Newest ? item.LastModified : row.Newest,
                    }
                    : new UsageRow(name, prefix, 1, item.Size, item.LastModified, item.LastModified);
                if (progress is not null && scanned % 10000 == 0)
                {
                    progress.Report(new ScanProgress(name, scanned, bytes, 0, clock.Elapsed));
                }
            }

            rows.AddRange(byPrefix.Values);
        }

        return rows;
    }

    /// <summary>
    /// The usage report: <see cref="UsageAsync(string?, int, IProgress{ScanProgress}?, CancellationToken)"/>'s prefixes, per-store totals
    /// with their monthly cost where <c>price_per_gb_month</c> is set, and, when <paramref name="reclaimable"/>,
    /// a dry run of every policy on those stores with what it would remove and save per month.
    /// </summary>
    /// <param name="storeName">One store, or <see langword="null"/> for every store.</param>
    /// <param name="depth">Prefix depth in segments, 1 or more.</param>
    /// <param name="reclaimable">Whether to plan the policies (a full dry run: as long as <c>reclaim plan</c>).</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The report.</returns>
    public async Task<UsageReport> UsageReportAsync(string? storeName, int depth, bool reclaimable, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var prefixes = await UsageAsync(storeName, depth, progress, cancellationToken);
        var stores = prefixes.GroupBy(r => r.Store, StringComparer.Ordinal).Select(g =>
        {
            var bytes = g.Sum(r => r.Bytes);
            var price = Config.Stores[g.Key].PricePerGbMonth;
            return new UsageStore(g.Key, g.Sum(r => r.Objects), bytes, price, Cost(bytes, price), Config.Stores[g.Key].Costs?.Provider);
        }).ToList();
        var savings = new List<UsageReclaimable>();
        if (reclaimable)
        {
            var names = Config.Policies
                .Where(p => IsPlanned(p) && (storeName is null || p.Store == storeName))
                .Select(p => p.Name).ToList();
            if (names.Count > 0)
            {
                var plan = await PlanAsync(names, force: false, progress, cancellationToken);
                savings.AddRange(plan.Policies.Select(p => new UsageReclaimable(p.Policy, p.Store, p.Totals.ObjectsOrphaned, p.Totals.BytesReclaimable,
                    Cost(p.Totals.BytesReclaimable, Config.Stores[p.Store].PricePerGbMonth), p.Refused, p.Cost,
                    p.Cost is { } cost ? StorageCosts.Warnings(cost) : [])));
            }
        }

        return new UsageReport(prefixes, stores, savings);
    }

    /// <summary>
    /// Objects and bytes, referenced and reclaimable, per value of one layout variable (<c>reclaim usage --by org</c>),
    /// over every <c>orphans</c> and <c>retention</c> policy (of <paramref name="storeName"/>, when given) whose layout
    /// has it; see <see cref="VariableUsage"/>.
    /// </summary>
    /// <param name="storeName">One store, or <see langword="null"/> for every store.</param>
    /// <param name="variable">The variable, for example <c>org</c>.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The report, most reclaimable bytes first.</returns>
    /// <exception cref="UsageException">No such store, or no policy's layout has the variable (the message names those the layouts have).</exception>
    /// <exception cref="CatalogException">A references or keep query fails.</exception>
    public Task<VariableUsageReport> UsageByAsync(string? storeName, string variable, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        if (storeName is not null && !Config.Stores.ContainsKey(storeName))
        {
            throw new UsageException($"no store named '{storeName}' in {Config.Path}");
        }

        var policies = Select([]).Where(p => storeName is null || string.Equals(p.Store, storeName, StringComparison.Ordinal)).ToList();
        var usage = new VariableUsage(timeProvider, workspace.Store, (policy, query, start) => policy is LayoutPolicy layoutPolicy ? ProtectingCatalog(layoutPolicy, query, start) : workspace.Catalog(query.Catalog), store => Config.Stores[store].PricePerGbMonth);
        return usage.ReportAsync(policies, variable, Config.Trash.Prefix, progress, cancellationToken);
    }

    /// <summary>
    /// What runs and the queue removed per UTC day over the last <paramref name="days"/> days (today included), from
    /// the actions recorded in state: deleted and quarantined objects count as removed; restores are shown apart.
    /// </summary>
    /// <param name="days">Days, 1 to 366.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One row per day, oldest first, days without actions included with zeros.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="days"/> is outside 1 to 366.</exception>
    public async Task<IReadOnlyList<ReclaimedDay>> ReclaimedByDayAsync(int days, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(days, 366);
        var today = DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime);
        var first = today.AddDays(1 - days);
        var state = await workspace.StateAsync(cancellationToken);
        var totals = state is IActionHistory history
            ? await history.DoneByDayAsync(new DateTimeOffset(first.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), cancellationToken)
            : [];
        var byDay = totals.ToLookup(t => t.Day);
        return [.. Enumerable.Range(0, days).Select(i =>
        {
            var day = first.AddDays(i);
            long Sum(ActionKind kind, bool bytes) => byDay[day].Where(t => t.Kind == kind).Sum(t => bytes ? t.Bytes : t.Objects);
            return new ReclaimedDay(day, Sum(ActionKind.Delete, false) + Sum(ActionKind.Quarantine, false), Sum(ActionKind.Delete, true), Sum(ActionKind.Quarantine, true), Sum(ActionKind.Restore, true));
        })];
    }

    private static decimal? Cost(long bytes, decimal? pricePerGbMonth) =>
        pricePerGbMonth is { } price ? Math.Round(bytes / (decimal)(1L << 30) * price, 2) : null;

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

    /// <summary>Records a refused plan as a run, so refusals are in the history too.</summary>
    /// <param name="plan">The refused plan.</param>
    /// <param name="actor">Who asked.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <param name="runId">The run's id when the caller has announced it already; a new one when <see langword="null"/>.</param>
    /// <param name="dryRun">Whether the refused plan was for a dry run.</param>
    /// <returns>The recorded run.</returns>
    public async Task<RunRecord> RecordRefusalAsync(Plan plan, string actor, CancellationToken cancellationToken, string? runId = null, bool dryRun = false)
    {
        var run = NewRun("sweep", actor, plan.Policies.Select(p => p.Policy), dryRun, runId);
        return await RecordEndedRunAsync(run, RunStatus.Refused, new RunSummary { Refused = RefusalReasons(plan) }.ToJson(), $"refused: {string.Join("; ", RefusalReasons(plan))}", cancellationToken);
    }

    /// <summary>
    /// Every refusing verdict of a plan, one line each: <c>guard: message</c> for the plan's own guards and
    /// <c>policy 'NAME': guard: message</c> for a policy's; empty when nothing was refused.
    /// </summary>
    /// <param name="plan">A plan with its verdicts.</param>
    /// <returns>The lines, plan guards first, then the policies in plan order.</returns>
    public static IReadOnlyList<string> RefusalReasons(Plan plan) =>
    [
        .. plan.Guards.Where(g => !g.Passed).Select(g => $"{g.Guard}: {g.Message}"),
        .. plan.Policies.SelectMany(p => p.Guards.Where(g => !g.Passed).Select(g => $"policy '{p.Policy}': {g.Guard}: {g.Message}")),
    ];

    /// <summary>
    /// Records a run that failed before anything was applied — its plan could not be made (a references query
    /// failing, a catalog or store unreachable) — as a <see cref="RunStatus.Failed"/> run of kind <c>sweep</c> whose
    /// summary is <c>{"error": "..."}</c>, so the failure is in the history with its reason.
    /// </summary>
    /// <param name="policies">The policies the run was for.</param>
    /// <param name="actor">Who started it.</param>
    /// <param name="dryRun">Whether it was a dry run.</param>
    /// <param name="error">Why it failed, one line.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <param name="runId">The run's id when the caller has announced it already; a new one when <see langword="null"/>.</param>
    /// <returns>The recorded run.</returns>
    public async Task<RunRecord> RecordFailureAsync(IReadOnlyList<string> policies, string actor, bool dryRun, string error, CancellationToken cancellationToken, string? runId = null) =>
        await RecordEndedRunAsync(NewRun("sweep", actor, policies, dryRun, runId), RunStatus.Failed, new RunSummary { Error = error }.ToJson(), error, cancellationToken);

    private async Task<RunRecord> RecordEndedRunAsync(RunRecord run, RunStatus status, string summary, string error, CancellationToken cancellationToken)
    {
        var state = await workspace.StateAsync(cancellationToken);
        await state.StartRunAsync(run, cancellationToken);
        var finishedAt = timeProvider.GetUtcNow();
        await state.FinishRunAsync(run.Id, status, finishedAt, summary, error, cancellationToken);
        return run with { Status = status, FinishedAt = finishedAt, Summary = summary, Error = error };
    }

    private async Task<RunResult> RecordedRunAsync(
        IStateStore state,
        RunRecord run,
        Func<DestructiveGate, GateRun, Task<Dictionary<string, GateTotals>>> body,
        CancellationToken cancellationToken,
        CancellationToken stopping)
    {
        if (!run.DryRun)
        {
            await state.StartRunAsync(run, cancellationToken);
        }

        var gate = new DestructiveGate(state, timeProvider, loggerFactory.CreateLogger<DestructiveGate>());
        var totals = new GateTotals();
        Dictionary<string, GateTotals> parts = new(StringComparer.Ordinal);
        var status = RunStatus.Failed;
        string? error = null;
        var heartbeat = RunHeartbeat.Start(run.DryRun ? null : state, run.Id, timeProvider);
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
            if (heartbeat is not null)
            {
                await heartbeat.DisposeAsync();
            }

            run = run with { FinishedAt = timeProvider.GetUtcNow(), Status = status, Summary = Summary(totals, parts), Error = error };
            if (!run.DryRun)
            {
                await state.FinishRunAsync(run.Id, status, run.FinishedAt!.Value, run.Summary, error, CancellationToken.None);
            }
        }

        return new RunResult(run, totals, parts, !run.DryRun);
    }

    /// <summary>
    /// Refuses a policy's plan whose parts the definition's fingerprint does not cover but the gate acts on: the
    /// action, and each group's key, values and objects, which must be what the layout makes of those objects. An
    /// edited or damaged plan file could otherwise name a referenced folder under an orphan's values (the re-check
    /// looks the values up), or an unmatched or trash key.
    /// </summary>
    /// <exception cref="PlanFileException">Something does not match; nothing has been touched.</exception>
    private void CheckPlanMatchesPolicy(PolicyPlan policyPlan, PolicyConfig policy)
    {
        if (policy is not LayoutPolicy layoutPolicy)
        {
            // A row's objects are rendered again from its columns at apply time, and the row is looked up in the
            // catalog again: the plan file's keys are not trusted. Only the action and store must agree.
            if (policyPlan.Action != policy.Action || !string.Equals(policyPlan.Store, policy.Store, StringComparison.Ordinal) ||
                policyPlan.Rows.Any(r => r.Columns is null))
            {
                throw new PlanFileException($"the plan's policy '{policy.Name}' does not match {Config.Path} (action, store or rows): the plan file was edited or damaged; make a new plan");
            }

            return;
        }

        var layout = layoutPolicy.Layout;
        string Mismatch(string what) => $"the plan's policy '{policy.Name}' {what}: the plan file was edited or damaged; make a new plan";
        if (policyPlan.Action != policy.Action || !string.Equals(policyPlan.Store, policy.Store, StringComparison.Ordinal) ||
            !string.Equals(policyPlan.Layout, layout.Template, StringComparison.Ordinal))
        {
            throw new PlanFileException(Mismatch(
                $"says {Name(policyPlan.Action)} in store '{policyPlan.Store}' by layout '{policyPlan.Layout}', " +
                $"but {Config.Path} says {Name(policy.Action)} in store '{policy.Store}' by layout '{layout.Template}'"));
        }

        foreach (var group in policyPlan.Groups)
        {
            string? problem = null;
            if (group.GroupKey is null || group.Values is null || group.Objects is null)
            {
                throw new PlanFileException(Mismatch("has a group without its key, values or objects"));
            }

            try
            {
                if (!layout.ExtractValues(group.GroupKey).AsSpan().SequenceEqual(group.Values))
                {
                    problem = $"its values ({string.Join(", ", group.Values.Select(v => $"'{ObjectKey.Printable(v ?? "null")}'"))}) are not the key's";
                }
            }
            catch (ArgumentException)
            {
                problem = $"the layout '{layout.Template}' makes no such group";
            }

            problem ??= group.Objects
                .Where(o => ObjectKey.Validate(o.Key) is not null || ObjectKey.IsUnder(o.Key, Config.Trash.Prefix) ||
                            !string.Equals(layout.MatchGroup(o.Key), group.GroupKey, StringComparison.Ordinal))
                .Select(o => $"its object '{ObjectKey.Printable(o.Key ?? "null")}' is not in that group by the layout '{layout.Template}'")
                .FirstOrDefault();
            if (problem is not null)
            {
                throw new PlanFileException(Mismatch($"has the group '{ObjectKey.Printable(group.GroupKey)}', but {problem}"));
            }
        }

        static string Name(ActionKind action) => action.ToString().ToLowerInvariant();
    }

    /// <summary>
    /// Evaluates the guards again, under the current config, on what the plan file actually proposes (its groups
    /// and their objects), so an edited verdict or total in the file cannot pass a guard. A grace period the
    /// plan accepted with <c>--force</c> stays accepted.
    /// </summary>
    private void ReevaluateGuards(Plan plan)
    {
        foreach (var policyPlan in plan.Policies)
        {
            var forced = policyPlan.Guards.Any(g => g.Guard == GuardEvaluator.MinAgeFloor && g.Passed);
            var kept = policyPlan.Guards.Where(g => g.Guard == RecordsPlanner.ObjectsGuard && !g.Passed).ToList();
            var totals = policyPlan.Totals;
            totals.GroupsOrphaned = Math.Max(totals.GroupsOrphaned, policyPlan.Groups.Count + policyPlan.Rows.Count);
            totals.ObjectsOrphaned = Math.Max(totals.ObjectsOrphaned, policyPlan.Groups.Sum(g => (long)g.Objects.Count) + policyPlan.Rows.Sum(r => (long)r.Objects.Count));
            totals.GroupsScanned = Math.Max(totals.GroupsScanned, totals.GroupsOrphaned);
            policyPlan.Guards.Clear();
            policyPlan.Guards.AddRange(kept);
            var policy = Config.Policies.First(p => string.Equals(p.Name, policyPlan.Policy, StringComparison.Ordinal));
            GuardEvaluator.EvaluatePolicy(policyPlan, policy.Guards ?? Config.Guards, forced);
        }

        plan.Guards.Clear();
        GuardEvaluator.EvaluatePlan(plan, Config.Guards);
    }

    /// <summary>
    /// Applies a <c>records</c> plan row by row: the row's objects are rendered again from its columns, the row is
    /// looked up in the catalog again (a row no longer selected is skipped), its objects go through the gate, and
    /// then its <c>after</c> statement runs, recorded as an action of its own. A row whose objects are gone
    /// already still gets its <c>after</c> (a rerun after a crash finishes the job); a failure on one row is
    /// recorded and the next row goes on. An object another live row still names through the store's protections
    /// (a file shared by two records) is skipped, recorded with the policy that protects it; the row's <c>after</c>
    /// still runs, since only the object is shared.
    /// </summary>
    private async Task<GateTotals> ApplyRecordsAsync(DestructiveGate gate, GateRun gateRun, IStateStore? state, RecordsPolicy policy, PolicyPlan policyPlan, CancellationToken cancellationToken)
    {
        var catalog = workspace.Catalog(policy.Catalog);
        var store = workspace.Store(policy.Store);
        var templates = policy.Objects.Select(Core.Records.RecordTemplate.Parse).ToList();
        var totals = new GateTotals();
        var rendered = policyPlan.Rows.Select(r => RecordsPlanner.Render(templates, r.Columns, Config.Trash.Prefix)).ToList();
        async Task<bool> StillSelectedAsync(int index, CancellationToken token)
        {
            var present = policyPlan.Rows[index].Columns.Where(c => c.Value is not null).ToList();
            return present.Count == 0 || (await catalog.FindAsync(policy.Query, present.Select(c => c.Key).ToList(), [present.Select(c => c.Value!).ToArray()], token)).Count > 0;
        }

        // An object another live row still names through the store's protections is kept: the rows being removed
        // (still selected now) are counted out of the protecting rows (docs/safety.md, "Records").
        var protections = StoreProtections.Of(Config, policy.Store, workspace.Catalog, timeProvider)
            .Deleting(new DeletingRows([.. rendered.Select(r => ((IReadOnlyList<string>)r.Keys, (IReadOnlyList<string>)r.Prefixes))], StillSelectedAsync));
        for (var index = 0; index < policyPlan.Rows.Count; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = policyPlan.Rows[index];
            var label = RecordsPlanner.Label(row.Columns);
            var (keys, prefixes, problem) = rendered[index];
            if (problem is not null)
            {
                throw new PlanFileException($"the plan's policy '{policy.Name}' row {label}: {problem}; make a new plan");
            }

            if (!await StillSelectedAsync(index, cancellationToken))
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

    /// <summary>
    /// The <c>@cutoff</c> of a retention policy's keep query: <paramref name="start"/> minus <paramref name="maxAge"/>,
    /// in UTC, rounded down to a whole second (a keep window a fraction of a second longer keeps more, never less).
    /// </summary>
    /// <param name="start">When the plan was made.</param>
    /// <param name="maxAge">The policy's effective <c>max_age</c>.</param>
    /// <returns>A UTC <see cref="DateTime"/>: PostgreSQL receives a <c>timestamptz</c>, SQLite the text <c>yyyy-MM-dd HH:mm:ss</c>, MySQL a <c>DATETIME</c>.</returns>
    public static DateTime Cutoff(DateTimeOffset start, TimeSpan maxAge)
    {
        var cutoff = (start - maxAge).UtcDateTime;
        return new DateTime(cutoff.Ticks - (cutoff.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
    }

    /// <summary>
    /// The catalog of a policy's protecting query; for a retention keep query that names <c>@cutoff</c>, a view binding it
    /// (<see cref="Cutoff"/>), the same at planning and at every re-check of the plan.
    /// </summary>
    private ICatalog ProtectingCatalog(LayoutPolicy policy, QueryConfig query, DateTimeOffset start)
    {
        var catalog = workspace.Catalog(query.Catalog);
        if (policy is not RetentionPolicy { MaxAge: var age } || age <= TimeSpan.Zero || !RecordTemplate.Parameters(query.Query).Contains(CutoffParameter, StringComparer.Ordinal))
        {
            return catalog;
        }

        return catalog is IParameterizedCatalog parameterized
            ? parameterized.WithParameters(new Dictionary<string, object?>(StringComparer.Ordinal) { [CutoffParameter] = Cutoff(start, age) })
            : throw new UsageException($"policy '{policy.Name}': catalog '{query.Catalog}' cannot bind @{CutoffParameter}");
    }

    /// <summary>The parameter a retention policy's keep query may use: <c>@cutoff</c>.</summary>
    public const string CutoffParameter = "cutoff";

    /// <summary>The policy as its plan was made: with the plan's <c>max_age</c> override, if it has one.</summary>
    private static T Effective<T>(T policy, PolicyPlan policyPlan)
        where T : PolicyConfig =>
        policy is RetentionPolicy retention && policyPlan.MaxAgeOverride is { } maxAge && maxAge > TimeSpan.Zero ? (T)(PolicyConfig)(retention with { MaxAge = maxAge }) : policy;

    /// <summary>
    /// The policies a command or request names: all of a supported type when none are named, otherwise each
    /// named one, which must exist and be of a supported type.
    /// </summary>
    /// <param name="names">Policy names; empty for every supported policy.</param>
    /// <returns>The policies, in the order named (config order when none are named).</returns>
    /// <exception cref="UsageException">A name is unknown or its type is not supported.</exception>
    public IReadOnlyList<PolicyConfig> SelectPolicies(IReadOnlyList<string> names) => Select(names);

    private List<PolicyConfig> Select(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return Config.Policies.Where(IsPlanned).ToList();
        }

        var selected = new List<PolicyConfig>();
        foreach (var name in names)
        {
            var policy = Config.Policies.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.Ordinal))
                ?? throw new UsageException($"no policy named '{name}' in {Config.Path} (policies: {string.Join(", ", Config.Policies.Select(p => p.Name))})");
            if (!IsPlanned(policy))
            {
                throw new UsageException($"policy '{name}' is of type '{policy.Kind.Name()}', which this version does not plan yet (supported: orphans, retention, records)");
            }

            selected.Add(policy);
        }

        return selected;
    }

    /// <summary>
    /// How a run that went through to its end stands, and why when not plainly: interrupted when it was stopped
    /// early or left actions pending, partially failed when an action failed.
    /// </summary>
    private static (RunStatus Status, string? Error) EndOf(GateTotals totals)
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

    private RunRecord NewRun(string kind, string actor, IEnumerable<string> policies, bool dryRun, string? runId = null) =>
        new(runId ?? RunIds.New(timeProvider.GetUtcNow()), kind, timeProvider.GetUtcNow(), null, RunStatus.Running, actor, string.Join(',', policies), dryRun, null,
            Owner: RunOwner.Current, HeartbeatAt: timeProvider.GetUtcNow());

    /// <summary>
    /// The run's summary as recorded: what the gate did, and for a plan's policies what the plan found and why
    /// the rest was kept (referenced or kept by query, too young, unmatched), with a sample of keys.
    /// </summary>
    private static string Summary(GateTotals totals, IReadOnlyDictionary<string, GateTotals> parts, Plan? plan = null, long? durationMs = null) => new RunSummary
    {
        Refused = plan is { Refused: true } ? RefusalReasons(plan) : null,
        ObjectsDone = totals.ObjectsDone,
        BytesDone = totals.BytesDone,
        ObjectsSkipped = totals.ObjectsSkipped,
        GroupsSkipped = totals.GroupsSkipped,
        ObjectsFailed = totals.ObjectsFailed,
        SampleErrors = [.. totals.SampleErrors],
        ObjectsPending = totals.ObjectsPending > 0 ? totals.ObjectsPending : null,
        NotStarted = totals.Stopped ? totals.GroupsNotStarted : null,
        RecheckWindowMs = totals.RecheckWindowsMs.Count == 0 ? null : new RecheckWindowSummary
        {
            SubBatches = totals.RecheckWindowsMs.Count,
            Median = Math.Round(totals.RecheckWindowMedianMs!.Value, 3),
            Max = Math.Round(totals.RecheckWindowMaxMs!.Value, 3),
        },
        DurationMs = durationMs,
        Parts = parts.ToDictionary(p => p.Key, p =>
        {
            var planned = plan?.Policies.FirstOrDefault(x => x.Policy == p.Key);
            return new RunPartSummary
            {
                ObjectsDone = p.Value.ObjectsDone,
                BytesDone = p.Value.BytesDone,
                ObjectsSkipped = p.Value.ObjectsSkipped,
                ObjectsFailed = p.Value.ObjectsFailed,
                Refused = planned?.Refused == true ? [.. planned.Guards.Where(g => !g.Passed).Select(g => $"{g.Guard}: {g.Message}")] : null,
                Planned = planned is null ? null : new PlannedPartSummary
                {
                    Type = planned.Type,
                    ObjectsScanned = planned.Totals.ObjectsScanned,
                    GroupsScanned = planned.Totals.GroupsScanned,
                    GroupsProposed = planned.Totals.GroupsOrphaned,
                    KeptReferenced = planned.Totals.GroupsReferenced,
                    KeptTooYoung = planned.Totals.GroupsTooYoung,
                    ObjectsUnmatched = planned.Totals.ObjectsUnmatched,
                    PlanDurationMs = planned.Totals.DurationMs,
                    Sample = [.. planned.Groups.Take(5).Select(g => g.GroupKey).Concat(planned.Rows.Take(5).Select(r => "row " + RecordsPlanner.Label(r.Columns)))],
                },
            };
        }, StringComparer.Ordinal),
    }.ToJson();

    private static string PrefixAtDepth(string key, int depth)
    {
        var position = -1;
        for (var i = 0; i < depth; i++)
        {
            var next = key.IndexOf('/', position + 1);
            if (next < 0)
            {
                return position < 0 ? "(root)" : key[..(position + 1)];
            }

            position = next;
        }

        return key[..(position + 1)];
    }
}

/// <summary>A command was used wrongly (exit code 2): a missing policy or run, a bad argument.</summary>
/// <param name="message">What is wrong.</param>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Run ids: <c>yyyyMMdd-HHmmss-xxxxxx</c>, the UTC start time and 6 random hex digits; sortable by time.</summary>
public static class RunIds
{
    /// <summary>A new run id.</summary>
    /// <param name="now">The start time.</param>
    /// <returns>The id.</returns>
    public static string New(DateTimeOffset now) =>
        $"{now.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

    /// <summary>The start time encoded in a run id.</summary>
    /// <param name="runId">A run id.</param>
    /// <param name="time">The time, when the id is well-formed.</param>
    /// <returns><see langword="true"/> when it is.</returns>
    public static bool TryParseTime(string runId, out DateTimeOffset time)
    {
        time = default;
        if (runId.Length != 22 || runId[15] != '-')
        {
            return false;
        }

        return DateTimeOffset.TryParseExact(runId[..15], "yyyyMMdd-HHmmss", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }
}
