namespace Reclaim.Testing;

/// <summary>The environment variables and locations that tests share.</summary>
public static class TestEnvironment
{
    /// <summary>
    /// The URL of an S3-protocol server for integration tests (for example <c>http://127.0.0.1:4568</c>, an
    /// s3rver started with <c>tests/services/s3rver.js</c>). Unset: the tests start their own s3rver.
    /// </summary>
    public const string S3EndpointVariable = "RECLAIM_TEST_S3_ENDPOINT";

    /// <summary>When <c>1</c>, tests fail instead of starting a missing service themselves (CI sets it).</summary>
    public const string RequireServicesVariable = "RECLAIM_TEST_REQUIRE_SERVICES";

    /// <summary>The access key s3rver accepts (its built-in account).</summary>
    public const string S3rverAccessKey = "S3RVER";

    /// <summary>The secret key of s3rver's built-in account.</summary>
    public const string S3rverSecretKey = "S3RVER";

    /// <summary>Whether <see cref="RequireServicesVariable"/> is <c>1</c>.</summary>
    public static bool RequireServices => Environment.GetEnvironmentVariable(RequireServicesVariable) == "1";

    /// <summary>The value of an environment variable, or <see langword="null"/> when unset or blank.</summary>
    /// <param name="name">The variable's name.</param>
    /// <returns>The trimmed value, or <see langword="null"/>.</returns>
    public static string? Get(string name) =>
        Environment.GetEnvironmentVariable(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    /// <summary>The repository's root folder: the nearest parent of the test binaries that holds <c>Reclaim.sln</c>.</summary>
    /// <exception cref="DirectoryNotFoundException">The tests do not run from inside a checkout.</exception>
    public static string RepositoryRoot => LazyRepositoryRoot.Value;

    private static readonly Lazy<string> LazyRepositoryRoot = new(FindRepositoryRoot);

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Reclaim.sln")))
            {
                return folder.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Reclaim.sln above '{AppContext.BaseDirectory}': run the tests from a checkout");
    }
}
