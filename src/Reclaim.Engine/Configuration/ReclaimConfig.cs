using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Stores.S3;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// A loaded, interpolated and validated <c>reclaim.yaml</c> (docs/configuration.md). Produced only by
/// <see cref="ConfigLoader"/>; every relative path in it is already resolved against the config file's folder.
/// </summary>
public sealed record ReclaimConfig
{
    /// <summary>The config file's absolute path.</summary>
    public required string Path { get; init; }

    /// <summary>The config file's folder (relative paths resolve against it).</summary>
    public string Directory => System.IO.Path.GetDirectoryName(Path)!;

    /// <summary>The format version; only 1 exists.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Reclaim's own database.</summary>
    public StateConfig State { get; init; } = new();

    /// <summary>Stores by name (ordinal).</summary>
    public IReadOnlyDictionary<string, StoreConfig> Stores { get; init; } = new Dictionary<string, StoreConfig>(StringComparer.Ordinal);

    /// <summary>Catalogs by name (ordinal).</summary>
    public IReadOnlyDictionary<string, CatalogConfig> Catalogs { get; init; } = new Dictionary<string, CatalogConfig>(StringComparer.Ordinal);

    /// <summary>Policies in config order.</summary>
    public IReadOnlyList<PolicyConfig> Policies { get; init; } = [];

    /// <summary>Guard thresholds.</summary>
    public GuardOptions Guards { get; init; } = GuardOptions.Default;

    /// <summary>Quarantine settings.</summary>
    public TrashConfig Trash { get; init; } = new();

    /// <summary>Scheduled runs (used by <c>reclaim serve</c>).</summary>
    public IReadOnlyList<ScheduleConfig> Schedule { get; init; } = [];

    /// <summary>HTTP server settings (used by <c>reclaim serve</c>).</summary>
    public ServerConfig Server { get; init; } = new();

    /// <summary>Reclaim's own queue (<c>own_queue:</c>): its worker settings and, per store, the folder requests must be inside.</summary>
    public OwnQueueConfig OwnQueue { get; init; } = new();
}

/// <summary>
/// Reclaim's own deletion-request queue in state (<c>reclaim enqueue</c>, <c>POST /api/v1/deletions</c>), set by the
/// <c>own_queue:</c> section. Nothing of a <c>queue</c> policy applies to it: each request names its store, and that
/// store's entry in <see cref="RequirePrefix"/> (if any) is the folder it must be inside.
/// </summary>
public sealed record OwnQueueConfig
{
    /// <summary>Its worker settings; the defaults are a queue policy's (<see cref="Queue.QueueSettings.Default"/>).</summary>
    public Queue.QueueSettings Settings { get; init; } = Queue.QueueSettings.Default;

    /// <summary>
    /// Store name to the folder (ending in <c>/</c>) every request for that store must lie inside; a store without
    /// an entry takes any valid key or prefix. Checked when a request is enqueued and again when it is executed.
    /// </summary>
    public IReadOnlyDictionary<string, string> RequirePrefix { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>Where Reclaim keeps runs, actions and locks.</summary>
/// <param name="Provider"><c>sqlite</c> (default) or <c>postgres</c>.</param>
/// <param name="Connection">
/// SQLite: a file path (resolved against the config folder) or a connection string; by default
/// <c>state.db</c> in the folder <c>STATE_DIRECTORY</c> names (systemd sets it for a unit with <c>StateDirectory=</c>),
/// else <c>.reclaim/state.db</c> next to the config. PostgreSQL: a connection string or <c>postgres://</c> URL.
/// </param>
public sealed record StateConfig(string Provider = "sqlite", string Connection = ".reclaim/state.db")
{
    /// <summary>The environment variable whose folder holds the default SQLite state: <c>STATE_DIRECTORY</c>.</summary>
    public const string StateDirectoryVariable = "STATE_DIRECTORY";

    /// <summary>
    /// Where <c>state.connection</c> is written in the config, or <see langword="null"/> when the config has no
    /// <c>state:</c> section; for error messages only, not part of the value (equality ignores it).
    /// </summary>
    public ConfigLocation? ConnectionAt { get; init; }

    /// <summary>Whether both name the same provider and connection.</summary>
    /// <param name="other">The other state config.</param>
    /// <returns><see langword="true"/> when provider and connection are equal (ordinal).</returns>
    public bool Equals(StateConfig? other) =>
        other is not null && string.Equals(Provider, other.Provider, StringComparison.Ordinal) && string.Equals(Connection, other.Connection, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(StringComparer.Ordinal.GetHashCode(Provider), StringComparer.Ordinal.GetHashCode(Connection));

    /// <summary>
    /// The default SQLite state file: <c>state.db</c> in <paramref name="stateDirectory"/> (the first folder of a
    /// <c>:</c>-separated list, as systemd passes several <c>StateDirectory=</c> entries), else <c>.reclaim/state.db</c>
    /// (relative to the config's folder).
    /// </summary>
    /// <param name="stateDirectory"><c>STATE_DIRECTORY</c>'s value, or <see langword="null"/>.</param>
    /// <returns>The path.</returns>
    public static string DefaultSqlitePath(string? stateDirectory) =>
        stateDirectory?.Split(':')[0] is { Length: > 0 } folder ? Path.Join(folder, "state.db") : ".reclaim/state.db";
}

/// <summary>A store. <see cref="Type"/> says which fields apply.</summary>
public sealed record StoreConfig
{
    /// <summary>The store's name (its key under <c>stores:</c>).</summary>
    public required string Name { get; init; }

    /// <summary><c>filesystem</c> or <c>s3</c>.</summary>
    public required string Type { get; init; }

    /// <summary>filesystem: the root folder, absolute after loading.</summary>
    public string? Root { get; init; }

    /// <summary>s3: every setting of the bucket's store, validated (<see cref="S3StoreOptions"/> declares them and their ranges); <see langword="null"/> for other types.</summary>
    public S3StoreOptions? S3 { get; init; }

    /// <summary>s3: the bucket (<see cref="S3StoreOptions.Bucket"/>); <see langword="null"/> for other types.</summary>
    public string? Bucket => S3?.Bucket;

    /// <summary>Optional price per GB-month, to turn bytes into money in reports (an s3 store's <c>provider</c>'s when not set).</summary>
    public decimal? PricePerGbMonth { get; init; }

    /// <summary>
    /// s3: the provider's costs (<c>provider: aws | wasabi | r2 | b2 | generic</c>, with the store's overrides), for
    /// cost-aware plans; <see langword="null"/> when the store names none.
    /// </summary>
    public Reclaim.Core.Planning.ProviderCosts? Costs { get; init; }
}

/// <summary>An application database.</summary>
/// <param name="Name">The catalog's name (its key under <c>catalogs:</c>).</param>
/// <param name="Provider"><c>sqlite</c>, <c>postgres</c> or <c>mysql</c> (MySQL and MariaDB).</param>
/// <param name="Connection">SQLite: a path (resolved against the config folder) or a connection string; PostgreSQL and MySQL: a connection string or URL.</param>
public sealed record CatalogConfig(string Name, string Provider, string Connection);

/// <summary>A catalog query.</summary>
/// <param name="Catalog">The catalog's name.</param>
/// <param name="Query">The SELECT.</param>
public sealed record QueryConfig(string Catalog, string Query);

/// <summary>Quarantine settings.</summary>
/// <param name="Prefix">The trash prefix inside each store, ending in <c>/</c> (default <c>.reclaim-trash/</c>); never listed as a candidate.</param>
/// <param name="Retention">How long quarantined objects stay restorable before <c>trash purge</c> removes them (default 7d).</param>
public sealed record TrashConfig(string Prefix = ".reclaim-trash/", TimeSpan Retention = default)
{
    /// <summary>The retention, 7 days when unset.</summary>
    public TimeSpan EffectiveRetention => Retention == default ? TimeSpan.FromDays(7) : Retention;
}

/// <summary>A scheduled run.</summary>
/// <param name="Policies">The policies to run.</param>
/// <param name="Cron">A cron expression (Quartz syntax accepted, 5-field Unix syntax converted).</param>
/// <param name="TimeZone">An IANA time zone id (default UTC).</param>
public sealed record ScheduleConfig(IReadOnlyList<string> Policies, string Cron, string TimeZone = "UTC")
{
    /// <summary>
    /// Also run the entry's policies once each time <c>reclaim serve</c> starts (<c>run_on_startup</c>, default
    /// <see langword="false"/>; the therapy-audio service's <c>AUTO_CLEANUP_ON_STARTUP</c>). Per process: with several replicas, each
    /// one's start runs them once.
    /// </summary>
    public bool RunOnStartup { get; init; }

    /// <summary>
    /// Make each firing one partitioned run that every <c>reclaim serve</c> and <c>reclaim worker</c> replica on the
    /// same PostgreSQL state takes part in (<c>partitioned</c>, default <see langword="false"/>): its key ranges are
    /// planned and applied by whichever replicas claim them, the guards judge the whole run once, and no replica
    /// deletes before they have. The run's key is the entry's policies and the firing's scheduled time, the same on
    /// every replica. Needs <c>state.provider: postgres</c> and <c>orphans</c> or <c>retention</c> policies without
    /// <c>confirm_after</c> (checked at load).
    /// </summary>
    public bool Partitioned { get; init; }
}

/// <summary>An API key, stored as the SHA-256 hex of the key.</summary>
/// <param name="Name">Who holds it (recorded as the actor).</param>
/// <param name="Role"><c>viewer</c>, <c>operator</c> or <c>admin</c>.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the key.</param>
public sealed record TokenConfig(string Name, string Role, string Sha256);

/// <summary>HTTP server settings.</summary>
/// <param name="Urls">Where to listen (default <c>http://127.0.0.1:8080</c>).</param>
/// <param name="Tokens">API keys.</param>
public sealed record ServerConfig(string Urls = "http://127.0.0.1:8080", IReadOnlyList<TokenConfig>? Tokens = null)
{
    /// <summary>Optional JWT bearer authentication next to the API keys (<c>server.jwt</c>); <see langword="null"/> when absent.</summary>
    public JwtConfig? Jwt { get; init; }

    /// <summary>
    /// Where to POST a Slack-compatible JSON message (<c>{"text": ...}</c>) when a run the server started finishes or
    /// fails (<c>server.webhook_url</c>); <see langword="null"/> for none.
    /// </summary>
    public string? WebhookUrl { get; init; }

    /// <summary>
    /// Mutating requests allowed per caller per minute (<c>server.rate_limit_per_minute</c>, 1 to 100000, default
    /// 30); more get <c>429 Too Many Requests</c> with <c>Retry-After</c>.
    /// </summary>
    public int RateLimitPerMinute { get; init; } = 30;

    /// <summary>
    /// With PostgreSQL state, how often each replica records in the clustered scheduler's tables that it is alive and
    /// looks for due firings (<c>server.cluster_checkin_interval</c>, at least 1 s, default 5 s). A replica silent for
    /// this plus three times this is taken for dead and its firings are taken over.
    /// </summary>
    public TimeSpan ClusterCheckinInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// With PostgreSQL state, whether <c>reclaim serve</c> and <c>reclaim worker</c> take part in the open partitioned
    /// runs they find in state (<c>server.join_partitioned_runs</c>, default <see langword="true"/>): every
    /// <see cref="ClusterCheckinInterval"/> they claim a free or lease-expired range of a run started in the last
    /// 6 hours and plan it, or, once the run's guard verdict passed and a participant asked for it to be applied,
    /// apply it. Only runs this replica's config makes the same way are joined. Ignored with SQLite state.
    /// </summary>
    public bool JoinPartitionedRuns { get; init; } = true;

    /// <summary>
    /// The lease on a key range a <c>reclaim serve</c> or <c>reclaim worker</c> replica claims in a partitioned run:
    /// four times <see cref="ClusterCheckinInterval"/> (20 s by default), the time after which the clustered scheduler
    /// takes a silent replica for dead too. It is renewed every third of it; a replica that dies has its range taken
    /// over by another once it runs out.
    /// </summary>
    public TimeSpan PartitionLease => ClusterCheckinInterval * 4;

    /// <summary>Routes answering an application's own cleanup clients in their shapes (<c>server.compat</c>); all off by default.</summary>
    public CompatConfig Compat { get; init; } = new();
}

/// <summary>
/// JWT bearer settings: either an HS256 shared <see cref="Secret"/> (Supabase's JWT secret, for example) or an OIDC
/// <see cref="Authority"/> whose signing keys are discovered.
/// </summary>
/// <param name="Secret">The HS256 secret (UTF-8 bytes), or <see langword="null"/>.</param>
/// <param name="Authority">The OIDC issuer URL, or <see langword="null"/>.</param>
/// <param name="Audience">The expected <c>aud</c>; not checked when <see langword="null"/>.</param>
/// <param name="Issuer">The expected <c>iss</c> with a secret; not checked when <see langword="null"/>.</param>
/// <param name="RoleClaim">The claim holding the caller's role (default <c>role</c>): Reclaim's <c>viewer</c>, <c>operator</c> or <c>admin</c>, or the application's own role when <see cref="RoleMap"/> maps it.</param>
/// <param name="NameClaim">The claim recorded as the actor (default <c>sub</c>).</param>
public sealed record JwtConfig(string? Secret, string? Authority, string? Audience, string? Issuer, string RoleClaim = "role", string NameClaim = "sub")
{
    /// <summary>The value of <see cref="RoleMap"/> that grants nothing.</summary>
    public const string NoRole = "none";

    /// <summary>
    /// The application's own roles (values of <see cref="RoleClaim"/>, compared ordinally) to Reclaim's:
    /// <c>viewer</c>, <c>operator</c>, <c>admin</c> or <see cref="NoRole"/> (<c>server.jwt.role_map</c>, for example
    /// <c>{therapist: operator, admin: admin, patient: none}</c>). When set, only the map decides: a role it does not
    /// name grants nothing. When <see langword="null"/> (default) the claim must hold Reclaim's role names themselves.
    /// API keys are not affected.
    /// </summary>
    public IReadOnlyDictionary<string, string>? RoleMap { get; init; }
}

/// <summary>A position in the config file, 1-based.</summary>
/// <param name="File">The file's path.</param>
/// <param name="Line">Line, 1-based.</param>
/// <param name="Column">Column, 1-based.</param>
public readonly record struct ConfigLocation(string File, int Line, int Column)
{
    /// <inheritdoc/>
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>One problem found in a config file.</summary>
/// <param name="Location">Where.</param>
/// <param name="Message">What is wrong and, where it helps, what would be right.</param>
public sealed record ConfigError(ConfigLocation Location, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Location}: {Message}";
}

/// <summary>The config file is missing or invalid; <see cref="Errors"/> lists every problem found (exit code 2).</summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">Every problem, at least one.</param>
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<ConfigError> Errors { get; }
}
