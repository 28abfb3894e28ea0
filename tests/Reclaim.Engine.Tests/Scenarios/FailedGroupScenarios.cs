using Amazon.S3.Model;
using Microsoft.Data.Sqlite;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// One group that the S3 service keeps failing, in an otherwise good quarantine: that group fails alone (exit 4), its
/// reason is recorded on its actions and on the run and printed as one line naming the store, operation, key, attempt
/// and limit; a CopyObject answered 404 right after the listing found the object is a failure, never "gone".
/// </summary>
public sealed class FailedGroupScenarios : IAsyncLifetime
{
    private readonly TemporaryFolder _folder = new("failed-group");
    private TestBucket _s3 = null!;
    private FaultProxy _proxy = null!;

    private string Config => Path.Join(_folder.Path, "reclaim.yaml");

    public async Task InitializeAsync()
    {
        _s3 = await TestBucket.CreateAsync("failed-group");
        await _s3.PutObjectsAsync(
            from asset in new[] { "a1", "a2", "a3", "a4" } from file in new[] { "raw.mp4", "thumb.jpg" } select $"orgs/o1/uploads/{asset}/{file}",
            key => key.Split('/')[3] + key.Split('/')[4]);
        await new SqliteDatabase(Path.Join(_folder.Path, "app.db")).ExecuteAsync("CREATE TABLE media_assets (org_id TEXT, id TEXT); INSERT INTO media_assets VALUES ('o1', 'a1');");
        _proxy = new FaultProxy(_s3.Endpoint, 0);
        await new TestConfig()
            .S3Store(_s3.Name, _proxy.Endpoint, "use_chunk_encoding: false", "max_attempts: 2")
            .SqliteCatalog()
            .OrphanUploads("min_age: 1s", "action: quarantine")
            .Guards("max_delete_fraction: 1.0", "min_age_floor: 1s")
            .WriteAsync(Config);
        await Task.Delay(TimeSpan.FromSeconds(2.2)); // past min_age, in S3's whole seconds
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    /// <summary>Fails every CopyObject whose source is under asset <paramref name="asset"/>'s folder with <paramref name="fault"/>.</summary>
    private void FailCopiesOf(string asset, Fault fault) =>
        _proxy.FaultFor = request => request.HttpMethod == "PUT" && request.Headers["x-amz-copy-source"] is { } source &&
            Uri.UnescapeDataString(source).Contains($"/orgs/o1/uploads/{asset}/", StringComparison.Ordinal) ? fault : null;

    [Fact]
    public async Task GroupTheServiceKeepsFailing_FailsAlone_ExitFour_ReasonOnItsActionsAndTheRun_OneLineEach()
    {
        FailCopiesOf("a3", Fault.InternalError);

        // A real process, so that stderr holds its log lines as a user sees them.
        await using var sweep = ReclaimProcess.Start("sweep", "--yes", "--format", "json", "-c", Config);
        var code = await sweep.WaitForExitAsync();

        code.Should().Be(4, sweep.ToString());
        var runId = System.Text.Json.JsonDocument.Parse(sweep.Stdout).RootElement.GetProperty("run").GetProperty("id").GetString()!;
        var show = await CliRun.RunAsync(TimeProvider.System, "runs", "show", runId, "--format", "json", "-c", Config);
        var run = show.Json.GetProperty("run");
        run.GetProperty("status").GetString().Should().Be("partially_failed");
        run.GetProperty("error").GetString().Should().StartWith("2 actions failed, each recorded with its error; first: ").And.Contain("orgs/o1/uploads/a3/");
        var actions = show.Json.GetProperty("actions").EnumerateArray().ToList();
        var failed = actions.Where(a => a.GetProperty("outcome").GetString() == "failed").ToList();
        failed.Select(a => a.GetProperty("key").GetString()).Should().BeEquivalentTo(["orgs/o1/uploads/a3/raw.mp4", "orgs/o1/uploads/a3/thumb.jpg"]);
        failed.Should().OnlyContain(a => a.GetProperty("error").GetString()!.Contains("'media'", StringComparison.Ordinal) &&
            a.GetProperty("error").GetString()!.Contains("CopyObject", StringComparison.Ordinal));
        actions.Where(a => a.GetProperty("outcome").GetString() == "done").Should().HaveCount(4, "a2 and a4 were quarantined");
        var failure = sweep.Stderr.Split('\n').Where(l => l.Contains("quarantine orgs/o1/uploads/a3/raw.mp4 failed: ", StringComparison.Ordinal)).Should().ContainSingle(sweep.Stderr).Which;
        failure.Should().Contain("store 'media'").And.Contain("CopyObject of 'orgs/o1/uploads/a3/raw.mp4'").And.Contain("attempt 2 of 2 (max_attempts: 2)");
        sweep.Stderr.Should().NotContain("   at ", "stack traces only with -v");
        (await KeysAsync()).Should().Contain(["orgs/o1/uploads/a3/raw.mp4", "orgs/o1/uploads/a3/thumb.jpg", "orgs/o1/uploads/a1/raw.mp4"])
            .And.NotContain(k => k.StartsWith($".reclaim-trash/{runId}/orgs/o1/uploads/a3/", StringComparison.Ordinal), "a failed copy leaves nothing in the trash");
    }

    [Fact]
    public async Task CopyAnsweredNotFoundRightAfterTheListing_IsAFailure_NotGone_AndTheRunDoesNotSucceed()
    {
        FailCopiesOf("a2", Fault.NotFound);

        var sweep = await CliRun.RunAsync(TimeProvider.System, "sweep", "--yes", "-c", Config);

        sweep.ExitCode.Should().Be(4, sweep.ToString());
        var show = await CliRun.RunAsync(TimeProvider.System, "runs", "show", sweep.Json.GetProperty("run").GetProperty("id").GetString()!, "--format", "json", "-c", Config);
        show.Json.GetProperty("run").GetProperty("status").GetString().Should().NotBe("succeeded").And.Be("partially_failed");
        var a2 = show.Json.GetProperty("actions").EnumerateArray().Where(a => a.GetProperty("key").GetString()!.Contains("/a2/", StringComparison.Ordinal)).ToList();
        a2.Should().HaveCount(2).And.OnlyContain(a => a.GetProperty("outcome").GetString() == "failed");
        (await KeysAsync()).Should().Contain(["orgs/o1/uploads/a2/raw.mp4", "orgs/o1/uploads/a2/thumb.jpg"], "an object the copy could not find was not deleted");
    }

    private async Task<List<string>> KeysAsync()
    {
        using var s3 = TestS3Service.CreateClient(_s3.Endpoint);
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _s3.Name });
        return [.. (listed.S3Objects ?? []).Select(o => o.Key)];
    }
}
