using System.Globalization;
using System.Text;
using System.Web;
using Reclaim.Core.Storage;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// The gate's re-read of a sub-batch on S3, counted at the proxy in front of s3rver: what each ListObjectsV2 of the
/// apply asks for (its <c>start-after</c> and <c>max-keys</c>), against what one range listing of the sub-batch would
/// read, and that the re-read still sees every planned object as the live store holds it.
/// </summary>
public sealed class S3RecheckRequestScenarios : IAsyncLifetime
{
    private const int Shards = 40;
    private const int FilesPerShard = 100;

    private readonly S3PostgresBackend _backend = new();
    private FaultProxy? _proxy;

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        await _backend.ExecuteSqlAsync("CREATE TABLE files (shard TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (shard, name))");
    }

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }

    private static string Key(int shard, int file) => $"uploads/{shard:D2}/f{file:D3}.bin";

    /// <summary>Writes every object, references all but <paramref name="orphan"/>'s, and puts the proxy in front.</summary>
    private async Task<List<string>> SeedAsync(Func<int, int, bool> orphan)
    {
        var keys = new List<string>();
        var rows = new List<string>();
        for (var shard = 0; shard < Shards; shard++)
        {
            for (var file = 0; file < FilesPerShard; file++)
            {
                keys.Add(Key(shard, file));
                if (!orphan(shard, file))
                {
                    rows.Add($"('{shard:D2}', 'f{file:D3}.bin')");
                }
            }
        }

        Configure();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, _) => await _backend.PutAsync(key, Encoding.UTF8.GetBytes(key)));
        foreach (var chunk in rows.Chunk(1000))
        {
            await _backend.ExecuteSqlAsync("INSERT INTO files (shard, name) VALUES " + string.Join(", ", chunk));
        }

        _proxy = new FaultProxy(new Uri(_backend.Endpoint + "/"), 0) { RecordRequests = true };
        _backend.ProxyEndpoint = _proxy.Endpoint.ToString().TrimEnd('/');
        Configure();
        return keys;
    }

    private void Configure() => _backend.WriteConfig("""
              - name: orphan-files
                type: orphans
                store: media
                layout: "uploads/{shard}/{file}"
                references:
                  catalog: app
                  query: "SELECT shard, name AS file FROM files"
                min_age: 24h
                action: delete
            """, $"""
            guards:
              max_delete_fraction: 1.0
            {_backend.StateYaml}
            """);

    /// <summary>Plans two days after the newest object was written; returns that clock and the plan file.</summary>
    private async Task<(ManualClock Clock, string PlanPath)> PlanAsync()
    {
        var clock = new ManualClock((await _backend.ListAllAsync()).Max(o => o.LastModified) + TimeSpan.FromDays(2));
        var planPath = Path.Combine(_backend.Dir, "plan.json");
        var plan = await _backend.CliAsync(clock, "plan", "-o", planPath);
        plan.ExitCode.Should().Be(0, plan.ToString());
        return (clock, planPath);
    }

    /// <summary>The ListObjectsV2 requests the proxy forwarded, as (start-after, max-keys), in the order they were answered.</summary>
    private List<(string? StartAfter, int MaxKeys)> Listings() => [.. _proxy!.Requests
        .Where(r => r.Method == "GET" && r.Url.Contains("list-type=2", StringComparison.Ordinal))
        .Select(r => HttpUtility.ParseQueryString(r.Url[(r.Url.IndexOf('?', StringComparison.Ordinal) + 1)..]))
        .Select(q => (q["start-after"], int.Parse(q["max-keys"] ?? "1000", CultureInfo.InvariantCulture)))];

    [Fact]
    public async Task OrphansInClusters_AreReReadOneClusterARequest_AskingForLittleMoreThanTheCluster()
    {
        // Arrange: 4000 objects in 40 folders of 100; the folders 00, 10, 20 and 30 are orphaned whole (400 objects,
        // one sub-batch). One range listing of the sub-batch reads 3100 keys, in 4 pages.
        var keys = await SeedAsync((shard, _) => shard % 10 == 0);
        var (clock, planPath) = await PlanAsync();

        // Since the plan: one orphan is gone, one rewritten with other content, one referenced again.
        await _backend.Store.DeleteAsync([Key(10, 5)], CancellationToken.None);
        await _backend.PutAsync(Key(20, 7), Encoding.UTF8.GetBytes("rewritten since the plan"));
        await _backend.ExecuteSqlAsync("INSERT INTO files (shard, name) VALUES ('30', 'f099.bin')");
        _proxy!.Requests.Clear();

        // Act
        var apply = await _backend.CliAsync(clock, "apply", planPath, "--yes");

        // Assert: the first request reads a page from the first orphan; it shows a folder of orphans then 900 other
        // keys, so each later request starts at the next orphan and asks for little more than a folder's 100 keys.
        apply.ExitCode.Should().Be(0, apply.ToString());
        var listings = Listings();
        listings.Should().HaveCount(4, "one request per cluster of orphans, no more than the range's 4 pages");
        listings[0].MaxKeys.Should().Be(1000);
        listings.Skip(1).Should().OnlyContain(l => l.MaxKeys > FilesPerShard && l.MaxKeys < 200, "a later request asks for about one cluster");
        listings.Sum(l => l.MaxKeys).Should().BeLessThan(1500, "the 2700 referenced keys between the clusters are not read again");
        listings.Select(l => l.StartAfter![..11]).Should().Equal("uploads/00/", "uploads/10/", "uploads/20/", "uploads/30/");
        _proxy.Requests.Count(r => r.Method == "POST").Should().Be(1, "one DeleteObjects for the sub-batch");

        apply.Json.GetProperty("objects_done").GetInt64().Should().Be(397);
        var kept = (await _backend.KeysAsync()).ToHashSet(StringComparer.Ordinal);
        kept.Should().BeEquivalentTo(keys.Where(k => k[9] != '0' || k == Key(20, 7) || k == Key(30, 99)).Where(k => k != Key(10, 5)),
            "every referenced object stays, and so do the orphan rewritten since the plan and the one referenced again");
        (await ((IObjectContent)_backend.Store).ReadAllAsync(Key(20, 7), CancellationToken.None)).Should().Equal(Encoding.UTF8.GetBytes("rewritten since the plan"));
    }

    [Fact]
    public async Task OrphansSpreadEvenly_AreReReadInFullPages_NoMoreRequestsThanOneRangeListing()
    {
        // Arrange: every tenth object is an orphan (400, one sub-batch spanning 3991 keys: 4 pages).
        var keys = await SeedAsync((_, file) => file % 10 == 0);
        var (clock, planPath) = await PlanAsync();
        _proxy!.Requests.Clear();

        // Act
        var apply = await _backend.CliAsync(clock, "apply", planPath, "--yes");

        // Assert: runs of one orphan among nine referenced objects: reading run by run would take a request per
        // orphan, so every request is a full page, each from the next orphan on.
        apply.ExitCode.Should().Be(0, apply.ToString());
        var listings = Listings();
        listings.Should().HaveCount(4).And.OnlyContain(l => l.MaxKeys == 1000);
        apply.Json.GetProperty("objects_done").GetInt64().Should().Be(400);
        (await _backend.KeysAsync()).Should().BeEquivalentTo(keys.Where(k => !k.EndsWith("0.bin", StringComparison.Ordinal)));
    }
}
