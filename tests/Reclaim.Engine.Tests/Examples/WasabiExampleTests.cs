using System.Globalization;
using Amazon.S3.Model;
using Microsoft.Data.Sqlite;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Examples;

/// <summary>
/// <c>examples/wasabi/reclaim.yaml</c> as shipped, on its own s3rver (whose objects' ages are set on disk: a listing's
/// LastModified is the object file's modification time) and a SQLite catalog: orphans 10, 60 and 120 days old; the
/// plan separates the bytes that save now from those that save only after day 90, and warns about quarantine copies.
/// </summary>
public sealed class WasabiExampleTests : IAsyncLifetime
{
    private const string Bucket = "wasabi-example";
    private const int Size = 1 << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("reclaim-example-wasabi-").FullName;
    private S3rverProcess? _s3;

    private string ConfigPath => Path.Combine(_dir, "reclaim.yaml");

    public async Task InitializeAsync()
    {
        _s3 = await S3rverProcess.StartAsync([Bucket]);
        File.Copy(Path.Combine(TestEnvironment.RepositoryRoot, "examples", "wasabi", "reclaim.yaml"), ConfigPath);
        await File.WriteAllTextAsync(Path.Combine(_dir, ".env"), $"""
            WASABI_BUCKET={Bucket}
            WASABI_ENDPOINT={_s3.Endpoint.ToString().TrimEnd('/')}
            WASABI_PATH_STYLE=true
            WASABI_CHUNK_ENCODING=false
            WASABI_KEY={TestEnvironment.S3rverAccessKey}
            WASABI_SECRET={TestEnvironment.S3rverSecretKey}
            """);
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir, "app.db")};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE media_assets (id TEXT NOT NULL, org_id TEXT NOT NULL); INSERT INTO media_assets VALUES ('live', 'o1');";
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        if (_s3 is not null)
        {
            await _s3.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Writes an object of <see cref="Size"/> bytes and ages it to <paramref name="days"/> days before <paramref name="now"/>.</summary>
    private async Task<DateTimeOffset> PutAsync(string key, DateTimeOffset now, int days)
    {
        using var client = TestS3Service.CreateClient(_s3!.Endpoint);
        await client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(new byte[Size]), UseChunkEncoding = false });
        var modified = now - TimeSpan.FromDays(days);
        File.SetLastWriteTimeUtc(Path.Combine(_s3.DataFolder, Bucket, $"{key}._S3rver_object"), modified.UtcDateTime);
        return modified;
    }

    [Fact]
    public async Task Plan_OrphansTenSixtyAndOneHundredTwentyDaysOld_SavesTheOldestNow_TheOthersFromDayNinety_AndWarnsAboutQuarantineCopies()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await PutAsync("orgs/o1/uploads/live/raw.mp4", now, 200);
        var tenDays = await PutAsync("orgs/o1/uploads/gone-10/raw.mp4", now, 10);
        var sixtyDays = await PutAsync("orgs/o1/uploads/gone-60/raw.mp4", now, 60);
        await PutAsync("orgs/o2/uploads/gone-120/raw.mp4", now, 120);

        var plan = await CliRun.RunAsync(TimeProvider.System, "plan", "--format", "json", "-c", ConfigPath);
        var table = await CliRun.RunAsync(TimeProvider.System, "plan", "--format", "table", "-c", ConfigPath);

        plan.ExitCode.Should().Be(0, plan.ToString());
        var policy = plan.Json.GetProperty("policies")[0];
        policy.GetProperty("totals").GetProperty("objects_orphaned").GetInt64().Should().Be(3, "the live folder is referenced");
        var cost = policy.GetProperty("cost");
        cost.GetProperty("provider").GetString().Should().Be("wasabi");
        cost.GetProperty("bytes_saving_now").GetInt64().Should().Be(Size, "only the 120-day-old object is past Wasabi's 90 days");
        cost.GetProperty("bytes_saving_later").GetInt64().Should().Be(2 * Size, "the 10- and 60-day-old ones are billed until day 90 whatever is done");
        cost.GetProperty("saves_from").GetDateTimeOffset().Should().Be(sixtyDays + TimeSpan.FromDays(90), "the 60-day-old one saves in 30 days");
        cost.GetProperty("saves_all_from").GetDateTimeOffset().Should().Be(tenDays + TimeSpan.FromDays(90), "the 10-day-old one in 80");
        cost.GetProperty("trash_minimum_bytes").GetInt64().Should().Be(3 * Size, "every quarantined object's trash copy starts a new minimum");
        var warnings = policy.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToList();
        warnings.Should().Contain(w => w.Contains($"{2 * Size} bytes are of objects younger than wasabi's minimum storage duration 90d", StringComparison.Ordinal)
            && w.Contains((sixtyDays + TimeSpan.FromDays(90)).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), StringComparison.Ordinal)
            && w.Contains($"{Size} bytes save now", StringComparison.Ordinal));
        warnings.Should().Contain(w => w.Contains("each copy starts a new 90d minimum", StringComparison.Ordinal));
        table.ExitCode.Should().Be(0, table.ToString());
        table.Stdout.Should().Contain("saves nothing until they reach it").And.Contain("each copy starts a new 90d minimum");
    }
}
