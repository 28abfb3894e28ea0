using Microsoft.Data.Sqlite;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Cli;

/// <summary>What `reclaim` prints when the S3 service does not answer: the store, operation, key, attempt and limits.</summary>
public sealed class S3FailureOutputTests : IAsyncLifetime
{
    private readonly TemporaryFolder _folder = new("s3-failure");
    private TestBucket _s3 = null!;

    public async Task InitializeAsync()
    {
        _s3 = await TestBucket.CreateAsync("fail");
        await new SqliteDatabase(Path.Join(_folder.Path, "app.db")).ExecuteAsync("CREATE TABLE media_assets (org_id TEXT, id TEXT); INSERT INTO media_assets VALUES ('o1', 'a1');");
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Plan_S3ListingTimesOut_NamesStoreOperationPrefixAttemptsAndLimits_NotACancellation()
    {
        // Arrange: the service holds every request past the store's 1 s timeout.
        await using var proxy = new FaultProxy(_s3.Endpoint, failureRate: 1) { Kinds = [Fault.Timeout], Hold = TimeSpan.FromSeconds(5) };
        var config = Path.Join(_folder.Path, "reclaim.yaml");
        await new TestConfig()
            .S3Store(_s3.Name, proxy.Endpoint, "timeout: 1s", "max_attempts: 2")
            .SqliteCatalog()
            .OrphanUploads()
            .WriteAsync(config);

        // Act
        var result = await CliRun.RunAsync(TimeProvider.System, "plan", "-c", config);

        // Assert
        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain(
            "error: S3 store 'media': ListObjectsV2 of keys under 'orgs/' got no answer within the timeout on attempt 2 of 2 (timeout: 1s, max_attempts: 2)");
        result.Stderr.Should().NotContain("canceled").And.NotContain("cancelled").And.NotContain("   at ");
    }
}
