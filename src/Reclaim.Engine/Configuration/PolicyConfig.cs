using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.State;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// A policy: a named rule that proposes actions. One sealed type per kind, each with only the keys its kind has
/// (<see cref="OrphansPolicy"/>, <see cref="RetentionPolicy"/>, <see cref="RecordsPolicy"/>, <see cref="QueuePolicy"/>);
/// the config binder is the one place that maps <c>type:</c> to a type. Code that treats kinds differently matches
/// on the type.
/// </summary>
public abstract record PolicyConfig
{
    /// <summary>Only this assembly's kinds derive from it.</summary>
    private protected PolicyConfig()
    {
    }

    /// <summary>The policy's kind (its <c>type:</c>).</summary>
    public abstract PolicyKind Kind { get; }

    /// <summary>The policy's name, unique.</summary>
    public required string Name { get; init; }

    /// <summary>The store's name.</summary>
    public required string Store { get; init; }

    /// <summary>What to do with what the policy selects (default quarantine).</summary>
    public ActionKind Action { get; init; } = ActionKind.Quarantine;

    /// <summary>
    /// The policy's own guard thresholds (its <c>guards:</c> section: <c>max_delete_fraction</c>,
    /// <c>refuse_empty_references</c>, <c>min_age_floor</c>, each defaulting to the top-level value), or
    /// <see langword="null"/> when it sets none. <c>max_delete_count</c> is always per plan.
    /// </summary>
    public GuardOptions? Guards { get; init; }

    /// <summary>Where the policy was defined (for messages).</summary>
    public ConfigLocation Location { get; init; }
}

/// <summary>
/// A policy planned by listing its store through a layout and joining the groups with catalog queries:
/// <see cref="OrphansPolicy"/> and <see cref="RetentionPolicy"/>.
/// </summary>
public abstract record LayoutPolicy : PolicyConfig
{
    /// <summary>Only this assembly's kinds derive from it.</summary>
    private protected LayoutPolicy()
    {
    }

    /// <summary>The parsed layout: how keys map to groups.</summary>
    public required Layout Layout { get; init; }

    /// <summary>
    /// Two-sighting confirmation (<c>confirm_after: 1h</c>, optional). A group is acted on only if it was also
    /// proposed in a plan made at least this long before (sightings kept in state per group: a fingerprint and a
    /// time); one seen for the first time is held, and goes at the first plan this long after. Positive;
    /// <see langword="null"/> (the default) acts on a group at its first sighting.
    /// </summary>
    public TimeSpan? ConfirmAfter { get; init; }

    /// <summary>
    /// The queries that protect the policy's groups, in config order: an orphans policy's <c>references</c>, a
    /// retention policy's <c>keep</c>; empty for a retention policy without <c>keep</c>.
    /// </summary>
    public abstract IReadOnlyList<QueryConfig> ProtectingQueries { get; }

    /// <summary>The age a group's newest object must reach before the policy proposes it: the grace period (orphans) or <c>max_age</c> (retention).</summary>
    public abstract TimeSpan AgeThreshold { get; }
}

/// <summary><c>type: orphans</c>: groups in the store that no reference renders to, older than the grace period.</summary>
public sealed record OrphansPolicy : LayoutPolicy
{
    /// <inheritdoc/>
    public override PolicyKind Kind => PolicyKind.Orphans;

    /// <summary>
    /// The references queries, one or more, in config order (<c>references:</c> is one <c>{catalog, query}</c> or a
    /// list of them, possibly on different catalogs). A group is referenced when a row of any of them renders to it.
    /// Never empty.
    /// </summary>
    public required IReadOnlyList<QueryConfig> References { get; init; }

    /// <summary>The grace period (<c>min_age</c>, default 24h): a group younger than this, by its newest object, is never an orphan.</summary>
    public TimeSpan MinAge { get; init; } = TimeSpan.FromHours(24);

    /// <inheritdoc/>
    public override IReadOnlyList<QueryConfig> ProtectingQueries => References;

    /// <inheritdoc/>
    public override TimeSpan AgeThreshold => MinAge;
}

/// <summary><c>type: retention</c>: groups older than <c>max_age</c>, except those a keep query renders to.</summary>
public sealed record RetentionPolicy : LayoutPolicy
{
    /// <inheritdoc/>
    public override PolicyKind Kind => PolicyKind.Retention;

    /// <summary>The age past which groups go (<c>max_age</c>, positive).</summary>
    public required TimeSpan MaxAge { get; init; }

    /// <summary>The keep queries (<c>keep:</c>, optional), one or more: a group a row of any of them renders to is kept; <see langword="null"/> when absent, never empty.</summary>
    public IReadOnlyList<QueryConfig>? Keep { get; init; }

    /// <inheritdoc/>
    public override IReadOnlyList<QueryConfig> ProtectingQueries => Keep ?? [];

    /// <inheritdoc/>
    public override TimeSpan AgeThreshold => MaxAge;
}

/// <summary><c>type: records</c>: rows a catalog query selects; their objects go, then the row (<c>after:</c>).</summary>
public sealed record RecordsPolicy : PolicyConfig
{
    /// <inheritdoc/>
    public override PolicyKind Kind => PolicyKind.Records;

    /// <summary>The catalog's name.</summary>
    public required string Catalog { get; init; }

    /// <summary>The selecting query.</summary>
    public required string Query { get; init; }

    /// <summary>Key templates rendered per row (a value ending in <c>/</c> is a prefix); at least one.</summary>
    public required IReadOnlyList<string> Objects { get; init; }

    /// <summary>The statement run per row once its objects are gone; <see langword="null"/> for none.</summary>
    public string? After { get; init; }

    /// <summary>
    /// An optional SELECT whose rows are the population <see cref="Query"/> selects from (for example every
    /// session); the <c>max_delete_fraction</c> guard then compares the rows selected with its row count.
    /// </summary>
    public string? Scope { get; init; }
}

/// <summary><c>type: queue</c>: the application's own deletion-request table, processed by <c>reclaim worker</c>.</summary>
public sealed record QueuePolicy : PolicyConfig
{
    /// <inheritdoc/>
    public override PolicyKind Kind => PolicyKind.Queue;

    /// <summary>The catalog holding the table.</summary>
    public required string Catalog { get; init; }

    /// <summary>The deletion-request table (<c>name</c> or <c>schema.name</c>).</summary>
    public required string Table { get; init; }

    /// <summary><c>key</c> (delete the request's key) or <c>folder</c> (empty the folder holding it).</summary>
    public required string Target { get; init; }

    /// <summary>Whether a request empties a folder (<c>target: folder</c>) rather than deleting one key.</summary>
    public bool TargetsFolder => string.Equals(Target, "folder", StringComparison.Ordinal);

    /// <summary>Segments dropped from the request's path to get the folder, when the policy has no <see cref="Layout"/> (kept for compatibility; default 2).</summary>
    public int FolderDepth { get; init; } = 2;

    /// <summary>The prefix every request must be inside, ending in <c>/</c>; <see langword="null"/> for none.</summary>
    public string? RequirePrefix { get; init; }

    /// <summary>The layout (optional): a <c>target: folder</c> request empties the layout group holding its path.</summary>
    public Layout? Layout { get; init; }

    /// <summary>The references queries (optional; need <see cref="Layout"/>): a request whose group one renders to waits, then fails. <see langword="null"/> when absent; never empty.</summary>
    public IReadOnlyList<QueryConfig>? References { get; init; }

    /// <summary>How often the worker looks for new requests (default 30s).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a worker holds a request before another may take it (default 5m); renewed while it works.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Attempts per request before it is marked processed with its last error, 1..100 (default 5).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>The first retry's delay; each further retry waits twice as long, with jitter (default 1s).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests one worker processes at once, 1..256 (default 8).</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>Requests one worker claims per cycle, 1..10000 (default 4 x concurrency).</summary>
    public int? BatchSize { get; init; }
}

/// <summary>What several kinds of policy have in common, read by matching on the kind.</summary>
public static class PolicyLayouts
{
    /// <summary>The layout whose groups the policy acts on: a layout policy's, or a queue policy's when it has one.</summary>
    /// <param name="policy">A policy.</param>
    /// <returns>The layout, or <see langword="null"/> (a records policy, a queue policy without <c>layout</c>).</returns>
    public static Layout? LayoutOf(PolicyConfig policy) => policy switch
    {
        LayoutPolicy layout => layout.Layout,
        QueuePolicy queue => queue.Layout,
        _ => null,
    };
}
