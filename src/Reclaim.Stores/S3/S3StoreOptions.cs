using System.ComponentModel.DataAnnotations;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>
/// How to reach one bucket of an S3-compatible service (AWS S3, Wasabi, MinIO, Cloudflare R2, Backblaze B2...),
/// and how hard to drive it: the <c>stores:</c> entry of type <c>s3</c> in <c>reclaim.yaml</c>.
/// </summary>
/// <remarks>
/// <para>
/// This type is the one declaration of an S3 store's settings: each property's <see cref="DisplayAttribute.Name"/>
/// is its key in <c>reclaim.yaml</c> (the config loader binds every property that has one, and the effective-config
/// view shows them under it), its data annotations are its range, and <see cref="Validate"/> checks what spans
/// several properties. <see cref="Core.OptionsValidation"/> runs all of them and lists every problem at once, as
/// Polly v8 validates its strategy options; <see cref="S3Store"/> refuses options that fail.
/// </para>
/// <para>Properties marked <see cref="DataType.Password"/> are secrets: shown redacted.</para>
/// </remarks>
public sealed record S3StoreOptions : IValidatableObject
{
    /// <summary>The most listing streams <see cref="ListConcurrency"/> allows: 64.</summary>
    public const int MaxListConcurrency = 64;

    /// <summary>The most DeleteObjects requests in flight <see cref="DeleteConcurrency"/> allows: 64.</summary>
    public const int MaxDeleteConcurrency = 64;

    /// <summary>
    /// HTTP connections to the service kept for requests other than listings and deletes (HEAD, GET, PUT, CopyObject
    /// of the gate's and the queue's parallel work): 32. See <see cref="MaxConnections"/>.
    /// </summary>
    public const int OtherRequestConnections = 32;

    /// <summary>The store's name in the configuration (its key under <c>stores:</c>). Required.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "the store needs a name")]
    public required string Name { get; init; }

    /// <summary>The bucket's name (<c>bucket</c>). Required.</summary>
    [Display(Name = "bucket")]
    [Required(AllowEmptyStrings = false, ErrorMessage = "'bucket' is required: the bucket's name, for example bucket: my-media")]
    public required string Bucket { get; init; }

    /// <summary>
    /// The key prefix inside the bucket the store is confined to (<c>prefix</c>); keys given to and returned by the
    /// store are relative to it, and nothing outside it is listed or touched. Empty (the default) means the whole
    /// bucket. A prefix that does not end in <c>/</c> is treated as a folder all the same (<c>media</c> is
    /// <c>media/</c>): prefixes compare on <c>/</c> boundaries. (The config file requires the <c>/</c>.)
    /// </summary>
    [Display(Name = "prefix")]
    public string Prefix { get; init; } = string.Empty;

    /// <summary>
    /// The service's endpoint URL (<c>endpoint</c>, for example <c>https://s3.us-east-1.wasabisys.com</c>), or
    /// <see langword="null"/> (the default) for AWS S3 in <see cref="Region"/>.
    /// </summary>
    [Display(Name = "endpoint")]
    public string? Endpoint { get; init; }

    /// <summary>The region requests are signed for (and, without <see cref="Endpoint"/>, sent to): <c>region</c>, default <c>us-east-1</c>.</summary>
    [Display(Name = "region")]
    [Required(AllowEmptyStrings = false, ErrorMessage = "region must not be empty (for example us-east-1)")]
    public string Region { get; init; } = "us-east-1";

    /// <summary>
    /// Whether to address the bucket in the path (<c>https://host/bucket/key</c>) rather than as a subdomain
    /// (<c>force_path_style</c>). Most self-hosted services (MinIO, s3rver) need it. Default <see langword="false"/>.
    /// </summary>
    [Display(Name = "force_path_style")]
    public bool ForcePathStyle { get; init; }

    /// <summary>
    /// The access key id (<c>access_key</c>), or <see langword="null"/> (the default) to use the AWS SDK's default
    /// credential chain (environment, profile, instance role). Set together with <see cref="SecretKey"/>.
    /// </summary>
    [Display(Name = "access_key")]
    [DataType(DataType.Password)]
    public string? AccessKey { get; init; }

    /// <summary>The secret access key (<c>secret_key</c>), or <see langword="null"/> (the default); set together with <see cref="AccessKey"/>.</summary>
    [Display(Name = "secret_key")]
    [DataType(DataType.Password)]
    public string? SecretKey { get; init; }

    /// <summary>
    /// Whether uploads use <c>aws-chunked</c> content encoding, streaming SigV4 (<c>use_chunk_encoding</c>). Default
    /// <see langword="true"/>; some S3-compatible services do not decode it and need <see langword="false"/>.
    /// </summary>
    [Display(Name = "use_chunk_encoding")]
    public bool UseChunkEncoding { get; init; } = true;

    /// <summary>The value of <see cref="QuarantineMode"/> that quarantines by tag: <c>tag</c>.</summary>
    public const string TagQuarantineMode = "tag";

    /// <summary>The value of <see cref="QuarantineMode"/> that quarantines by copy: <c>copy</c> (the default).</summary>
    public const string CopyQuarantineMode = "copy";

    /// <summary>
    /// How <c>action: quarantine</c> keeps an object restorable (<c>quarantine_mode</c>): <c>copy</c> (the default)
    /// copies it into the trash and deletes the original; <c>tag</c> tags it where it lies
    /// (<c>reclaim-quarantined=RUN_ID</c>, <c>reclaim-quarantined-at=TIME</c>) and keeps it until purge, so a provider
    /// with a minimum storage duration bills no new minimum for a trash copy. <c>tag</c> needs a service with
    /// object tagging (AWS S3 and Wasabi have it; Cloudflare R2 and Backblaze B2 do not: see docs/configuration.md).
    /// </summary>
    [Display(Name = "quarantine_mode")]
    public string QuarantineMode { get; init; } = CopyQuarantineMode;

    /// <summary>
    /// How many times one request is tried in all before its error is returned (<c>max_attempts</c>; 1 means no
    /// retry), from 1 to 20. Default 5. Only transient failures are retried (see <see cref="S3Store"/>).
    /// </summary>
    [Display(Name = "max_attempts")]
    [Range(1, 20, ErrorMessage = "{0} must be from {1} to {2}")]
    public int MaxAttempts { get; init; } = 5;

    /// <summary>
    /// The delay before the first retry; later ones grow exponentially, with jitter (Polly's exponential backoff),
    /// up to 30 s. Default 200 ms; from zero to one minute. Not a config key (the config's durations are whole
    /// seconds): tests shorten it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "{0} must be from 0s to 1m", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true)]
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long one HTTP request to the service may take before it is abandoned and, like a broken connection,
    /// retried (<c>timeout</c>; it counts as one of <see cref="MaxAttempts"/>). Default 100 s (the AWS SDK's and
    /// <c>HttpClient</c>'s default); from 1 second to 1 hour.
    /// </summary>
    [Display(Name = "timeout")]
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "{0} must be from 1s to 1h", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true)]
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// How many ListObjectsV2 streams a planning listing runs at once, each over its own range of keys
    /// (<c>list_concurrency</c>), from 1 (one stream, as a plain listing) to <see cref="MaxListConcurrency"/> (64).
    /// Default 8. Each stream also holds its next page ready while the current one is read.
    /// </summary>
    /// <remarks>
    /// Requests are what a listing costs: a parallel listing sends about one more request per range than a single
    /// stream (its last, partial page) plus a few to find the ranges; what each costs per provider is in
    /// <c>docs/configuration.md</c>.
    /// </remarks>
    [Display(Name = "list_concurrency")]
    [Range(1, MaxListConcurrency, ErrorMessage = "{0} must be from {1} to {2}")]
    public int ListConcurrency { get; init; } = 8;

    /// <summary>
    /// The most DeleteObjects requests (up to 1000 keys each) in flight at once (<c>delete_concurrency</c>), from 1
    /// to <see cref="MaxDeleteConcurrency"/> (64). Default 8. This is the ceiling of the store's adaptive limit
    /// (<see cref="AdaptiveConcurrencyLimit"/>), which starts at 1, grows by one per round of successful requests and
    /// halves on <c>503 SlowDown</c> or a timeout.
    /// </summary>
    [Display(Name = "delete_concurrency")]
    [Range(1, MaxDeleteConcurrency, ErrorMessage = "{0} must be from {1} to {2}")]
    public int DeleteConcurrency { get; init; } = 8;

    /// <summary>
    /// The S3 Inventory that plans list instead of the bucket (<c>inventory: {manifest: …}</c>): the
    /// <c>manifest.json</c> of an inventory of this bucket, as <c>s3://bucket/prefix/…/manifest.json</c> (read with
    /// this store's endpoint and credentials, its data files from the manifest's destination bucket) or as a path on
    /// disk (its data files found by their keys under the manifest's folder or one above it). Default
    /// <see langword="null"/>: plans list the bucket. Its CSV (gzip) or Parquet files are read
    /// <see cref="ListConcurrency"/> at a time; ages are measured from the inventory's creation time; the gate
    /// re-checks every action against the live bucket all the same. Listings other than a plan's (usage, the gate,
    /// the queue) always read the live bucket.
    /// </summary>
    public string? InventoryManifest { get; init; }

    /// <summary>
    /// The HTTP connections the store's client opens to the service at most (the SDK's
    /// <c>MaxConnectionsPerServer</c>): one per listing stream and its prefetch (2 × <see cref="ListConcurrency"/>),
    /// one per delete in flight (<see cref="DeleteConcurrency"/>), and <see cref="OtherRequestConnections"/> for the rest.
    /// </summary>
    public int MaxConnections => (2 * ListConcurrency) + DeleteConcurrency + OtherRequestConnections;

    /// <summary>The prefix with its trailing <c>/</c> (empty when the store is the whole bucket).</summary>
    internal string FolderPrefix => Prefix.Length == 0 || Prefix.EndsWith('/') ? Prefix : Prefix + "/";

    /// <summary>Checks what no single property's annotation can: the prefix, the endpoint, the key pair.</summary>
    /// <param name="validationContext">The context (unused: the options are checked as a whole).</param>
    /// <returns>One result per problem, naming the property it is about.</returns>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Prefix.Length > 0 && ObjectKey.Validate(FolderPrefix) is { } prefixProblem)
        {
            yield return new ValidationResult($"prefix '{ObjectKey.Printable(Prefix)}' is not a valid key prefix: {prefixProblem.Replace("the key", "it", StringComparison.Ordinal)}", [nameof(Prefix)]);
        }

        if (Endpoint is not null && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            yield return new ValidationResult($"endpoint '{Endpoint}' is not an http:// or https:// URL (for example https://s3.us-east-1.wasabisys.com)", [nameof(Endpoint)]);
        }

        if (QuarantineMode is not (CopyQuarantineMode or TagQuarantineMode))
        {
            yield return new ValidationResult($"quarantine_mode must be {CopyQuarantineMode} (copy into the trash, the default) or {TagQuarantineMode} (tag in place)", [nameof(QuarantineMode)]);
        }

        if (AccessKey is null != SecretKey is null)
        {
            var (given, missing) = AccessKey is null ? ("secret_key", "access_key") : ("access_key", "secret_key");
            yield return new ValidationResult(
                $"{given} is set but {missing} is not: give both, or neither to use the SDK's default credential chain",
                [AccessKey is null ? nameof(SecretKey) : nameof(AccessKey)]);
        }
    }
}
