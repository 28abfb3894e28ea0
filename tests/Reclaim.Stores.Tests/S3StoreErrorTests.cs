using Microsoft.Extensions.Logging;
using Reclaim.Stores.S3;
using Reclaim.Testing;

namespace Reclaim.Stores.Tests;

/// <summary>What a user reads when S3 requests fail: one line per retry, and a final error naming what and which limit.</summary>
public sealed class S3StoreErrorTests(S3BucketFixture bucket) : IClassFixture<S3BucketFixture>
{
    [Fact]
    public async Task Stat_EveryAttemptTimesOut_NamesStoreOperationKeyAttemptsAndLimits()
    {
        // Arrange: every request is held unanswered past the client's 1 s timeout.
        await using var proxy = new FaultProxy(bucket.Endpoint, failureRate: 1) { Kinds = [Fault.Timeout], Hold = TimeSpan.FromSeconds(5) };
        var logger = new RecordingLogger();
        await using var store = new S3Store(
            bucket.NewStoreOptions() with { Name = "wasabi", Endpoint = proxy.Endpoint.ToString(), Timeout = TimeSpan.FromSeconds(1), MaxAttempts = 2 },
            logger);

        // Act
        var stat = () => store.StatAsync("orgs/1/clip.mp4", default);

        // Assert: not "The operation was canceled."
        var error = (await stat.Should().ThrowAsync<TimeoutException>()).Which;
        error.Message.Should().Be(
            "S3 store 'wasabi': HeadObject of 'orgs/1/clip.mp4' got no answer within the timeout on attempt 2 of 2 (timeout: 1s, max_attempts: 2)");
        logger.Entries.Where(e => e.EventName == "S3RequestRetrying").Should().ContainSingle("the pipeline retried once: two attempts");
        // At least the two attempts reached the proxy; under load the HTTP stack may send one again on a new
        // connection, which is not an attempt of the pipeline's.
        proxy.CountOf(Fault.Timeout).Should().BeGreaterThanOrEqualTo(2);
    }

    [Fact]
    public async Task Delete_TimesOut_IsATimeoutThatNamesTheBatch()
    {
        await using var proxy = new FaultProxy(bucket.Endpoint, failureRate: 1) { Kinds = [Fault.Timeout], Hold = TimeSpan.FromSeconds(5) };
        await using var store = new S3Store(
            bucket.NewStoreOptions() with { Name = "media", Endpoint = proxy.Endpoint.ToString(), Timeout = TimeSpan.FromSeconds(1), MaxAttempts = 1 });

        var delete = () => store.DeleteAsync(["a/1.bin", "a/2.bin", "a/3.bin"], default);

        (await delete.Should().ThrowAsync<TimeoutException>()).Which.Message.Should()
            .Be("S3 store 'media': DeleteObjects of 'a/1.bin' and 2 more keys got no answer within the timeout on attempt 1 of 1 (timeout: 1s, max_attempts: 1)");
        store.DeleteLimit.Decreases.Should().Be(0, "the limit is already at its floor of 1");
    }

    [Theory]
    [InlineData(LogLevel.Warning, false)]
    [InlineData(LogLevel.Debug, true)]
    public async Task Retry_IsOneWarningLine_WithTheExceptionOnlyAtDebugLevel(LogLevel minimum, bool withException)
    {
        await using var proxy = new FaultProxy(bucket.Endpoint, failureRate: 1) { Kinds = [Fault.SlowDown] };
        var logger = new RecordingLogger(minimum);
        await using var store = new S3Store(bucket.NewStoreOptions() with { Name = "r2", Endpoint = proxy.Endpoint.ToString(), MaxAttempts = 3 }, logger);

        var stat = () => store.StatAsync("k.txt", default);

        var error = (await stat.Should().ThrowAsync<Amazon.S3.AmazonS3Exception>()).Which;
        error.Message.Should().StartWith("S3 store 'r2': HeadObject of 'k.txt' failed on attempt 3 of 3 (max_attempts: 3): 503");
        var retries = logger.Entries.Where(e => e.EventName == "S3RequestRetrying").ToList();
        retries.Should().HaveCount(2);
        retries.Should().AllSatisfy(e =>
        {
            e.Level.Should().Be(LogLevel.Warning);
            e.Message.Should().NotContain("\n").And.StartWith("S3 store 'r2': HeadObject of 'k.txt' failed on attempt ").And.Contain("503").And.Contain("retrying in");
            (e.Exception is not null).Should().Be(withException);
        });
    }
}
