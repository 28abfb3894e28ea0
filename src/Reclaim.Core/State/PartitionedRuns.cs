namespace Reclaim.Core.State;

/// <summary>Where one key range of a partitioned run is: each goes <see cref="Pending"/> → <see cref="Planned"/> → <see cref="Applied"/>, never back.</summary>
public enum RangePhase
{
    /// <summary>Not planned yet: a participant claims it to plan it.</summary>
    Pending,

    /// <summary>Planned: its candidates and totals are recorded; once the run's guard verdict passed, a participant claims it to apply it.</summary>
    Planned,

    /// <summary>Applied, by one run (<see cref="PartitionRange.ApplyRunId"/>). A run the guards refused keeps its ranges planned and applies none.</summary>
    Applied,
}

/// <summary>A partitioned run as recorded in state: the run every participant with the same key joins.</summary>
/// <param name="RunKey">The key every participant names (<c>--run-key</c>), for example a Kubernetes Job's name; ordinal.</param>
/// <param name="Definition">What the run plans: a fingerprint of its policies' definitions and of its ranges. A participant whose config makes another is refused.</param>
/// <param name="Ranges">How many key ranges the run has, 1 or more (ranges 0 to <paramref name="Ranges"/> − 1).</param>
/// <param name="CreatedAt">When the first participant recorded it (UTC).</param>
/// <param name="VerdictPassed">The guards' verdict over the whole run's totals: <see langword="null"/> until every range is planned, then whether the run may be applied.</param>
/// <param name="Verdict">The verdict's details as recorded (JSON written by the engine), or <see langword="null"/>.</param>
/// <param name="VerdictBy">The participant that evaluated the guards (a run owner, <c>host:pid:start</c>), or <see langword="null"/>.</param>
public sealed record PartitionedRunRecord(
    string RunKey,
    string Definition,
    int Ranges,
    DateTimeOffset CreatedAt,
    bool? VerdictPassed,
    string? Verdict,
    string? VerdictBy)
{
    /// <summary>The policies the run plans, in the order the first participant named them, or <see langword="null"/> for a run recorded before they were kept (schema step 7).</summary>
    public IReadOnlyList<string>? Policies { get; init; }

    /// <summary>Whether the run accepts a grace period below <c>min_age_floor</c> (<c>--force</c>).</summary>
    public bool Force { get; init; }

    /// <summary>Who started the run (the first participant's actor: <c>schedule:N</c>, a user), recorded on the range runs every participant applies; <see langword="null"/> for an older run.</summary>
    public string? Actor { get; init; }

    /// <summary>Whether some participant asked for the run to be applied (a <c>sweep</c> or a scheduled firing; not only <c>plan</c>). Replicas that join a run by themselves apply only such a run.</summary>
    public bool Apply { get; init; }

    /// <summary>The run in <c>reclaim runs</c> that sums the whole partitioned run up (kind <c>partitioned</c>, its participants and range runs), recorded once by the participant that saw it end; <see langword="null"/> until then.</summary>
    public string? SummaryRunId { get; init; }
}

/// <summary>One key range of a partitioned run, as recorded.</summary>
/// <param name="Index">The range's index, from 0.</param>
/// <param name="Phase">Where it is.</param>
/// <param name="Owner">The participant holding its lease (<c>host:pid:start</c>), or <see langword="null"/> when none does.</param>
/// <param name="LeaseUntil">When the owner's lease runs out (UTC); after it another participant may take the range over.</param>
/// <param name="Totals">The range's per-policy totals as recorded when it was planned (JSON written by the engine), or <see langword="null"/>.</param>
/// <param name="PlannedBy">The participant that planned it, or <see langword="null"/>.</param>
/// <param name="ApplyRunId">The run (in <c>reclaim runs</c>) that applied it, or <see langword="null"/>.</param>
/// <param name="AppliedBy">The participant that applied it, or <see langword="null"/>.</param>
/// <param name="Takeovers">How many times another participant took the range over after its lease ran out.</param>
public sealed record PartitionRange(
    int Index,
    RangePhase Phase,
    string? Owner,
    DateTimeOffset? LeaseUntil,
    string? Totals,
    string? PlannedBy,
    string? ApplyRunId,
    string? AppliedBy,
    int Takeovers);

/// <summary>A range a participant claimed: its index, and for a range claimed to apply, the plan recorded for it.</summary>
/// <param name="Index">The range's index.</param>
/// <param name="Plan">The range's plan as recorded when it was planned (JSON written by the engine); <see langword="null"/> for a range claimed to plan.</param>
/// <param name="TakenOver">Whether the range had an owner whose lease had run out (this participant takes its work over).</param>
public sealed record RangeClaim(int Index, string? Plan, bool TakenOver);

/// <summary>
/// Optional capability of the state: partitioned runs, whose key ranges several participants (processes, machines,
/// the pods of a Kubernetes Indexed Job) plan and apply, each range claimed with a lease. The claims are row locks
/// skipped by the others (<c>FOR UPDATE SKIP LOCKED</c> on PostgreSQL; one write transaction at a time on SQLite),
/// as the queue's are; every write of a range is fenced by its owner, so a participant whose lease was taken over
/// records nothing more for it.
/// </summary>
public interface IPartitionedRuns
{
    /// <summary>
    /// Records the run with its <paramref name="ranges"/> ranges, all <see cref="RangePhase.Pending"/>, unless a run
    /// with that key exists already; returns the run as recorded (the first participant's).
    /// </summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="definition">The run's definition (see <see cref="PartitionedRunRecord.Definition"/>).</param>
    /// <param name="ranges">Ranges, 1 or more.</param>
    /// <param name="now">Now (UTC).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The run, possibly with another definition (the caller refuses then).</returns>
    Task<PartitionedRunRecord> JoinRunAsync(string runKey, string definition, int ranges, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The run with that key, or <see langword="null"/>.</summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The run.</returns>
    Task<PartitionedRunRecord?> GetPartitionedRunAsync(string runKey, CancellationToken cancellationToken);

    /// <summary>Every range of the run, by index (plans left out: they can be large).</summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The ranges.</returns>
    Task<IReadOnlyList<PartitionRange>> ListRangesAsync(string runKey, CancellationToken cancellationToken);

    /// <summary>
    /// Claims one range in <paramref name="phase"/> (<see cref="RangePhase.Pending"/> to plan it,
    /// <see cref="RangePhase.Planned"/> to apply it) that no participant holds a live lease on: participant
    /// <paramref name="participant"/>'s own ranges first (index mod <paramref name="participants"/> equal to it), then
    /// the lowest other free or expired one. A range to apply is claimed only once the run's verdict passed.
    /// </summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="phase"><see cref="RangePhase.Pending"/> or <see cref="RangePhase.Planned"/>.</param>
    /// <param name="participant">This participant's index, 0 to <paramref name="participants"/> − 1.</param>
    /// <param name="participants">Participants in the run, 1 or more.</param>
    /// <param name="owner">This participant (<c>host:pid:start</c>).</param>
    /// <param name="now">Now (UTC): a lease that ran out before it is taken over.</param>
    /// <param name="leaseUntil">When the new lease runs out.</param>
    /// <param name="cancellationToken">Cancels the claim (nothing is claimed then).</param>
    /// <returns>The claimed range, or <see langword="null"/> when none is free in that phase.</returns>
    Task<RangeClaim?> ClaimRangeAsync(string runKey, RangePhase phase, int participant, int participants, string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Extends this participant's leases on the run's ranges it holds.</summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="owner">This participant.</param>
    /// <param name="leaseUntil">The new end of the leases.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>How many leases were extended.</returns>
    Task<int> RenewLeasesAsync(string runKey, string owner, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Gives a range back unfinished (its lease ends now), so another participant may claim it at once.</summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="index">The range.</param>
    /// <param name="owner">This participant; nothing happens when another holds it.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    Task ReleaseRangeAsync(string runKey, int index, string owner, CancellationToken cancellationToken);

    /// <summary>Records a pending range's plan and totals, and moves it to <see cref="RangePhase.Planned"/> (its lease ends).</summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="index">The range.</param>
    /// <param name="owner">This participant: the write happens only while it holds the range.</param>
    /// <param name="totals">The range's totals (JSON).</param>
    /// <param name="plan">The range's plan (JSON).</param>
    /// <param name="now">Now (UTC).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether it was recorded; <see langword="false"/> when another participant took the range over.</returns>
    Task<bool> RecordPlannedAsync(string runKey, int index, string owner, string totals, string plan, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Records the run applying a planned range that this participant holds (before it applies it), so the range's history names it.</summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="index">The range.</param>
    /// <param name="owner">This participant.</param>
    /// <param name="applyRunId">The run about to apply it.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether this participant still holds the range.</returns>
    Task<bool> RecordApplyingAsync(string runKey, int index, string owner, string applyRunId, CancellationToken cancellationToken);

    /// <summary>Moves a planned range this participant holds to <see cref="RangePhase.Applied"/> (its lease ends).</summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="index">The range.</param>
    /// <param name="owner">This participant.</param>
    /// <param name="applyRunId">The run that applied it.</param>
    /// <param name="now">Now (UTC).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether it was recorded; <see langword="false"/> when another participant took the range over.</returns>
    Task<bool> RecordAppliedAsync(string runKey, int index, string owner, string applyRunId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Records the guards' verdict over the whole run once, when every range is planned and no verdict is recorded
    /// yet (one write wins; the others read it with <see cref="GetPartitionedRunAsync"/>).
    /// </summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="passed">Whether the run may be applied.</param>
    /// <param name="verdict">The verdict's details (JSON).</param>
    /// <param name="by">This participant.</param>
    /// <param name="now">Now (UTC).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether this call recorded it; <see langword="false"/> when a verdict was there already or a range is not planned yet.</returns>
    Task<bool> RecordVerdictAsync(string runKey, bool passed, string verdict, string by, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Records what the run plans and who started it (kept from the first call), and whether it is to be applied (once
    /// any participant asks, it stays asked): so that a replica joining by itself runs it the same way.
    /// </summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="policies">Its policies.</param>
    /// <param name="force">Whether it accepts a grace period below the floor.</param>
    /// <param name="actor">Who starts it.</param>
    /// <param name="apply">Whether this participant applies it (a sweep).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    Task RecordRequestAsync(string runKey, IReadOnlyList<string> policies, bool force, string actor, bool apply, CancellationToken cancellationToken);

    /// <summary>
    /// The runs still open that were recorded after <paramref name="createdAfter"/>, oldest first: those without a
    /// verdict yet (a range to plan, or the verdict to evaluate), and those to be applied (<see cref="PartitionedRunRecord.Apply"/>) whose verdict passed and that
    /// have a range still to apply. A refused run, a planned run nobody asked to apply, and a run recorded without its
    /// policies are not listed.
    /// </summary>
    /// <param name="createdAfter">The oldest run to list (UTC).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The runs.</returns>
    Task<IReadOnlyList<PartitionedRunRecord>> ListOpenRunsAsync(DateTimeOffset createdAfter, CancellationToken cancellationToken);

    /// <summary>Records the run that sums the finished partitioned run up, once: only the first call for a run whose every range is applied (or whose verdict refused it) records it.</summary>
    /// <param name="runKey">The run's key.</param>
    /// <param name="summaryRunId">The summary run's id.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether this call recorded it (and so writes the summary run).</returns>
    Task<bool> RecordSummaryAsync(string runKey, string summaryRunId, CancellationToken cancellationToken);
}
