namespace Reclaim.Testing;

/// <summary>A new bucket with a unique name on the test S3 server (<see cref="TestS3Service"/>).</summary>
/// <param name="Name">The bucket's name: the given prefix, a dash and 12 hex digits.</param>
/// <param name="Endpoint">The server's URL.</param>
public sealed record TestBucket(string Name, Uri Endpoint)
{
    /// <summary>The server's URL as text without a trailing slash, as a config names it.</summary>
    public string EndpointText => Endpoint.ToString().TrimEnd('/');

    /// <summary>An S3 client for the server (path-style, s3rver's account), to be disposed by the caller.</summary>
    /// <returns>The client.</returns>
    public Amazon.S3.AmazonS3Client CreateClient() => TestS3Service.CreateClient(Endpoint);

    /// <summary>Writes objects straight to the bucket (not through Reclaim's store), 16 at a time, without aws-chunked uploads.</summary>
    /// <param name="keys">The keys.</param>
    /// <param name="content">Each key's content as UTF-8 text; default the key itself.</param>
    /// <returns>A task.</returns>
    public async Task PutObjectsAsync(IEnumerable<string> keys, Func<string, string>? content = null)
    {
        using var client = CreateClient();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, token) =>
            await client.PutObjectAsync(
                new Amazon.S3.Model.PutObjectRequest { BucketName = Name, Key = key, ContentBody = content?.Invoke(key) ?? key, UseChunkEncoding = false },
                token).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>Creates a bucket named <c>PREFIX-</c> and 12 random hex digits.</summary>
    /// <param name="prefix">Lowercase letters, digits and dashes (S3's bucket name rules).</param>
    /// <returns>The bucket.</returns>
    public static async Task<TestBucket> CreateAsync(string prefix)
    {
        var name = prefix + "-" + Guid.NewGuid().ToString("N")[..12];
        return new TestBucket(name, await TestS3Service.CreateBucketAsync(name).ConfigureAwait(false));
    }
}
