using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reclaim.Core;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine;

/// <summary>The outcome of a run that touched (or, dry, would have touched) stores.</summary>
/// <param name="Run">The run as recorded (for a dry run, not recorded).</param>
/// <param name="Totals">What was done.</param>
/// <param name="PerPolicy">Totals by policy name.</param>
public sealed record RunResult(RunRecord Run, GateTotals Totals, IReadOnlyDictionary<string, GateTotals> PerPolicy);

/// <summary>Objects and bytes under one prefix.</summary>
/// <param name="Store">The store.</param>
/// <param name="Prefix">The prefix (the first N segments of the keys, ending in <c>/</c>), or a key with fewer segments.</param>
/// <param name="Objects">Objects.</param>
/// <param name="Bytes">Bytes.</param>
/// <param name="Oldest">The oldest object's modification time.</param>
/// <param name="Newest">The newest object's modification time.</param>
public sealed record UsageRow(string Store, string Prefix, long Objects, long Bytes, DateTimeOffset Oldest, DateTimeOffset Newest);

/// <summary>
/// Everything Reclaim does, in one place: plan, apply, sweep, restore, purge, history, usage. The CLI verbs and
/// the HTTP endpoints are thin callers of this class. Destructive calls go through <see cref="DestructiveGate"/>.
/// </summary>
public sealed class ReclaimEngine(Workspace workspace, TimeProvider timeProvider, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Reclaim.Engine");

    /// <summary>The policy types this version plans.</summary>
    public static IReadOnlyList<string> SupportedPolicyTypes { get; } = ["orphans"];

    /// <summary>The config.</summary>
    public ReclaimConfig Config => workspace.Config;

    /// <summary>The deletion-request queue: worker, status, retry, enqueue.</summary>
    public Queue.QueueService Queue => new(workspace, timeProvider, loggerFactory);

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
    public async Task<Plan> PlanAsync(IReadOnlyList<string> policies, bool force, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var selected = Select(policies);
        var plan = new Plan { CreatedAt = timeProvider.GetUtcNow(), ConfigPath = Config.Path };
        var planner = new OrphanPlanner(timeProvider) { Timing = message => Log.PlannerTiming(_logger, message) };
        foreach (var policy in selected)
        {
            var store = workspace.Store(policy.Store);
            var catalog = workspace.Catalog(policy.References!.Catalog);
            var policyPlan = await planner.PlanAsync(policy, store, catalog, Config.Trash.Prefix, Config.Guards.MaxDeleteCount + 1, progress, cancellationToken);
            GuardEvaluator.EvaluatePolicy(policyPlan, Config.Guards, force);
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
    /// Applies exactly <paramref name="plan"/>: every batch re-checked by the gate first. A refused plan is
    /// recorded as a refused run and nothing is touched.
    /// </summary>
    /// <param name="plan">A plan made from this config.</param>
    /// <param name="actor">Who applies it.</param>
    /// <param name="dryRun">Re-check and count only: nothing is recorded or touched.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <param name="kind">The run's kind as recorded: <c>apply</c> (a plan file) or <c>sweep</c> (plan then apply).</param>
    /// <returns>The run.</returns>
    /// <exception cref="PlanFileException">
    /// The plan names a policy the config lacks or defines differently now, or its action or groups are not what
    /// that policy makes (an edited or damaged plan file).
    /// </exception>
    /// <exception cref="GuardRefusedException">A guard refused the plan (the refusal is recorded as a run).</exception>
    /// <exception cref="CatalogException">A re-check query failed (the run is recorded as failed).</exception>
    public async Task<RunResult> ApplyAsync(Plan plan, string actor, bool dryRun, CancellationToken cancellationToken, string kind = "apply")
    {
        foreach (var policyPlan in plan.Policies)
        {
            var policy = Config.Policies.FirstOrDefault(p => string.Equals(p.Name, policyPlan.Policy, StringComparison.Ordinal))
                ?? throw new PlanFileException($"the plan's policy '{policyPlan.Policy}' is not in {Config.Path}");
            if (!string.Equals(PolicyDefinition.Fingerprint(policy), policyPlan.Definition, StringComparison.Ordinal))
            {
                throw new PlanFileException($"policy '{policy.Name}' has changed in {Config.Path} since the plan was made; make a new plan");
            }

            CheckPlanMatchesPolicy(policyPlan, policy);
        }

        ReevaluateGuards(plan);

        var run = NewRun(kind, actor, plan.Policies.Select(p => p.Policy), dryRun);
        var state = dryRun ? null : await workspace.StateAsync(cancellationToken);
        if (state is not null)
        {
            await state.StartRunAsync(run, cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        var totals = new GateTotals();
        var perPolicy = new Dictionary<string, GateTotals>(StringComparer.Ordinal);
        var status = RunStatus.Succeeded;
        try
        {
            if (plan.Refused)
            {
                var reason = plan.Guards.Concat(plan.Policies.SelectMany(p => p.Guards.Select(g => g with { Message = $"policy '{p.Policy}': {g.Message}" }))).First(g => !g.Passed);
                status = RunStatus.Refused;
                throw new GuardRefusedException($"guard {reason.Guard} refused the plan: {reason.Message}");
            }

            var gate = new DestructiveGate(state ?? NullState.Instance, timeProvider, loggerFactory.CreateLogger<DestructiveGate>());
            var gateRun = new GateRun(run.Id, actor, dryRun);
            foreach (var policyPlan in plan.Policies)
            {
                var policy = Config.Policies.First(p => string.Equals(p.Name, policyPlan.Policy, StringComparison.Ordinal));
                var removal = new GroupRemoval(policyPlan, workspace.Store(policy.Store), workspace.Catalog(policy.References!.Catalog),
                    policy.References.Query, policy.Layout!, policy.MinAge, Config.Trash.Prefix);
                var done = await gate.RemoveGroupsAsync(gateRun, removal, cancellationToken);
                perPolicy[policy.Name] = done;
                totals.Add(done);
            }

            status = totals.ObjectsFailed > 0 ? RunStatus.PartiallyFailed : RunStatus.Succeeded;
        }
        catch (Exception) when (status != RunStatus.Refused)
        {
            status = RunStatus.Failed;
            throw;
        }
        finally
        {
            var finished = run with { FinishedAt = timeProvider.GetUtcNow(), Status = status, Summary = Summary(totals, perPolicy) };
            if (state is not null)
            {
                await state.FinishRunAsync(run.Id, status, finished.FinishedAt!.Value, finished.Summary, CancellationToken.None);
            }

            run = finished;
            Log.RunFinished(_logger, run.Id, run.Kind, status.ToString(), totals.ObjectsDone, totals.BytesDone, totals.ObjectsSkipped, totals.ObjectsFailed, clock.ElapsedMilliseconds);
        }

        return new RunResult(run, totals, perPolicy);
    }

    /// <summary>
    /// Restores a run's quarantined objects (all, or only <paramref name="keys"/>) as a new run of kind
    /// <c>restore</c>.
    /// </summary>
    /// <param name="runId">The run that quarantined them.</param>
    /// <param name="keys">Original keys to restore; empty restores all.</param>
    /// <param name="actor">Who asks.</param>
    /// <param name="cancellationToken">Stops between moves.</param>
    /// <returns>The restore run.</returns>
    /// <exception cref="UsageException">No such run, or it quarantined nothing (or none of the given keys).</exception>
    public async Task<RunResult> RestoreAsync(string runId, IReadOnlyList<string> keys, string actor, CancellationToken cancellationToken)
    {
        var state = await workspace.StateAsync(cancellationToken);
        _ = await state.GetRunAsync(runId, cancellationToken) ?? throw new UsageException($"no run '{runId}' (see: reclaim runs)");
        var wanted = keys.Count == 0 ? null : new HashSet<string>(keys, StringComparer.Ordinal);
        var byStore = new Dictionary<string, List<QuarantinedObject>>(StringComparer.Ordinal);
        await foreach (var action in state.ListActionsAsync(runId, cancellationToken))
        {
            if (action is { Kind: ActionKind.Quarantine, Outcome: ActionOutcome.Done, TrashKey: not null } && (wanted is null || wanted.Contains(action.Key)))
            {
                if (!byStore.TryGetValue(action.Store, out var list))
                {
                    byStore[action.Store] = list = [];
                }

                list.Add(new QuarantinedObject(action.Key, action.TrashKey, action.Size, action.Policy));
            }
        }

        if (byStore.Count == 0)
        {
            throw new UsageException(wanted is null
                ? $"run '{runId}' quarantined nothing that could be restored"
                : $"run '{runId}' quarantined none of the given keys");
        }

        var run = NewRun("restore", actor, byStore.Keys, false);
        return await RecordedRunAsync(state, run, async (gate, gateRun) =>
        {
            var perStore = new Dictionary<string, GateTotals>(StringComparer.Ordinal);
            foreach (var (storeName, objects) in byStore)
            {
                perStore[storeName] = await gate.RestoreAsync(gateRun, workspace.Store(storeName), objects, cancellationToken);
            }

            return perStore;
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes quarantined objects whose quarantine run is older than <paramref name="olderThan"/> (default: the
    /// trash retention), in every store. Objects in the trash that are not in a run folder are left alone.
    /// </summary>
    /// <param name="olderThan">Minimum age of the quarantine; the config's <c>trash.retention</c> when <see langword="null"/>.</param>
    /// <param name="actor">Who asks.</param>
    /// <param name="dryRun">Count only.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>The purge run.</returns>
    public async Task<RunResult> PurgeAsync(TimeSpan? olderThan, string actor, bool dryRun, CancellationToken cancellationToken)
    {
        var retention = olderThan ?? Config.Trash.EffectiveRetention;
        var now = timeProvider.GetUtcNow();
        var prefix = Config.Trash.Prefix;
        var byStore = new Dictionary<string, List<StoredObject>>(StringComparer.Ordinal);
        foreach (var storeName in Config.Stores.Keys)
        {
            var store = workspace.Store(storeName);
            var due = new List<StoredObject>();
            await foreach (var item in store.ListAsync(prefix, cancellationToken))
            {
                var rest = item.Key[prefix.Length..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                if (slash <= 0 || !RunIds.TryParseTime(rest[..slash], out var quarantinedAt))
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

        var run = NewRun("purge", actor, ["trash"], dryRun);
        var state = dryRun ? NullState.Instance : await workspace.StateAsync(cancellationToken);
        return await RecordedRunAsync(state, run, async (gate, gateRun) =>
        {
            var perStore = new Dictionary<string, GateTotals>(StringComparer.Ordinal);
            foreach (var (storeName, objects) in byStore)
            {
                perStore[storeName] = await gate.PurgeAsync(gateRun, workspace.Store(storeName), prefix, objects, cancellationToken);
            }

            return perStore;
        }, cancellationToken);
    }

    /// <summary>The most recent runs, newest first.</summary>
    /// <param name="limit">How many.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The runs.</returns>
    public async Task<IReadOnlyList<RunRecord>> RunsAsync(int limit, CancellationToken cancellationToken) =>
        await (await workspace.StateAsync(cancellationToken)).ListRunsAsync(limit, cancellationToken);

    /// <summary>One run and its actions.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The run and its actions.</returns>
    /// <exception cref="UsageException">No such run.</exception>
    public async Task<(RunRecord Run, IReadOnlyList<ActionRecord> Actions)> RunAsync(string runId, CancellationToken cancellationToken)
    {
        var state = await workspace.StateAsync(cancellationToken);
        var run = await state.GetRunAsync(runId, cancellationToken) ?? throw new UsageException($"no run '{runId}' (see: reclaim runs)");
        var actions = new List<ActionRecord>();
        await foreach (var action in state.ListActionsAsync(runId, cancellationToken))
        {
            actions.Add(action);
        }

        return (run, actions);
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

    /// <summary>Checks every store (a one-key listing) and catalog (a trivial query), and the state database.</summary>
    /// <param name="cancellationToken">Cancels the checks.</param>
    /// <returns>One line per component: name, whether it is reachable, and the error when not.</returns>
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
    /// <returns>The recorded run.</returns>
    public async Task<RunRecord> RecordRefusalAsync(Plan plan, string actor, CancellationToken cancellationToken)
    {
        var state = await workspace.StateAsync(cancellationToken);
        var run = NewRun("sweep", actor, plan.Policies.Select(p => p.Policy), false);
        await state.StartRunAsync(run, cancellationToken);
        var reasons = plan.Guards.Concat(plan.Policies.SelectMany(p => p.Guards)).Where(g => !g.Passed).Select(g => $"{g.Guard}: {g.Message}").ToList();
        var summary = JsonSerializer.Serialize(new { refused = reasons }, PlanFile.Options);
        await state.FinishRunAsync(run.Id, RunStatus.Refused, timeProvider.GetUtcNow(), summary, cancellationToken);
        return run with { Status = RunStatus.Refused, Summary = summary };
    }

    private async Task<RunResult> RecordedRunAsync(
        IStateStore state,
        RunRecord run,
        Func<DestructiveGate, GateRun, Task<Dictionary<string, GateTotals>>> body,
        CancellationToken cancellationToken)
    {
        if (!run.DryRun)
        {
            await state.StartRunAsync(run, cancellationToken);
        }

        var gate = new DestructiveGate(state, timeProvider, loggerFactory.CreateLogger<DestructiveGate>());
        var totals = new GateTotals();
        Dictionary<string, GateTotals> parts = new(StringComparer.Ordinal);
        var status = RunStatus.Failed;
        try
        {
            parts = await body(gate, new GateRun(run.Id, run.Actor, run.DryRun));
            foreach (var part in parts.Values)
            {
                totals.Add(part);
            }

            status = totals.ObjectsFailed > 0 ? RunStatus.PartiallyFailed : RunStatus.Succeeded;
        }
        finally
        {
            run = run with { FinishedAt = timeProvider.GetUtcNow(), Status = status, Summary = Summary(totals, parts) };
            if (!run.DryRun)
            {
                await state.FinishRunAsync(run.Id, status, run.FinishedAt!.Value, run.Summary, CancellationToken.None);
            }
        }

        return new RunResult(run, totals, parts);
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
        var layout = policy.Layout!;
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
            var totals = policyPlan.Totals;
            totals.GroupsOrphaned = Math.Max(totals.GroupsOrphaned, policyPlan.Groups.Count);
            totals.ObjectsOrphaned = Math.Max(totals.ObjectsOrphaned, policyPlan.Groups.Sum(g => (long)g.Objects.Count));
            totals.GroupsScanned = Math.Max(totals.GroupsScanned, totals.GroupsOrphaned);
            policyPlan.Guards.Clear();
            GuardEvaluator.EvaluatePolicy(policyPlan, Config.Guards, forced);
        }

        plan.Guards.Clear();
        GuardEvaluator.EvaluatePlan(plan, Config.Guards);
    }

    private List<PolicyConfig> Select(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return Config.Policies.Where(p => SupportedPolicyTypes.Contains(p.Type, StringComparer.Ordinal)).ToList();
        }

        var selected = new List<PolicyConfig>();
        foreach (var name in names)
        {
            var policy = Config.Policies.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.Ordinal))
                ?? throw new UsageException($"no policy named '{name}' in {Config.Path} (policies: {string.Join(", ", Config.Policies.Select(p => p.Name))})");
            if (!SupportedPolicyTypes.Contains(policy.Type, StringComparer.Ordinal))
            {
                throw new UsageException($"policy '{name}' is of type '{policy.Type}', which this version does not plan yet (supported: {string.Join(", ", SupportedPolicyTypes)})");
            }

            selected.Add(policy);
        }

        return selected;
    }

    private RunRecord NewRun(string kind, string actor, IEnumerable<string> policies, bool dryRun) =>
        new(RunIds.New(timeProvider.GetUtcNow()), kind, timeProvider.GetUtcNow(), null, RunStatus.Running, actor, string.Join(',', policies), dryRun, null);

    private static string Summary(GateTotals totals, IReadOnlyDictionary<string, GateTotals> parts) => JsonSerializer.Serialize(new
    {
        objects_done = totals.ObjectsDone,
        bytes_done = totals.BytesDone,
        objects_skipped = totals.ObjectsSkipped,
        groups_skipped = totals.GroupsSkipped,
        objects_failed = totals.ObjectsFailed,
        sample_errors = totals.SampleErrors,
        parts = parts.ToDictionary(p => p.Key, p => new { objects_done = p.Value.ObjectsDone, bytes_done = p.Value.BytesDone, objects_skipped = p.Value.ObjectsSkipped, objects_failed = p.Value.ObjectsFailed }),
    });

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
