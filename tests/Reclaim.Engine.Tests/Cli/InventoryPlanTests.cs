using Amazon.S3.Model;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Cli;

/// <summary>
/// `reclaim plan` of an S3 store with an <c>inventory</c>: the same orphans as a plan of the live bucket, from CSV
/// (gzip) and Parquet inventories, in the bucket or on disk; ages measured from the inventory's creation time; a
/// manifest that cannot be used is a config error (exit 2) naming it.
/// </summary>
public sealed class InventoryPlanTests : IAsyncLifetime
{
    private readonly TemporaryFolder _folder = new("inventory-plan");
    private TestBucket _s3 = null!;

    /// <summary>Two days after the objects were written: every group is past its grace period by the clock.</summary>
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow.AddDays(2));

    public async Task InitializeAsync()
    {
        _s3 = await TestBucket.CreateAsync("inv");
        await _s3.PutObjectsAsync(Enumerable.Range(0, 30).SelectMany(i => new[] { $"orgs/o{i % 3}/uploads/a{i:D2}/raw.mp4", $"orgs/o{i % 3}/uploads/a{i:D2}/thumb 1.jpg" })
            .Append("orgs/o1/uploads/readme.txt").Append("other/x.bin"));

        // Every third asset has a row.
        await new SqliteDatabase(Path.Join(_folder.Path, "app.db")).ExecuteAsync("CREATE TABLE media_assets (org_id TEXT, id TEXT);" +
            string.Concat(Enumerable.Range(0, 30).Where(i => i % 3 == 0).Select(i => $"INSERT INTO media_assets VALUES ('o{i % 3}', 'a{i:D2}');")));
    }

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }

    private async Task<string> ConfigAsync(string name, string? manifest)
    {
        var config = Path.Join(_folder.Path, name + ".yaml");
        var inventory = manifest is null ? [] : new[] { "inventory:", $"  manifest: \"{manifest}\"" };
        await new TestConfig()
            .SqliteState($"./{name}-state.db")
            .S3Store(_s3.Name, _s3.Endpoint, inventory)
            .SqliteCatalog()
            .OrphanUploads("min_age: 24h")
            .Guards("max_delete_fraction: 1")
            .WriteAsync(config);
        return config;
    }

    private async Task<Core.Planning.PolicyPlan> PlanAsync(string name, string? manifest)
    {
        var planPath = Path.Join(_folder.Path, name + "-plan.json");
        var result = await CliRun.RunAsync(_clock, "plan", "-c", await ConfigAsync(name, manifest), "-o", planPath);
        result.ExitCode.Should().Be(0, result.ToString());
        return (await PlanFile.ReadAsync(planPath, default)).Policies.Single();
    }

    private async Task<List<InventoryRow>> RowsAsync()
    {
        using var client = _s3.CreateClient();
        return await S3Inventories.FromListingAsync(client, _s3.Name, string.Empty);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public async Task Plan_FromInventory_PlansTheSameOrphansAsTheLiveListing(bool parquet, bool inBucket)
    {
        // Arrange: an inventory taken a day after the uploads.
        var createdAt = DateTimeOffset.UtcNow.AddDays(1);
        using var client = _s3.CreateClient();
        var rows = await RowsAsync();
        var manifest = inBucket
            ? await S3Inventories.WriteToBucketAsync(client, _s3.Name, _s3.Name, "inventories/", rows, parquet, createdAt)
            : await S3Inventories.WriteToFolderAsync(_folder.Path, _s3.Name, rows, parquet, createdAt);

        // Act: the live plan, then an upload the inventory does not know of, then the plan from the inventory.
        var live = await PlanAsync("live", null);
        await client.PutObjectAsync(new PutObjectRequest { BucketName = _s3.Name, Key = "orgs/o1/uploads/after/new.mp4", ContentBody = "new", UseChunkEncoding = false });
        var fromInventory = await PlanAsync("inventory", manifest);

        // Assert: 20 of the 30 assets are orphans, the same groups with the same objects either way (and not the
        // group uploaded after the inventory: the plan read the inventory, not the bucket).
        live.Groups.Should().HaveCount(20);
        fromInventory.Groups.Select(g => g.GroupKey).Should().Equal(live.Groups.Select(g => g.GroupKey));
        fromInventory.Groups.SelectMany(g => g.Objects).Should().Equal(live.Groups.SelectMany(g => g.Objects));
        fromInventory.Totals.GroupsScanned.Should().Be(live.Totals.GroupsScanned);
        fromInventory.Totals.GroupsReferenced.Should().Be(live.Totals.GroupsReferenced);
        fromInventory.Totals.ObjectsUnmatched.Should().Be(live.Totals.ObjectsUnmatched);
    }

    [Fact]
    public async Task Plan_FromInventory_AgesAtItsCreationTime_SoObjectsNewerThanItAreNoCandidates()
    {
        // Arrange: an inventory that claims to be from an hour before the uploads (what it lists is newer than it).
        var rows = await RowsAsync();
        var manifest = await S3Inventories.WriteToFolderAsync(_folder.Path, _s3.Name, rows, parquet: false, DateTimeOffset.UtcNow.AddHours(-1));

        // Act
        var live = await PlanAsync("live", null);
        var fromInventory = await PlanAsync("inventory", manifest);

        // Assert: by the clock (two days on) every unreferenced group is old; by the inventory none is.
        live.Groups.Should().HaveCount(20);
        fromInventory.Groups.Should().BeEmpty();
        fromInventory.Totals.GroupsTooYoung.Should().Be(20);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("malformed")]
    [InlineData("other-bucket")]
    public async Task Plan_InventoryUnusable_IsAConfigError_Exit2_NamingTheManifest(string problem)
    {
        // Arrange
        var manifest = Path.Join(_folder.Path, "inventory", "manifest.json");
        Directory.CreateDirectory(Path.GetDirectoryName(manifest)!);
        switch (problem)
        {
            case "malformed":
                await File.WriteAllTextAsync(manifest, "{\"sourceBucket\": \"" + _s3.Name + "\", \"files\": [");
                break;
            case "other-bucket":
                manifest = await S3Inventories.WriteToFolderAsync(_folder.Path, "another-bucket", await RowsAsync(), parquet: true, DateTimeOffset.UtcNow);
                break;
        }

        // Act
        var result = await CliRun.RunAsync(_clock, "plan", "-c", await ConfigAsync("bad", manifest));

        // Assert
        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().StartWith($"error: inventory manifest {manifest} ").And.NotContain("   at ");
    }

    [Theory]
    [InlineData("manifest: s3://just-a-bucket", "names no object")]
    [InlineData("manifest: https://example.com/manifest.json", "is neither an s3:// URL nor a path")]
    [InlineData("path: ./manifest.json", "unknown key")]
    public async Task Validate_InventoryMisconfigured_ReportsItsLine_Exit2(string line, string expected)
    {
        var config = await ConfigAsync("validate", "placeholder");
        var text = await File.ReadAllTextAsync(config);
        await File.WriteAllTextAsync(config, text.Replace("manifest: \"placeholder\"", line, StringComparison.Ordinal));

        var result = await CliRun.RunAsync(_clock, "validate", "-c", config);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{config}:12:").And.Contain("stores.media.inventory").And.Contain(expected);
    }
}
