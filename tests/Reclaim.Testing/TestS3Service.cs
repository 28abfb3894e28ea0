using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Reclaim.Testing;

/// <summary>
/// The S3-protocol server integration tests talk to: the one named by <see cref="TestEnvironment.S3EndpointVariable"/>,
/// or else one s3rver started for the whole test process (unless <see cref="TestEnvironment.RequireServicesVariable"/>
/// is <c>1</c>, which makes a missing endpoint an error).
/// </summary>
public static class TestS3Service
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static S3rverProcess? _shared;

    /// <summary>The command that starts s3rver for the tests by hand, from the repository's root.</summary>
    public const string StartCommand = "node --openssl-legacy-provider tests/services/s3rver.js --port 4568 --directory /tmp/reclaim-s3rver";

    /// <summary>The server's URL, starting s3rver on first use when no endpoint is configured.</summary>
    /// <param name="cancellationToken">Stops waiting for the server to start.</param>
    /// <returns>The endpoint, for example <c>http://127.0.0.1:4568</c>.</returns>
    /// <exception cref="InvalidOperationException">No endpoint is configured and services are required, or s3rver failed to start.</exception>
    public static async Task<Uri> GetEndpointAsync(CancellationToken cancellationToken = default)
    {
        if (TestEnvironment.Get(TestEnvironment.S3EndpointVariable) is { } configured)
        {
            return new Uri(configured);
        }

        if (TestEnvironment.RequireServices)
        {
            throw new InvalidOperationException(
                $"{TestEnvironment.RequireServicesVariable}=1 but {TestEnvironment.S3EndpointVariable} is not set: start s3rver " +
                $"({StartCommand}) and set {TestEnvironment.S3EndpointVariable}=http://127.0.0.1:4568");
        }

        await Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_shared is null)
            {
                var started = await S3rverProcess.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                AppDomain.CurrentDomain.ProcessExit += (_, _) => started.DisposeAsync().AsTask().GetAwaiter().GetResult();
                _shared = started;
            }

            return _shared.Endpoint;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>A client for the test server, with the settings s3rver needs (path style, checksums only when required).</summary>
    /// <param name="endpoint">The server's URL.</param>
    /// <returns>The client; the caller disposes it.</returns>
    public static AmazonS3Client CreateClient(Uri endpoint) => new(
        new BasicAWSCredentials(TestEnvironment.S3rverAccessKey, TestEnvironment.S3rverSecretKey),
        new AmazonS3Config
        {
            ServiceURL = endpoint.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });

    /// <summary>Creates a bucket on the test server.</summary>
    /// <param name="bucket">The bucket's name.</param>
    /// <returns>The server's URL.</returns>
    public static async Task<Uri> CreateBucketAsync(string bucket)
    {
        var endpoint = await GetEndpointAsync().ConfigureAwait(false);
        using var client = CreateClient(endpoint);
        await client.PutBucketAsync(new PutBucketRequest { BucketName = bucket }).ConfigureAwait(false);
        return endpoint;
    }
}
