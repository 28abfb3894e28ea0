using System.Text.Json.Serialization;

namespace Reclaim.Engine.Partitioning;

/// <summary>
/// The whole partitioned run, in the summary of the one run (kind <c>partitioned</c>) that sums it up in
/// <c>reclaim runs</c>: its key, every participant that planned or applied a range, and each range's own run (whose
/// actions <c>reclaim runs show</c> lists and <c>reclaim restore</c> brings back). Key <c>partitioned</c> of the summary.
/// </summary>
public sealed record PartitionedRunSummary
{
    /// <summary>The run's key (a scheduled firing's <c>schedule:POLICIES@TIME</c>, or <c>--run-key</c>). Key <c>run_key</c>.</summary>
    [JsonPropertyName("run_key")]
    public string RunKey { get; init; } = string.Empty;

    /// <summary>Every participant that planned or applied a range (<c>host:pid:start#I</c>), ordinal order. Key <c>participants</c>.</summary>
    [JsonPropertyName("participants")]
    public IReadOnlyList<string> Participants { get; init; } = [];

    /// <summary>Each range, by index. Key <c>ranges</c>.</summary>
    [JsonPropertyName("ranges")]
    public IReadOnlyList<PartitionedRangeSummary> Ranges { get; init; } = [];
}

/// <summary>One range of a partitioned run in its summary.</summary>
public sealed record PartitionedRangeSummary
{
    /// <summary>The range's index, 0 to 15. Key <c>range</c>.</summary>
    [JsonPropertyName("range")]
    public int Range { get; init; }

    /// <summary>The run that applied it. Key <c>run_id</c>.</summary>
    [JsonPropertyName("run_id")]
    public string? RunId { get; init; }

    /// <summary>The participant that planned it. Key <c>planned_by</c>.</summary>
    [JsonPropertyName("planned_by")]
    public string? PlannedBy { get; init; }

    /// <summary>The participant that applied it. Key <c>applied_by</c>.</summary>
    [JsonPropertyName("applied_by")]
    public string? AppliedBy { get; init; }

    /// <summary>How often another participant took it over after a lease ran out. Key <c>takeovers</c>.</summary>
    [JsonPropertyName("takeovers")]
    public int Takeovers { get; init; }
}
