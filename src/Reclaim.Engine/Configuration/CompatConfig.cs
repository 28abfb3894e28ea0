namespace Reclaim.Engine.Configuration;

/// <summary>
/// Routes that answer an application's existing cleanup clients in their own request and response shapes
/// (<c>server.compat</c>), so a team can point its scripts and schedulers at <c>reclaim serve</c> unchanged.
/// Each one is off unless its section is present; each runs configured policies through the same plan, guards and
/// gate as <c>POST /api/v1/runs</c>.
/// </summary>
public sealed record CompatConfig
{
    /// <summary><c>POST /api/cleanup/bulk/</c> (<c>server.compat.bulk_cleanup</c>), or <see langword="null"/> when off.</summary>
    public BulkCleanupConfig? BulkCleanup { get; init; }

    /// <summary><c>/api/admin/cleanup/…</c> (<c>server.compat.admin_cleanup</c>), or <see langword="null"/> when off.</summary>
    public AdminCleanupConfig? AdminCleanup { get; init; }
}

/// <summary>
/// A bulk cleanup endpoint taking <c>{"retention_days": N, "dry_run": B}</c> and answering with counts, bytes in MB
/// and a sample of removed keys, once the run has finished.
/// </summary>
public sealed record BulkCleanupConfig
{
    /// <summary>The default of <see cref="DefaultRetentionDays"/>: 5 days, as the clients of this endpoint assume.</summary>
    public const int SeedRetentionDays = 5;

    /// <summary>The policies one request runs, in this order (<c>policies</c>; at least one, of types orphans, retention or records).</summary>
    public required IReadOnlyList<string> Policies { get; init; }

    /// <summary>
    /// The <c>retention</c> policies among <see cref="Policies"/> whose <c>max_age</c> the request's
    /// <c>retention_days</c> replaces for that run only (<c>retention_days_policies</c>; may be empty). Their
    /// <c>keep</c> queries may use <c>@cutoff</c> so the window of kept rows moves with it.
    /// </summary>
    public IReadOnlyList<string> RetentionDaysPolicies { get; init; } = [];

    /// <summary>
    /// The least <c>retention_days</c> a request may ask for (<c>min_retention_days</c>, 1 to 3650, default 1); a
    /// request below it is refused with 400 and nothing is touched.
    /// </summary>
    public int MinRetentionDays { get; init; } = 1;

    /// <summary>
    /// The <c>retention_days</c> of a request that gives none (<c>default_retention_days</c>, default
    /// <see cref="SeedRetentionDays"/>); at least <see cref="MinRetentionDays"/>.
    /// </summary>
    public int DefaultRetentionDays { get; init; } = SeedRetentionDays;

    /// <summary>
    /// How long a request waits for its run to finish before answering <c>202 Accepted</c> with the run's id and
    /// <c>Location</c> (<c>wait</c>, 1s to 1h, default 5m); the run goes on either way.
    /// </summary>
    public TimeSpan Wait { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Admin cleanup endpoints: config, status (a dry run) and runs of orphaned-file policies, failed-session
/// (records) policies, or both, answered as <c>{success, message, result|potential_cleanup: {...}}</c>.
/// </summary>
public sealed record AdminCleanupConfig
{
    /// <summary>The <c>orphans</c> policies of <c>/orphaned-files</c> (<c>orphaned_files</c>; may be empty).</summary>
    public IReadOnlyList<string> OrphanedFiles { get; init; } = [];

    /// <summary>The <c>records</c> policies of <c>/failed-sessions</c> (<c>failed_sessions</c>; may be empty).</summary>
    public IReadOnlyList<string> FailedSessions { get; init; } = [];

    /// <summary>How long a request waits for its run before answering <c>202 Accepted</c> (<c>wait</c>, 1s to 1h, default 5m).</summary>
    public TimeSpan Wait { get; init; } = TimeSpan.FromMinutes(5);
}
