using Microsoft.Extensions.Logging;
using Reclaim.Core;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Planning;
using Reclaim.Core.Records;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Runs;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Planning: the policies a command names, each planned by its kind's planner (<see cref="LayoutPlanner"/>,
/// <see cref="RecordsPlanner"/>) with its two-sighting confirmation and costs, then the guards' verdicts.
/// </summary>
/// <param name="workspace">The config's stores, catalogs and state.</param>
/// <param name="timeProvider">The clock: a plan's time, and so every age in it.</param>
/// <param name="recorder">Records a run whose planning failed.</param>
/// <param name="logger">The engine's logger.</param>
internal sealed class PlanMaker(Workspace workspace, TimeProvider timeProvider, RunRecorder recorder, ILogger logger)
{
    private ReclaimConfig Config => workspace.Config;

    /// <summary>Makes a plan; see <see cref="ReclaimEngine.PlanAsync(IReadOnlyList{string}, bool, PlanOptions, IProgress{ScanProgress}?, CancellationToken)"/>.</summary>
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
            Timing = message => Log.PlannerTiming(logger, message),
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
            Log.PolicyPlanned(logger, policy.Name, policyPlan.Totals.GroupsOrphaned, policyPlan.Totals.ObjectsOrphaned, policyPlan.Totals.BytesReclaimable, policyPlan.Totals.GroupsScanned, policyPlan.Totals.DurationMs);
            foreach (var refused in policyPlan.Guards.Where(g => !g.Passed))
            {
                Log.GuardRefused(logger, policy.Name, refused.Guard, refused.Message);
            }

            plan.Policies.Add(policyPlan);
        }

        GuardEvaluator.EvaluatePlan(plan, Config.Guards);
        return plan;
    }

    /// <summary>Makes the plan of a recorded run; see <see cref="ReclaimEngine.PlanRunAsync"/>.</summary>
    public async Task<Plan> PlanRunAsync(
        IReadOnlyList<string> policies,
        bool force,
        IProgress<ScanProgress>? progress,
        string actor,
        bool dryRun,
        string? runId,
        string cancelledReason,
        PlanOptions? options,
        CancellationToken cancellationToken)
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
                await recorder.RecordFailureAsync(selected, actor, dryRun, error, runId, CancellationToken.None);
            }
            catch (Exception recording) when (recording is not OutOfMemoryException)
            {
                // The state may be what is unreachable; the planning error is the one to report.
                Log.FailureNotRecorded(logger, recording, error);
            }

            throw;
        }
    }

    /// <summary>
    /// The policies a command or request names: all of a planned kind when none are named, otherwise each named
    /// one, which must exist and be of a planned kind.
    /// </summary>
    /// <param name="names">Policy names; empty for every planned policy.</param>
    /// <returns>The policies, in the order named (config order when none are named).</returns>
    /// <exception cref="UsageException">A name is unknown or its kind is not planned.</exception>
    public List<PolicyConfig> Select(IReadOnlyList<string> names)
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

    /// <summary>Whether plans are made of <paramref name="policy"/>: a layout or records policy (a queue policy is worked by the queue worker).</summary>
    /// <param name="policy">A policy.</param>
    /// <returns><see langword="true"/> when it is planned.</returns>
    public static bool IsPlanned(PolicyConfig policy) => policy is LayoutPolicy or RecordsPolicy;

    /// <summary>
    /// The catalog of a policy's protecting query; for a retention keep query that names <c>@cutoff</c>, a view binding it
    /// (<see cref="Cutoff"/>), the same at planning and at every re-check of the plan.
    /// </summary>
    /// <param name="policy">The policy, with its effective <c>max_age</c>.</param>
    /// <param name="query">One of its protecting queries.</param>
    /// <param name="start">When the plan was made.</param>
    /// <returns>The catalog to run the query on.</returns>
    /// <exception cref="UsageException">The catalog cannot bind <c>@cutoff</c>.</exception>
    public ICatalog ProtectingCatalog(LayoutPolicy policy, QueryConfig query, DateTimeOffset start)
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
}
