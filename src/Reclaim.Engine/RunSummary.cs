using System.Text.Json;
using System.Text.Json.Serialization;
using Reclaim.Core.Planning;
using Reclaim.Core.State;

namespace Reclaim.Engine;

/// <summary>
/// What a run did, as recorded in state (<c>reclaim_runs.summary</c>) and shown by <c>reclaim runs</c>, the HTTP
/// API's runs and the dashboard: one shape for every kind of run — a sweep or apply, a restore, a purge, a queue
/// worker's cycle, a refused plan, a run whose planning failed. Every member is optional on reading: a field a kind
/// of run does not fill reads as zero, empty or <see langword="null"/>, so a history mixing kinds (and summaries
/// recorded by earlier versions, which had the same keys) always reads.
/// </summary>
/// <remarks>
/// JSON keys are snake_case (below, per member); <see langword="null"/> members are left out. Serialized by
/// System.Text.Json source generation (<see cref="RunSummaryJson"/>), so the recorded text and every reader agree.
/// </remarks>
public sealed record RunSummary : RunCounts
{
    /// <summary>Groups (or records rows) skipped whole. Key <c>groups_skipped</c>, after <c>objects_skipped</c>.</summary>
    [JsonPropertyName("groups_skipped")]
    [JsonPropertyOrder(-2)]
    public long GroupsSkipped { get; init; }

    /// <summary>Up to 10 failures, <c>key: error</c>. Key <c>sample_errors</c>; empty when none.</summary>
    [JsonPropertyName("sample_errors")]
    public IReadOnlyList<string> SampleErrors { get; init; } = [];

    /// <summary>
    /// Objects whose intent is recorded but whose outcome is not (the run stopped between the two), when there are
    /// any; <see langword="null"/> otherwise. Key <c>objects_pending</c>.
    /// </summary>
    [JsonPropertyName("objects_pending")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? ObjectsPending { get; init; }

    /// <summary>Groups (or rows) the run never started because it was stopped; <see langword="null"/> for a run that was not stopped. Key <c>not_started</c>.</summary>
    [JsonPropertyName("not_started")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? NotStarted { get; init; }

    /// <summary>The measured window between the gate's re-check and the act, over its sub-batches; <see langword="null"/> when none ran. Key <c>recheck_window_ms</c>.</summary>
    [JsonPropertyName("recheck_window_ms")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RecheckWindowSummary? RecheckWindowMs { get; init; }

    /// <summary>How long the run took, in milliseconds, where measured (sweeps and applies). Key <c>duration_ms</c>.</summary>
    [JsonPropertyName("duration_ms")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? DurationMs { get; init; }

    /// <summary>
    /// Every refusing guard verdict (<c>guard: message</c>, or <c>policy 'NAME': guard: message</c>), when a guard
    /// refused the plan or some of its policies; <see langword="null"/> otherwise. Key <c>refused</c>.
    /// </summary>
    [JsonPropertyName("refused")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Refused { get; init; }

    /// <summary>Why a run failed before acting (its plan could not be made), one line; <see langword="null"/> otherwise. Key <c>error</c>.</summary>
    [JsonPropertyName("error")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }

    /// <summary>A queue worker's cycle: requests executed and marked processed. Key <c>requests_processed</c>; <see langword="null"/> for other kinds.</summary>
    [JsonPropertyName("requests_processed")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? RequestsProcessed { get; init; }

    /// <summary>A queue worker's cycle: requests marked failed, each with its error. Key <c>requests_failed</c>.</summary>
    [JsonPropertyName("requests_failed")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? RequestsFailed { get; init; }

    /// <summary>A queue worker's cycle: requests claimed and released unprocessed (the worker was stopping). Key <c>requests_released</c>.</summary>
    [JsonPropertyName("requests_released")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? RequestsReleased { get; init; }

    /// <summary>A partitioned run's summary run (kind <c>partitioned</c>): its key, participants and range runs; <see langword="null"/> for other kinds. Key <c>partitioned</c>.</summary>
    [JsonPropertyName("partitioned")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Partitioning.PartitionedRunSummary? Partitioned { get; init; }

    /// <summary>
    /// Per part — a policy of a sweep or apply, a store of a restore or purge — what was done, keyed by its name
    /// (ordinal). Key <c>parts</c>; empty for a queue cycle, a refusal or a failure.
    /// </summary>
    [JsonPropertyName("parts")]
    public IReadOnlyDictionary<string, RunPartSummary> Parts { get; init; } = new Dictionary<string, RunPartSummary>(StringComparer.Ordinal);

    /// <summary>The summary as recorded: compact JSON.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(this, RunSummaryJson.Default.RunSummary);

    /// <summary>
    /// Reads a recorded summary. Missing members take their defaults; unknown members are ignored. Text that is not
    /// a JSON object (a summary written by hand, or damaged) reads as a summary whose <see cref="Error"/> is that
    /// text, so a history never fails to print.
    /// </summary>
    /// <param name="json">The recorded text, or <see langword="null"/> (a run still going, or one that recorded none).</param>
    /// <returns>The summary, or <see langword="null"/> when <paramref name="json"/> is <see langword="null"/> or blank.</returns>
    public static RunSummary? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            var summary = JsonSerializer.Deserialize(json, RunSummaryJson.Default.RunSummary);
            if (summary is null)
            {
                return new RunSummary { Error = json };
            }

            // An explicit null in the text reads as empty, as a missing member does.
            return summary.SampleErrors is null || summary.Parts is null
                ? summary with { SampleErrors = summary.SampleErrors ?? [], Parts = summary.Parts ?? new Dictionary<string, RunPartSummary>(StringComparer.Ordinal) }
                : summary;
        }
        catch (JsonException)
        {
            return new RunSummary { Error = json };
        }
    }

    /// <summary>The summary of a recorded run (<see cref="Parse"/> of <see cref="RunRecord.Summary"/>).</summary>
    /// <param name="run">The run.</param>
    /// <returns>The summary, or <see langword="null"/> when the run has none yet.</returns>
    public static RunSummary? Of(RunRecord run) => Parse(run.Summary);
}

/// <summary>
/// What was done to objects, as a whole run (<see cref="RunSummary"/>) and each of its parts (<see cref="RunPartSummary"/>)
/// report it: one set of counters with one set of keys, written first in this order.
/// </summary>
public abstract record RunCounts
{
    /// <summary>Objects deleted, quarantined, restored or purged (a queue cycle: removed). Key <c>objects_done</c>.</summary>
    [JsonPropertyName("objects_done")]
    [JsonPropertyOrder(-5)]
    public long ObjectsDone { get; init; }

    /// <summary>Bytes of <see cref="ObjectsDone"/>. Key <c>bytes_done</c>.</summary>
    [JsonPropertyName("bytes_done")]
    [JsonPropertyOrder(-4)]
    public long BytesDone { get; init; }

    /// <summary>Objects the gate's re-check kept (referenced now, young now, changed or gone). Key <c>objects_skipped</c>.</summary>
    [JsonPropertyName("objects_skipped")]
    [JsonPropertyOrder(-3)]
    public long ObjectsSkipped { get; init; }

    /// <summary>Objects the store failed on, each recorded with its error. Key <c>objects_failed</c>.</summary>
    [JsonPropertyName("objects_failed")]
    [JsonPropertyOrder(-1)]
    public long ObjectsFailed { get; init; }
}

/// <summary>The window between the gate's re-check of a sub-batch and its act, in milliseconds (rounded to 3 decimals).</summary>
public sealed record RecheckWindowSummary
{
    /// <summary>How many sub-batches were measured. Key <c>sub_batches</c>.</summary>
    [JsonPropertyName("sub_batches")]
    public long SubBatches { get; init; }

    /// <summary>The median window, in milliseconds. Key <c>median</c>.</summary>
    [JsonPropertyName("median")]
    public double Median { get; init; }

    /// <summary>The longest window, in milliseconds. Key <c>max</c>.</summary>
    [JsonPropertyName("max")]
    public double Max { get; init; }
}

/// <summary>What a run did in one part (a policy of a sweep or apply, a store of a restore or purge).</summary>
public sealed record RunPartSummary : RunCounts
{

    /// <summary>The refusing guard verdicts of this policy (<c>guard: message</c>), when a guard refused it. Key <c>refused</c>.</summary>
    [JsonPropertyName("refused")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Refused { get; init; }

    /// <summary>What the plan found for this policy, for a sweep or apply; <see langword="null"/> for a restore or purge. Key <c>planned</c>.</summary>
    [JsonPropertyName("planned")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PlannedPartSummary? Planned { get; init; }
}

/// <summary>What a plan found for one policy, and why the rest was kept.</summary>
public sealed record PlannedPartSummary
{
    /// <summary>The policy's type (<c>orphans</c>, <c>retention</c>, <c>records</c>). Key <c>type</c>.</summary>
    [JsonPropertyName("type")]
    public PolicyKind? Type { get; init; }

    /// <summary>Objects listed. Key <c>objects_scanned</c>.</summary>
    [JsonPropertyName("objects_scanned")]
    public long ObjectsScanned { get; init; }

    /// <summary>Groups (rows for records policies) scanned. Key <c>groups_scanned</c>.</summary>
    [JsonPropertyName("groups_scanned")]
    public long GroupsScanned { get; init; }

    /// <summary>Groups (rows) proposed for removal. Key <c>groups_proposed</c>.</summary>
    [JsonPropertyName("groups_proposed")]
    public long GroupsProposed { get; init; }

    /// <summary>Groups kept because a reference (or keep query) renders to them. Key <c>kept_referenced</c>.</summary>
    [JsonPropertyName("kept_referenced")]
    public long KeptReferenced { get; init; }

    /// <summary>Groups kept because their newest object is younger than the grace period. Key <c>kept_too_young</c>.</summary>
    [JsonPropertyName("kept_too_young")]
    public long KeptTooYoung { get; init; }

    /// <summary>Objects the layout does not match (never touched). Key <c>objects_unmatched</c>.</summary>
    [JsonPropertyName("objects_unmatched")]
    public long ObjectsUnmatched { get; init; }

    /// <summary>How long planning the policy took, in milliseconds. Key <c>plan_duration_ms</c>.</summary>
    [JsonPropertyName("plan_duration_ms")]
    public long PlanDurationMs { get; init; }

    /// <summary>Up to 5 proposed group keys, then up to 5 rows (<c>row id=42</c>). Key <c>sample</c>.</summary>
    [JsonPropertyName("sample")]
    public IReadOnlyList<string> Sample { get; init; } = [];
}

/// <summary>The source-generated System.Text.Json metadata of <see cref="RunSummary"/>.</summary>
[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(RunSummary))]
public sealed partial class RunSummaryJson : JsonSerializerContext;
