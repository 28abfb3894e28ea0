using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>
/// How to reach one bucket of an S3-compatible service (AWS S3, Wasabi, MinIO, Cloudflare R2, Backblaze B2...),
/// as the <c>stores:</c> entry of type <c>s3</c> in <c>reclaim.yaml</c> describes it.
/// </summary>
public sealed record S3StoreOptions
{
    /// <summary>The store's name in the configuration. Required.</summary>
    public required string Name { get; init; }

    /// <summary>The bucket's name. Required.</summary>
    public required string Bucket { get; init; }

    /// <summary>
    /// The key prefix inside the bucket the store is confined to; keys given to and returned by the store are
    /// relative to it, and nothing outside it is listed or touched. Empty (the default) means the whole bucket.
    /// A prefix that does not end in <c>/</c> is treated as a folder all the same (<c>media</c> is <c>media/</c>):
    /// prefixes compare on <c>/</c> boundaries.
    /// </summary>
    public string Prefix { get; init; } = string.Empty;

    /// <summary>
    /// The service's endpoint URL (for example <c>https://s3.us-east-1.wasabisys.com</c>), or
    /// <see langword="null"/> (the default) for AWS S3 in <see cref="Region"/>.
    /// </summary>
    public string? Endpoint { get; init; }

    /// <summary>The region requests are signed for (and, without <see cref="Endpoint"/>, sent to). Default <c>us-east-1</c>.</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>
    /// Whether to address the bucket in the path (<c>https://host/bucket/key</c>) rather than as a subdomain.
    /// Most self-hosted services (MinIO, s3rver) need it. Default <see langword="false"/>.
    /// </summary>
    public bool ForcePathStyle { get; init; }

    /// <summary>
    /// The access key id, or <see langword="null"/> (the default) to use the AWS SDK's default credential chain
    /// (environment, profile, instance role). Set together with <see cref="SecretKey"/>.
    /// </summary>
    public string? AccessKey { get; init; }

    /// <summary>The secret access key, or <see langword="null"/> (the default); set together with <see cref="AccessKey"/>.</summary>
    public string? SecretKey { get; init; }

    /// <summary>
    /// Whether uploads use <c>aws-chunked</c> content encoding (streaming SigV4). Default <see langword="true"/>;
    /// some S3-compatible services do not decode it and need <see langword="false"/>.
    /// </summary>
    public bool UseChunkEncoding { get; init; } = true;

    /// <summary>
    /// How many times one request is tried in all before its error is returned (1 means no retry), from 1 to 20.
    /// Default 5. Only transient failures are retried (see <see cref="S3Store"/>).
    /// </summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>
    /// The delay before the first retry; later ones grow exponentially, with jitter (Polly's decorrelated jitter
    /// backoff). Default 200 ms; from zero to one minute.
    /// </summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long one HTTP request to the service may take before it is abandoned and, like a broken connection,
    /// retried (it counts as one of <see cref="MaxAttempts"/>). Default 100 s (the AWS SDK's and
    /// <c>HttpClient</c>'s default); from 1 second to 1 hour.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>The prefix with its trailing <c>/</c> (empty when the store is the whole bucket).</summary>
    internal string FolderPrefix => Prefix.Length == 0 || Prefix.EndsWith('/') ? Prefix : Prefix + "/";

    /// <summary>Lists every problem with these options.</summary>
    /// <returns>One message per problem; empty when the options are usable.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Name))
        {
            errors.Add("the store needs a name");
        }

        if (string.IsNullOrWhiteSpace(Bucket))
        {
            errors.Add($"s3 store '{Name}': 'bucket' is required");
        }

        if (Prefix.Length > 0 && ObjectKey.Validate(FolderPrefix) is { } prefixProblem)
        {
            errors.Add($"s3 store '{Name}': 'prefix' is not a valid key prefix: {prefixProblem}");
        }

        if (Endpoint is not null && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            errors.Add($"s3 store '{Name}': 'endpoint' must be an absolute http or https URL, not '{Endpoint}'");
        }

        if (string.IsNullOrWhiteSpace(Region))
        {
            errors.Add($"s3 store '{Name}': 'region' must not be empty");
        }

        if (AccessKey is null != SecretKey is null)
        {
            errors.Add($"s3 store '{Name}': set both 'access_key' and 'secret_key', or neither (to use the default credential chain)");
        }

        if (MaxAttempts is < 1 or > 20)
        {
            errors.Add($"s3 store '{Name}': the attempts per request must be from 1 to 20, not {MaxAttempts}");
        }

        if (RetryBaseDelay < TimeSpan.Zero || RetryBaseDelay > TimeSpan.FromMinutes(1))
        {
            errors.Add($"s3 store '{Name}': the retry delay must be from 0 to 1 minute, not {RetryBaseDelay}");
        }

        if (Timeout < TimeSpan.FromSeconds(1) || Timeout > TimeSpan.FromHours(1))
        {
            errors.Add($"s3 store '{Name}': the request timeout must be from 1 second to 1 hour, not {Timeout}");
        }

        return errors;
    }
}
