using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.Partitioning;

/// <summary>
/// What one participant of a partitioned run is asked to do.
/// </summary>
/// <param name="RunKey">The run every participant joins: the same text on each (a Kubernetes Job's name, a date); 1 to 200 characters.</param>
/// <param name="Participant">This participant's index, 0 to <paramref name="Participants"/> − 1 (a Kubernetes Indexed Job's <c>JOB_COMPLETION_INDEX</c>).</param>
/// <param name="Participants">How many participants the run has, 1 or more (the Job's <c>completions</c>).</param>
/// <param name="Policies">Policy names; empty selects every <c>orphans</c> and <c>retention</c> policy.</param>
/// <param name="Force">Accept a grace period below <c>min_age_floor</c>.</param>
/// <param name="Lease">How long a claimed range stays this participant's without a renewal; renewed every third of it. After it, another participant takes the range over.</param>
/// <param name="Wait">The longest this participant waits for the others (their ranges planned, the verdict, their ranges applied) before it gives up (exit 1).</param>
public sealed record PartitionRequest(string RunKey, int Participant, int Participants, IReadOnlyList<string> Policies, bool Force, TimeSpan Lease, TimeSpan Wait)
{
    /// <summary>The default <see cref="Lease"/>: 2 minutes, as a run's owner lease (eight 15-second renewals).</summary>
    public static readonly TimeSpan DefaultLease = RunOwner.Lease;

    /// <summary>The default <see cref="Wait"/>: 6 hours. Replicas joining runs by themselves join those recorded within it.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromHours(6);

    /// <summary>Who runs it, as recorded on the run (the first participant's is kept, and every participant's range runs carry it); <see langword="null"/> records <c>unknown</c>.</summary>
    public string? Actor { get; init; }

    /// <summary>Whether this participant applies the run (a sweep, a scheduled firing) rather than only planning it; once one participant asks, replicas that join by themselves apply it too.</summary>
    public bool Apply { get; init; }

    /// <summary>Parses <c>I/N</c> (<c>--partition</c>): two decimal integers, 0 ≤ I &lt; N.</summary>
    /// <param name="text">The text, for example <c>0/2</c>.</param>
    /// <returns>I and N.</returns>
    /// <exception cref="UsageException">The text is not of that form, or I is not below N.</exception>
    public static (int Participant, int Participants) ParsePartition(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 ||
            !int.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var participant) ||
            !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var participants))
        {
            throw new UsageException($"--partition: '{text}' is not I/N (this participant's index I from 0, of N participants; for example 0/2, or $(JOB_COMPLETION_INDEX)/4 in a Kubernetes Indexed Job)");
        }

        if (participants < 1 || participant >= participants)
        {
            throw new UsageException($"--partition: '{text}' names participant {participant} of {participants}: I must be from 0 to N - 1 (N at least 1)");
        }

        return (participant, participants);
    }
}

/// <summary>One range's outcome as this participant saw it.</summary>
/// <param name="Index">The range.</param>
/// <param name="TakenOver">Whether this participant took it over from another whose lease ran out.</param>
/// <param name="Totals">The range's plan totals, summed over its policies: groups orphaned.</param>
/// <param name="Objects">Objects the range's plan proposes.</param>
/// <param name="Bytes">Bytes the range's plan proposes.</param>
/// <param name="Run">The run that applied it (apply phase only), or <see langword="null"/>.</param>
public sealed record RangeOutcome(int Index, bool TakenOver, long Totals, long Objects, long Bytes, RunResult? Run);

/// <summary>What one participant did in a partitioned run (<see cref="PartitionedRuns.ParticipateAsync"/>).</summary>
/// <param name="Planned">The ranges it planned.</param>
/// <param name="Applied">The ranges it applied (none when the verdict refused the run or the run was not to be applied).</param>
/// <param name="Verdict">The run's verdict.</param>
/// <param name="SummaryRunId">The run summing the whole partitioned run up in <c>reclaim runs</c>, when this participant saw it end and recorded it; <see langword="null"/> otherwise.</param>
public sealed record PartitionParticipation(IReadOnlyList<RangeOutcome> Planned, IReadOnlyList<RangeOutcome> Applied, PartitionVerdict Verdict, string? SummaryRunId);

/// <summary>The guards' verdict over a whole partitioned run.</summary>
/// <param name="Passed">Whether the run may be applied (not refused entirely: a refused policy is skipped alone, as in a sweep).</param>
/// <param name="Plan">The whole run's plan: every policy with its totals summed over the ranges and its verdicts; no groups.</param>
/// <param name="RecordedByThis">Whether this participant evaluated and recorded it.</param>
public sealed record PartitionVerdict(bool Passed, Plan Plan, bool RecordedByThis);

/// <summary>
/// Partitioned runs: several participants (processes, machines, the pods of a Kubernetes Indexed Job) share one run
/// of <see cref="KeySpaceRanges.Count"/> key ranges, recorded in state (PostgreSQL for several machines). It goes in
/// two phases. First every range is planned, each by the participant that claims it (its own ranges first, then any
/// free or expired one), and its plan and totals are recorded in state. Once every range is planned the guards are
/// evaluated once, over the whole run's totals, and the verdict recorded (the first participant to get there records
/// it; the others read it). Only then do participants claim planned ranges to apply them, each range applied once,
/// by one run through <see cref="DestructiveGate"/>, which re-checks every batch as always. No participant deletes
/// before the run's totals are known; a run the guards refuse applies nothing.
/// </summary>
/// <remarks>
/// A claimed range has a lease (<see cref="PartitionRequest.Lease"/>) that its participant renews; a participant
/// that dies (SIGKILL, a lost pod) stops renewing it, and once it runs out another participant takes the range over:
/// plans it again if it was being planned, or applies it if it was being applied (the dead one's apply run is settled
/// from the store's state as any interrupted run is; what it had already removed is gone at the re-check and
/// skipped). A participant waits for the others' ranges, within <see cref="PartitionRequest.Wait"/>, so a run is
/// finished by whoever is left.
/// </remarks>
/// <param name="engine">The engine that plans and applies each range.</param>
/// <param name="workspace">Stores and state.</param>
/// <param name="timeProvider">The clock.</param>
/// <param name="loggerFactory">Logging.</param>
public sealed class PartitionedRuns(ReclaimEngine engine, Workspace workspace, TimeProvider timeProvider, ILoggerFactory loggerFactory)
{
    private static readonly JsonSerializerOptions Compact = new(PlanFile.Options) { WriteIndented = false };

    /// <summary>The runs this process takes part in now (a participant's owner is the process), by key: a replica joining runs by itself leaves them to the participant already in it.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> ActiveRuns = new(StringComparer.Ordinal);

    /// <summary>Runs this process found it cannot join (another config), logged once each.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Unjoinable = new(StringComparer.Ordinal);

    private readonly ILogger _logger = loggerFactory.CreateLogger("Reclaim.Engine.Partitioning");

    /// <summary>Receives a line for the user about waiting and taking over (stderr in the CLI); may be <see langword="null"/>.</summary>
    public Action<string>? Notice { get; set; }

    /// <summary>How often a participant looks again while it waits for the others: 1 second, or a quarter of the lease when shorter.</summary>
    private static TimeSpan PollInterval(PartitionRequest request) => TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, request.Lease.Ticks / 4));

    /// <summary>The store a policy's plan lists: the store itself, or only the keys of <paramref name="keyRange"/> under the layout's fixed prefix.</summary>
    /// <param name="store">The policy's store.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="keyRange">A range index (<see cref="KeySpaceRanges"/>), or <see langword="null"/> for the whole store.</param>
    /// <returns>The store to plan from.</returns>
    /// <exception cref="UsageException">A range is asked for a policy without a layout (a <c>records</c> policy).</exception>
    public static IObjectStore Scope(IObjectStore store, PolicyConfig policy, int? keyRange)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (keyRange is not { } index)
        {
            return store;
        }

        var layout = (policy as LayoutPolicy)?.Layout ?? throw new UsageException($"policy '{policy.Name}' has no layout: a partitioned run plans orphans and retention policies only");
        return new RangeScopedStore(store, KeySpaceRanges.Range(layout.FixedPrefix, index));
    }

    /// <summary>
    /// Plans this participant's share of the run (joining it, or recording it when it is the first): claims pending
    /// ranges one at a time, own ones first, plans each and records its plan, until none is left to claim. When no
    /// range is left pending, the run's verdict is evaluated and recorded too (see <see cref="AwaitVerdictAsync"/>).
    /// </summary>
    /// <param name="request">The run and this participant.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops planning; the range being planned is given back.</param>
    /// <returns>The ranges this participant planned, and the run's verdict when every range is planned.</returns>
    /// <exception cref="UsageException">The state is not a database that records partitioned runs, a policy cannot be partitioned, or the run key was started with another definition.</exception>
    public async Task<(IReadOnlyList<RangeOutcome> Planned, PartitionVerdict? Verdict)> PlanShareAsync(PartitionRequest request, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var (state, policies) = await JoinAsync(request, cancellationToken);
        var planned = new List<RangeOutcome>();
        await using (var leases = LeaseRenewal.Start(state, request, Owner(request), timeProvider))
        {
            while (await PlanOneAsync(state, request, policies, progress, cancellationToken) is { } outcome)
            {
                planned.Add(outcome);
            }
        }

        var verdict = await TryVerdictAsync(state, request, policies, cancellationToken);
        return (planned, verdict);
    }

    /// <summary>
    /// Waits until the run's verdict is recorded, within <see cref="PartitionRequest.Wait"/>: planning any range that
    /// becomes free (a participant that died while planning it), and evaluating the verdict once every range is
    /// planned, if no other participant has.
    /// </summary>
    /// <param name="request">The run and this participant.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The verdict, and the ranges this participant planned while it waited.</returns>
    /// <exception cref="TimeoutException">No verdict within <see cref="PartitionRequest.Wait"/> (some range is still being planned by another participant).</exception>
    public async Task<(PartitionVerdict Verdict, IReadOnlyList<RangeOutcome> Planned)> AwaitVerdictAsync(PartitionRequest request, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var (state, policies) = await JoinAsync(request, cancellationToken);
        var deadline = timeProvider.GetUtcNow() + request.Wait;
        var planned = new List<RangeOutcome>();
        var told = false;
        await using var leases = LeaseRenewal.Start(state, request, Owner(request), timeProvider);
        while (true)
        {
            if (await TryVerdictAsync(state, request, policies, cancellationToken) is { } verdict)
            {
                return (verdict, planned);
            }

            if (await PlanOneAsync(state, request, policies, progress, cancellationToken) is { } outcome)
            {
                planned.Add(outcome);
                continue;
            }

            var ranges = await state.ListRangesAsync(request.RunKey, cancellationToken);
            var waiting = ranges.Where(r => r.Phase == RangePhase.Pending).ToList();
            if (timeProvider.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"partitioned run '{request.RunKey}': no guard verdict after waiting {Core.Duration.Format(request.Wait)}; ranges still being planned: {Describe(waiting)}");
            }

            if (!told)
            {
                Notice?.Invoke($"waiting for the run's other ranges to be planned ({Describe(waiting)}) before the guards are evaluated over the whole run");
                told = true;
            }

            await Task.Delay(PollInterval(request), timeProvider, cancellationToken);
        }
    }

    /// <summary>
    /// Applies this participant's share of a run whose verdict passed: claims planned ranges one at a time, own ones
    /// first, and applies each as one run (kind <c>sweep</c>) through the gate; then waits, within
    /// <see cref="PartitionRequest.Wait"/>, for the ranges other participants hold, taking over any whose lease runs out.
    /// </summary>
    /// <param name="request">The run and this participant.</param>
    /// <param name="verdict">The run's verdict (<see cref="AwaitVerdictAsync"/>); a refused one applies nothing.</param>
    /// <param name="actor">Who applies, as recorded on each run.</param>
    /// <param name="cancellationToken">The hard stop (see <see cref="ReclaimEngine.ApplyAsync"/>).</param>
    /// <param name="stopping">The soft stop: the range being applied ends interrupted and is given back; no other is claimed.</param>
    /// <returns>The ranges this participant applied.</returns>
    /// <exception cref="GuardRefusedException">The verdict refused the run.</exception>
    /// <exception cref="TimeoutException">Ranges held by other participants were not applied within <see cref="PartitionRequest.Wait"/>.</exception>
    public Task<IReadOnlyList<RangeOutcome>> ApplyShareAsync(PartitionRequest request, PartitionVerdict verdict, string actor, CancellationToken cancellationToken, CancellationToken stopping = default) =>
        ApplyAsync(request, verdict, actor, waitForOthers: true, cancellationToken, stopping);

    private async Task<IReadOnlyList<RangeOutcome>> ApplyAsync(PartitionRequest request, PartitionVerdict verdict, string actor, bool waitForOthers, CancellationToken cancellationToken, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        if (!verdict.Passed)
        {
            throw new GuardRefusedException($"partitioned run '{request.RunKey}': {string.Join("; ", ReclaimEngine.RefusalReasons(verdict.Plan))}");
        }

        var (state, _) = await JoinAsync(request, cancellationToken);
        var owner = Owner(request);
        var deadline = timeProvider.GetUtcNow() + request.Wait;
        var applied = new List<RangeOutcome>();
        var told = false;
        await using var leases = LeaseRenewal.Start(state, request, owner, timeProvider);
        while (!stopping.IsCancellationRequested)
        {
            var now = timeProvider.GetUtcNow();
            var claim = await state.ClaimRangeAsync(request.RunKey, RangePhase.Planned, request.Participant, request.Participants, owner, now, now + request.Lease, cancellationToken);
            if (claim is null)
            {
                var ranges = await state.ListRangesAsync(request.RunKey, cancellationToken);
                var left = ranges.Where(r => r.Phase != RangePhase.Applied).ToList();
                if (left.Count == 0 || !waitForOthers)
                {
                    break;
                }

                if (timeProvider.GetUtcNow() > deadline)
                {
                    throw new TimeoutException($"partitioned run '{request.RunKey}': ranges not applied after waiting {Core.Duration.Format(request.Wait)}: {Describe(left)}");
                }

                if (!told)
                {
                    Notice?.Invoke($"waiting for the ranges other participants are applying ({Describe(left)}); any whose lease runs out is taken over");
                    told = true;
                }

                await Task.Delay(PollInterval(request), timeProvider, cancellationToken);
                continue;
            }

            if (claim.TakenOver)
            {
                Notice?.Invoke($"range {claim.Index}: taken over to apply (its participant's lease ran out)");
            }

            var plan = ReadPlan(claim, request);
            WithRunTotals(plan, verdict.Plan);
            var runId = RunIds.New(timeProvider.GetUtcNow());
            RunResult result;
            try
            {
                if (!await state.RecordApplyingAsync(request.RunKey, claim.Index, owner, runId, cancellationToken))
                {
                    continue; // taken over between the claim and now
                }

                result = await engine.ApplyAsync(plan, actor, dryRun: false, cancellationToken, "sweep", runId, stopping: stopping);
            }
            catch
            {
                await state.ReleaseRangeAsync(request.RunKey, claim.Index, owner, CancellationToken.None);
                throw;
            }

            if (result.Run.Status == RunStatus.Interrupted || result.Totals.Stopped)
            {
                // Stopped before the end: the next participant (or this one run again) applies the range whole again.
                await state.ReleaseRangeAsync(request.RunKey, claim.Index, owner, CancellationToken.None);
                applied.Add(Outcome(claim, plan, result));
                break;
            }

            if (!await state.RecordAppliedAsync(request.RunKey, claim.Index, owner, runId, timeProvider.GetUtcNow(), CancellationToken.None))
            {
                Notice?.Invoke($"range {claim.Index}: applied by run {runId}, but another participant had taken it over meanwhile (its lease ran out): the gate's re-check skipped what the other had removed");
            }

            Engine.Log.PartitionRange(_logger, request.RunKey, claim.Index, "applied", plan.Policies.Sum(p => (long)p.Groups.Count) - result.Totals.GroupsSkipped, result.Totals.ObjectsDone, result.Totals.BytesDone);
            applied.Add(Outcome(claim, plan, result));
        }

        return applied;
    }

    /// <summary>
    /// Takes part in the run from start to end, as a scheduled firing does: plans this participant's share, waits for
    /// the run's verdict, and, when it passed and <see cref="PartitionRequest.Apply"/> is set, applies the ranges it
    /// claims and waits for the others'; then, when the run has ended, records its summary run once. A run that ended
    /// already (every range applied, or refused) is found so and nothing is done again.
    /// </summary>
    /// <param name="request">The run and this participant.</param>
    /// <param name="progress">Listing progress; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">The hard stop.</param>
    /// <param name="stopping">The soft stop: planning ends, the range being applied ends interrupted and is given back.</param>
    /// <returns>What this participant did, and the verdict (a refused run applies nothing and throws nothing).</returns>
    /// <exception cref="UsageException">The state records no partitioned runs, a policy cannot be partitioned, or the run key was started with another definition.</exception>
    /// <exception cref="TimeoutException">The others did not finish within <see cref="PartitionRequest.Wait"/>.</exception>
    public async Task<PartitionParticipation> ParticipateAsync(PartitionRequest request, IProgress<ScanProgress>? progress, CancellationToken cancellationToken, CancellationToken stopping = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var active = Participating(request.RunKey);
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
        var (shared, _) = await PlanShareAsync(request, progress, both.Token);
        var (verdict, more) = await AwaitVerdictAsync(request, progress, both.Token);
        var planned = shared.Concat(more).ToList();
        IReadOnlyList<RangeOutcome> applied = [];
        if (verdict.Passed && request.Apply)
        {
            applied = await ApplyAsync(request, verdict, request.Actor ?? "unknown", waitForOthers: true, cancellationToken, stopping);
        }

        var summary = await TrySummaryAsync(await StateAsync(cancellationToken), request, verdict, CancellationToken.None);
        return new PartitionParticipation(planned, applied, verdict, summary);
    }

    /// <summary>
    /// One pass of a replica joining runs by itself (<c>reclaim serve</c> and <c>reclaim worker</c> with
    /// <c>server.join_partitioned_runs</c>): for each open run recorded within <see cref="PartitionRequest.DefaultWait"/>
    /// that this process is not already in and that this config makes the same way, plans every range it can claim
    /// (free, or whose lease ran out), evaluates the verdict when every range is planned, and, for a run to be applied
    /// whose verdict passed, applies every range it can claim. It never waits for ranges other participants hold.
    /// </summary>
    /// <param name="lease">How long a range this replica claims stays its own without a renewal (renewed every third of it).</param>
    /// <param name="cancellationToken">The hard stop.</param>
    /// <param name="stopping">The soft stop: the range being planned is given back, the one being applied ends interrupted and is given back.</param>
    /// <returns>How many ranges this pass planned and applied.</returns>
    public async Task<int> JoinOpenRunsAsync(TimeSpan lease, CancellationToken cancellationToken, CancellationToken stopping = default)
    {
        if (await workspace.StateAsync(cancellationToken) is not IPartitionedRuns state)
        {
            return 0;
        }

        var done = 0;
        var open = await state.ListOpenRunsAsync(timeProvider.GetUtcNow() - PartitionRequest.DefaultWait, cancellationToken);
        foreach (var run in open)
        {
            if (stopping.IsCancellationRequested)
            {
                break;
            }

            if (ActiveRuns.ContainsKey(run.RunKey))
            {
                continue; // this process takes part in it already (a scheduled firing)
            }

            var request = new PartitionRequest(run.RunKey, 0, 1, run.Policies!, run.Force, lease, TimeSpan.Zero) { Actor = run.Actor };
            using var active = Participating(run.RunKey);
            try
            {
                using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
                var (planned, verdict) = await PlanShareAsync(request, null, both.Token);
                done += planned.Count;
                if (verdict is { Passed: true } && run.Apply)
                {
                    var applied = await ApplyAsync(request, verdict, run.Actor ?? "unknown", waitForOthers: false, cancellationToken, stopping);
                    done += applied.Count;
                }

                if (verdict is not null)
                {
                    await TrySummaryAsync(state, request, verdict, CancellationToken.None);
                }
            }
            catch (UsageException e)
            {
                // Another config (other policies, another version's fingerprint): the run is its participants' to finish.
                if (Unjoinable.TryAdd(run.RunKey, 0))
                {
                    Engine.Log.PartitionedRunNotJoined(_logger, run.RunKey, e.Message);
                }
            }
        }

        return done;
    }

    /// <summary>
    /// Joins open runs (<see cref="JoinOpenRunsAsync"/>) every <paramref name="interval"/> until stopped; a pass that
    /// fails is logged and the next one tries again.
    /// </summary>
    /// <param name="interval">Time between passes (<c>server.cluster_checkin_interval</c>).</param>
    /// <param name="lease">The lease of each range claimed (<see cref="ServerConfig.PartitionLease"/>).</param>
    /// <param name="cancellationToken">The hard stop.</param>
    /// <param name="stopping">The soft stop, ending the loop after the range in hand.</param>
    /// <returns>A task that ends when stopped.</returns>
    public async Task JoinOpenRunsContinuouslyAsync(TimeSpan interval, TimeSpan lease, CancellationToken cancellationToken, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                await JoinOpenRunsAsync(lease, cancellationToken, stopping);
            }
            catch (Exception e) when (!stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                Engine.Log.PartitionedRunJoinFailed(_logger, e);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            try
            {
                await Task.Delay(interval, timeProvider, stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>
    /// Once every range of a run to be applied is applied, records the run that sums the whole partitioned
    /// run up, exactly once whichever participant gets there (a conditional write): kind <c>partitioned</c>, the
    /// range runs' totals, its participants, and each range's run; and counts it once in the run metrics.
    /// </summary>
    private async Task<string?> TrySummaryAsync(IPartitionedRuns state, PartitionRequest request, PartitionVerdict verdict, CancellationToken cancellationToken)
    {
        var run = await state.GetPartitionedRunAsync(request.RunKey, cancellationToken);
        // A refused run is in the history already, as the refused run its verdict recorded.
        if (run is null || run.SummaryRunId is not null || !verdict.Passed || !run.Apply)
        {
            return null;
        }

        var ranges = await state.ListRangesAsync(request.RunKey, cancellationToken);
        if (ranges.Any(r => r.Phase != RangePhase.Applied))
        {
            return null;
        }

        var id = RunIds.New(timeProvider.GetUtcNow());
        if (!await state.RecordSummaryAsync(request.RunKey, id, cancellationToken))
        {
            return null;
        }

        var history = await workspace.StateAsync(cancellationToken);
        var parts = new Dictionary<string, RunPartSummary>(StringComparer.Ordinal);
        var statuses = new List<RunStatus>();
        var (objects, bytes, skipped, failed) = (0L, 0L, 0L, 0L);
        foreach (var range in ranges.Where(r => r.ApplyRunId is not null))
        {
            var rangeRun = await history.GetRunAsync(range.ApplyRunId!, cancellationToken);
            if (rangeRun is null)
            {
                continue;
            }

            statuses.Add(rangeRun.Status);
            var summary = RunSummary.Parse(rangeRun.Summary);
            objects += summary?.ObjectsDone ?? 0;
            bytes += summary?.BytesDone ?? 0;
            skipped += summary?.ObjectsSkipped ?? 0;
            failed += summary?.ObjectsFailed ?? 0;
            foreach (var (name, part) in summary?.Parts ?? new Dictionary<string, RunPartSummary>(StringComparer.Ordinal))
            {
                parts[name] = parts.TryGetValue(name, out var sum)
                    ? sum with { ObjectsDone = sum.ObjectsDone + part.ObjectsDone, BytesDone = sum.BytesDone + part.BytesDone, ObjectsSkipped = sum.ObjectsSkipped + part.ObjectsSkipped, ObjectsFailed = sum.ObjectsFailed + part.ObjectsFailed }
                    : part with { Planned = null };
            }
        }

        var status = statuses.Contains(RunStatus.Failed) ? RunStatus.Failed
            : statuses.Contains(RunStatus.PartiallyFailed) || failed > 0 ? RunStatus.PartiallyFailed
            : RunStatus.Succeeded;
        var participants = ranges.SelectMany(r => new[] { r.PlannedBy, r.AppliedBy }).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var recorded = new RunSummary
        {
            ObjectsDone = objects,
            BytesDone = bytes,
            ObjectsSkipped = skipped,
            ObjectsFailed = failed,
            Parts = parts,
            Partitioned = new PartitionedRunSummary
            {
                RunKey = request.RunKey,
                Participants = participants,
                Ranges = [.. ranges.Select(r => new PartitionedRangeSummary { Range = r.Index, RunId = r.ApplyRunId, PlannedBy = r.PlannedBy, AppliedBy = r.AppliedBy, Takeovers = r.Takeovers })],
            },
        };
        var policies = verdict.Plan.Policies.Select(p => p.Policy).ToList();
        var now = timeProvider.GetUtcNow();
        await history.StartRunAsync(new RunRecord(id, "partitioned", run.CreatedAt, null, RunStatus.Running, run.Actor ?? "unknown", string.Join(',', policies), false, null, Owner: RunOwner.Current, HeartbeatAt: now), cancellationToken);
        var error = status == RunStatus.Succeeded ? null : $"{failed} actions failed in the range runs; see each with reclaim runs show";
        await history.FinishRunAsync(id, status, now, recorded.ToJson(), error, cancellationToken);
        var statusName = status switch { RunStatus.Succeeded => "succeeded", RunStatus.PartiallyFailed => "partially_failed", _ => "failed" };
        foreach (var policy in policies)
        {
            var part = parts.GetValueOrDefault(policy);
            Telemetry.ReclaimMetrics.RunFinished(policy, statusName, false, part?.ObjectsDone ?? 0, part?.BytesDone ?? 0);
        }

        Engine.Log.PartitionedRunFinished(_logger, request.RunKey, id, statusName, participants.Count, objects, bytes);
        return id;
    }

    /// <summary>Marks <paramref name="runKey"/> as one this process takes part in, until disposed.</summary>
    private static Membership Participating(string runKey)
    {
        ActiveRuns.AddOrUpdate(runKey, 1, (_, n) => n + 1);
        return new Membership(runKey);
    }

    private readonly struct Membership(string runKey) : IDisposable
    {
        public void Dispose()
        {
            if (ActiveRuns.AddOrUpdate(runKey, 0, (_, n) => n - 1) <= 0)
            {
                ActiveRuns.TryRemove(new KeyValuePair<string, int>(runKey, 0));
            }
        }
    }

    /// <summary>The run as recorded, its ranges, and, once every range is planned, its verdict.</summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The run (or <see langword="null"/> when there is none with that key) and its ranges.</returns>
    public async Task<(PartitionedRunRecord? Run, IReadOnlyList<PartitionRange> Ranges)> ShowAsync(string runKey, CancellationToken cancellationToken)
    {
        var state = await StateAsync(cancellationToken);
        var run = await state.GetPartitionedRunAsync(runKey, cancellationToken);
        return (run, run is null ? [] : await state.ListRangesAsync(runKey, cancellationToken));
    }

    private async Task<IPartitionedRuns> StateAsync(CancellationToken cancellationToken) =>
        await workspace.StateAsync(cancellationToken) as IPartitionedRuns
            ?? throw new UsageException("this state database does not record partitioned runs: use state provider postgres (or sqlite, for participants on one machine)");

    private async Task<(IPartitionedRuns State, IReadOnlyList<PolicyConfig> Policies)> JoinAsync(PartitionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.RunKey) || request.RunKey.Length > 200)
        {
            throw new UsageException("--run-key: a partitioned run needs a key of 1 to 200 characters, the same on every participant (for example the Kubernetes Job's name)");
        }

        if (request.Lease < TimeSpan.FromSeconds(1))
        {
            throw new UsageException($"--lease must be at least 1s, found {Core.Duration.Format(request.Lease)}");
        }

        var policies = Policies(request.Policies);
        var state = await StateAsync(cancellationToken);
        var definition = Definition(policies, request.Force);
        var run = await state.JoinRunAsync(request.RunKey, definition, KeySpaceRanges.Count, timeProvider.GetUtcNow(), cancellationToken);
        if (!string.Equals(run.Definition, definition, StringComparison.Ordinal) || run.Ranges != KeySpaceRanges.Count)
        {
            throw new UsageException($"partitioned run '{request.RunKey}' was started with other policies or another config (definition {run.Definition}, here {definition}): give every participant the same config, policies and --force, or use another --run-key");
        }

        // What the run plans, and whether it is applied, for the replicas that join it by themselves.
        await state.RecordRequestAsync(request.RunKey, [.. policies.Select(p => p.Name)], request.Force, request.Actor ?? "unknown", request.Apply, cancellationToken);
        return (state, policies);
    }

    /// <summary>The selected policies: every orphans and retention policy when none is named; each named one must be one of those, without <c>confirm_after</c>.</summary>
    private List<LayoutPolicy> Policies(IReadOnlyList<string> names)
    {
        var selected = engine.SelectPolicies(names);
        var policies = new List<LayoutPolicy>();
        foreach (var selectedPolicy in selected)
        {
            if (selectedPolicy is not LayoutPolicy policy)
            {
                if (names.Count == 0)
                {
                    continue; // every policy: the layout ones
                }

                throw new UsageException($"policy '{selectedPolicy.Name}' ({PolicyKinds.Name(selectedPolicy.Kind)}) has no layout: a partitioned run plans orphans and retention policies; run it without --partition");
            }

            policies.Add(policy);
            if (policy.ConfirmAfter is not null)
            {
                throw new UsageException($"policy '{policy.Name}' has confirm_after, whose sightings are kept per whole plan: run it without --partition");
            }
        }

        if (policies.Count == 0)
        {
            throw new UsageException("no orphans or retention policy to run: a partitioned run plans those only");
        }

        return policies;
    }

    private static string Definition(IReadOnlyList<PolicyConfig> policies, bool force)
    {
        var text = string.Join('\n', policies.Select(p => $"{p.Name}\t{PolicyDefinition.Fingerprint(p)}")) + $"\nranges\t{KeySpaceRanges.Count}\tforce\t{force}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>A participant as a range's owner: this process (<see cref="RunOwner.Current"/>) and its index, so two participants in one process are told apart.</summary>
    private static string Owner(PartitionRequest request) => $"{RunOwner.Current}#{request.Participant.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Claims one pending range and plans it; <see langword="null"/> when none is free.</summary>
    private async Task<RangeOutcome?> PlanOneAsync(IPartitionedRuns state, PartitionRequest request, IReadOnlyList<PolicyConfig> policies, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var owner = Owner(request);
        var now = timeProvider.GetUtcNow();
        var claim = await state.ClaimRangeAsync(request.RunKey, RangePhase.Pending, request.Participant, request.Participants, owner, now, now + request.Lease, cancellationToken);
        if (claim is null)
        {
            return null;
        }

        if (claim.TakenOver)
        {
            Notice?.Invoke($"range {claim.Index}: taken over to plan (its participant's lease ran out)");
        }

        try
        {
            var plan = await engine.PlanAsync([.. policies.Select(p => p.Name)], request.Force, new PlanOptions { KeyRange = claim.Index }, progress, cancellationToken);
            var planText = JsonSerializer.Serialize(plan, Compact);
            var totals = Summary(plan);
            if (!await state.RecordPlannedAsync(request.RunKey, claim.Index, owner, totals, planText, timeProvider.GetUtcNow(), cancellationToken))
            {
                Notice?.Invoke($"range {claim.Index}: planned, but another participant had taken it over meanwhile (this lease ran out); its plan is the one kept");
            }

            Engine.Log.PartitionRange(_logger, request.RunKey, claim.Index, "planned", plan.Policies.Sum(p => p.Totals.GroupsOrphaned), plan.ObjectsProposed, plan.BytesProposed);
            return new RangeOutcome(claim.Index, claim.TakenOver, plan.Policies.Sum(p => p.Totals.GroupsOrphaned), plan.ObjectsProposed, plan.BytesProposed, null);
        }
        catch
        {
            await state.ReleaseRangeAsync(request.RunKey, claim.Index, owner, CancellationToken.None);
            throw;
        }
    }

    /// <summary>A range's plan without its groups (totals, verdicts, warnings), as recorded for the run's verdict.</summary>
    private static string Summary(Plan plan)
    {
        var groups = plan.Policies.Select(p => p.Groups).ToList();
        try
        {
            foreach (var policy in plan.Policies)
            {
                policy.Groups = [];
            }

            return JsonSerializer.Serialize(plan, Compact);
        }
        finally
        {
            for (var i = 0; i < groups.Count; i++)
            {
                plan.Policies[i].Groups = groups[i];
            }
        }
    }

    /// <summary>
    /// The recorded verdict, or, when every range is planned and none is recorded, the verdict evaluated now over the
    /// whole run's totals and recorded (only one participant's write is kept: the first).
    /// </summary>
    private async Task<PartitionVerdict?> TryVerdictAsync(IPartitionedRuns state, PartitionRequest request, IReadOnlyList<PolicyConfig> policies, CancellationToken cancellationToken)
    {
        var run = await state.GetPartitionedRunAsync(request.RunKey, cancellationToken);
        if (run?.VerdictPassed is { } recorded)
        {
            return new PartitionVerdict(recorded, JsonSerializer.Deserialize<Plan>(run.Verdict!, Compact)!, false);
        }

        var ranges = await state.ListRangesAsync(request.RunKey, cancellationToken);
        if (ranges.Any(r => r.Phase == RangePhase.Pending))
        {
            return null;
        }

        var whole = WholeRun(ranges.Select(r => JsonSerializer.Deserialize<Plan>(r.Totals!, Compact)!).ToList(), policies, request.Force);
        var passed = !whole.RefusedEntirely;
        if (await state.RecordVerdictAsync(request.RunKey, passed, JsonSerializer.Serialize(whole, Compact), Owner(request), timeProvider.GetUtcNow(), cancellationToken))
        {
            if (!passed)
            {
                // The refusal is in the history as a refused run, as a sweep's is, and counted once; nothing was touched.
                await engine.RecordRefusalAsync(whole, $"partitioned:{request.RunKey}", CancellationToken.None);
                foreach (var policy in whole.Policies)
                {
                    Telemetry.ReclaimMetrics.RunFinished(policy.Policy, "refused", false, 0, 0);
                }
            }

            return new PartitionVerdict(passed, whole, true);
        }

        return await TryVerdictAsync(state, request, policies, cancellationToken);
    }

    /// <summary>The whole run's plan: each policy's totals summed over the ranges (references counted once: every range reads them whole), then the guards evaluated as for one plan.</summary>
    private Plan WholeRun(IReadOnlyList<Plan> ranges, IReadOnlyList<PolicyConfig> policies, bool force)
    {
        var whole = new Plan { CreatedAt = ranges.Min(r => r.CreatedAt), ConfigPath = engine.Config.Path };
        foreach (var policy in policies)
        {
            var parts = ranges.Select(r => r.Policies.Single(p => string.Equals(p.Policy, policy.Name, StringComparison.Ordinal))).ToList();
            var first = parts[0];
            var sum = new PolicyPlan
            {
                Policy = first.Policy,
                Type = first.Type,
                Store = first.Store,
                Action = first.Action,
                Layout = first.Layout,
                Definition = first.Definition,
                MinAge = first.MinAge,
                ReferencesRequired = first.ReferencesRequired,
                FractionGuarded = first.FractionGuarded,
            };
            var totals = sum.Totals;
            foreach (var part in parts.Select(p => p.Totals))
            {
                totals.ObjectsScanned += part.ObjectsScanned;
                totals.BytesScanned += part.BytesScanned;
                totals.GroupsScanned += part.GroupsScanned;
                totals.GroupsReferenced += part.GroupsReferenced;
                totals.GroupsTooYoung += part.GroupsTooYoung;
                totals.GroupsOrphaned += part.GroupsOrphaned;
                totals.GroupsUnconfirmed += part.GroupsUnconfirmed;
                totals.ObjectsOrphaned += part.ObjectsOrphaned;
                totals.BytesReclaimable += part.BytesReclaimable;
                totals.ObjectsUnmatched += part.ObjectsUnmatched;
                totals.ObjectsInTrash += part.ObjectsInTrash;
                totals.DurationMs += part.DurationMs;
                totals.ReferencesRead = Math.Max(totals.ReferencesRead, part.ReferencesRead);
                totals.ReferencesUnrenderable = Math.Max(totals.ReferencesUnrenderable, part.ReferencesUnrenderable);
            }

            totals.Queries.AddRange(first.Totals.Queries);
            sum.Warnings.AddRange(parts.SelectMany(p => p.Warnings).Distinct(StringComparer.Ordinal));
            GuardEvaluator.EvaluatePolicy(sum, policy.Guards ?? engine.Config.Guards, force);
            whole.Policies.Add(sum);
        }

        GuardEvaluator.EvaluatePlan(whole, engine.Config.Guards);
        return whole;
    }

    /// <summary>Gives a range's plan the whole run's totals and verdicts, so that the apply's own guard check judges the run, not the range.</summary>
    private static void WithRunTotals(Plan range, Plan whole)
    {
        foreach (var policy in range.Policies)
        {
            var run = whole.Policies.Single(p => string.Equals(p.Policy, policy.Policy, StringComparison.Ordinal));
            var (to, from) = (policy.Totals, run.Totals);
            to.ObjectsScanned = from.ObjectsScanned;
            to.BytesScanned = from.BytesScanned;
            to.GroupsScanned = from.GroupsScanned;
            to.GroupsReferenced = from.GroupsReferenced;
            to.GroupsTooYoung = from.GroupsTooYoung;
            to.GroupsOrphaned = from.GroupsOrphaned;
            to.GroupsUnconfirmed = from.GroupsUnconfirmed;
            to.ObjectsOrphaned = from.ObjectsOrphaned;
            to.BytesReclaimable = from.BytesReclaimable;
            to.ReferencesRead = from.ReferencesRead;
            to.ReferencesUnrenderable = from.ReferencesUnrenderable;
            policy.Guards.Clear();
            policy.Guards.AddRange(run.Guards);
        }

        range.Guards.Clear();
        range.Guards.AddRange(whole.Guards);
    }

    private static Plan ReadPlan(RangeClaim claim, PartitionRequest request) =>
        JsonSerializer.Deserialize<Plan>(claim.Plan ?? throw new InvalidOperationException($"partitioned run '{request.RunKey}': range {claim.Index} is planned but has no plan recorded"), Compact)!;

    private static RangeOutcome Outcome(RangeClaim claim, Plan plan, RunResult result) =>
        new(claim.Index, claim.TakenOver, plan.Policies.Sum(p => (long)p.Groups.Count), plan.Policies.Sum(p => p.Groups.Sum(g => (long)g.Objects.Count)), plan.Policies.Sum(p => p.Groups.Sum(g => g.Bytes)), result);

    private static string Describe(IReadOnlyList<PartitionRange> ranges) =>
        ranges.Count == 0 ? "none" : string.Join(", ", ranges.Select(r => r.Owner is null ? $"{r.Index}" : $"{r.Index} (held by {r.Owner}{(r.LeaseUntil is { } until ? $" until {until:HH:mm:ss}Z" : string.Empty)})"));

    /// <summary>Renews this participant's leases every third of the lease until disposed; a failed renewal is tried again at the next beat.</summary>
    private sealed class LeaseRenewal : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private LeaseRenewal(IPartitionedRuns state, PartitionRequest request, string owner, TimeProvider timeProvider)
        {
            _loop = RenewAsync(state, request, owner, timeProvider, _stop.Token);
        }

        public static LeaseRenewal Start(IPartitionedRuns state, PartitionRequest request, string owner, TimeProvider timeProvider) => new(state, request, owner, timeProvider);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }

        private static async Task RenewAsync(IPartitionedRuns state, PartitionRequest request, string owner, TimeProvider timeProvider, CancellationToken stop)
        {
            using var timer = new PeriodicTimer(request.Lease / 3, timeProvider);
            try
            {
                while (await timer.WaitForNextTickAsync(stop))
                {
                    try
                    {
                        await state.RenewLeasesAsync(request.RunKey, owner, timeProvider.GetUtcNow() + request.Lease, stop);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // The next beat tries again; a lease only runs out after three missed beats.
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
