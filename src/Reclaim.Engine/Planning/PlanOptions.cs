namespace Reclaim.Engine.Planning;

/// <summary>Settings of one plan that differ from the config's, for that plan only.</summary>
public sealed record PlanOptions
{
    /// <summary>The config as it is.</summary>
    public static PlanOptions None { get; } = new();

    /// <summary>
    /// Retention policies (by name, ordinal) planned with this <c>max_age</c> instead of their config's: the bulk
    /// cleanup route's <c>retention_days</c>. Each must be a selected <c>retention</c> policy and the age positive; the
    /// plan records it (<see cref="Core.Planning.PolicyPlan.MaxAgeOverride"/>), so applying it re-checks with the same age.
    /// </summary>
    public IReadOnlyDictionary<string, TimeSpan> MaxAge { get; init; } = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);

    /// <summary>
    /// Plan only the keys of this range of a partitioned run (0 to <see cref="Core.Planning.KeySpaceRanges.Count"/> − 1,
    /// see <see cref="Core.Planning.KeySpaceRanges"/>), or the whole store when <see langword="null"/> (the default).
    /// </summary>
    public int? KeyRange { get; init; }
}
