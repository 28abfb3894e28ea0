using Microsoft.Data.Sqlite;
using Reclaim.Core.Storage;
using Reclaim.Data.Catalogs;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Planning;
using Reclaim.Stores.FileSystem;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Planning;

/// <summary>
/// The planner runs the listing, the reference read and the reading of unreferenced objects' metadata on separate
/// threads: a failure on any of them must fail the plan with that failure, not with the cancellation it causes.
/// A store that fails on cue is the one part no real store does on demand, so a decorator over a real folder does it.
/// </summary>
public sealed class LayoutPlannerFailureTests : IDisposable
{
    private readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task StatFailingOnAnUnreferencedObject_FailsThePlanWithThatError()
    {
        var (policy, store, catalog) = await SetUpAsync(files: 12_000, referenced: 2_000);
        await using var failing = new FailingStore(store) { FailStatOn = "uploads/02500.bin" };

        var plan = () => new LayoutPlanner(TimeProvider.System).PlanAsync(policy, failing, catalog, ".trash/", 100_000, null, CancellationToken.None);

        (await plan.Should().ThrowAsync<IOException>()).WithMessage("stat failed on uploads/02500.bin");
    }

    [Fact]
    public async Task StoreListingOutOfOrder_FailsThePlan_NamingBothKeys()
    {
        var (policy, store, catalog) = await SetUpAsync(files: 10, referenced: 5);
        await using var shuffled = new FailingStore(store) { SwapAfter = "uploads/00003.bin" };

        var plan = () => new LayoutPlanner(TimeProvider.System).PlanAsync(policy, shuffled, catalog, ".trash/", 100_000, null, CancellationToken.None);

        (await plan.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*'uploads/00004.bin'*'uploads/00005.bin'*keys out of order*");
    }

    [Fact]
    public async Task ManyUnreferencedGroups_AreAllDecided_InListingOrder()
    {
        var (policy, store, catalog) = await SetUpAsync(files: 20_000, referenced: 5_000);

        var plan = await new LayoutPlanner(TimeProvider.System).PlanAsync(policy, store, catalog, ".trash/", 100_000, null, CancellationToken.None);

        plan.Totals.GroupsScanned.Should().Be(20_000);
        plan.Totals.GroupsReferenced.Should().Be(5_000);
        plan.Totals.GroupsOrphaned.Should().Be(15_000);
        plan.Groups.Select(g => g.GroupKey).Should().Equal(Enumerable.Range(5_000, 15_000).Select(Key));
        plan.Totals.BytesReclaimable.Should().Be(15_000 * 3);
    }

    private static string Key(int i) => $"uploads/{i:D5}.bin";

    private async Task<(LayoutPolicy Policy, FileSystemStore Store, SqliteCatalog Catalog)> SetUpAsync(int files, int referenced)
    {
        var root = _folder.Combine("media");
        Directory.CreateDirectory(Path.Combine(root, "uploads"));
        var old = DateTime.UtcNow.AddDays(-2);
        for (var i = 0; i < files; i++)
        {
            var path = Path.Combine(root, Key(i));
            await File.WriteAllTextAsync(path, "abc");
            File.SetLastWriteTimeUtc(path, old);
        }

        var database = _folder.Combine("app.db");
        await using (var connection = new SqliteConnection($"Data Source={database};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var transaction = connection.BeginTransaction();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE files (name TEXT NOT NULL)";
            await command.ExecuteNonQueryAsync();
            command.CommandText = "INSERT INTO files VALUES (@name)";
            var name = command.Parameters.Add("@name", SqliteType.Text);
            for (var i = 0; i < referenced; i++)
            {
                name.Value = $"{i:D5}.bin";
                await command.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
        }

        var configPath = _folder.Combine("reclaim.yaml");
        await File.WriteAllTextAsync(configPath, """
            version: 1
            stores:
              media: {type: filesystem, root: ./media}
            catalogs:
              app: {provider: sqlite, connection: ./app.db}
            policies:
              - name: files
                type: orphans
                store: media
                layout: "uploads/{file}"
                references: {catalog: app, query: "SELECT name AS file FROM files"}
                min_age: 24h
            """);
        var config = ConfigLoader.Load(configPath);
        return ((LayoutPolicy)config.Policies[0], new FileSystemStore("media", root), new SqliteCatalog("app", database));
    }

    /// <summary>A real filesystem store that fails one stat, or lists two keys swapped, on cue.</summary>
    private sealed class FailingStore(FileSystemStore inner) : IObjectStore, IKeyListing
    {
        public string? FailStatOn { get; init; }

        public string? SwapAfter { get; init; }

        public string Name => inner.Name;

        public int MaxDeleteBatch => inner.MaxDeleteBatch;

        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

        public async IAsyncEnumerable<KeyBatch> ListKeyBatchesAsync(string prefix, Func<KeyBatch> nextBatch, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var keys = await inner.ListKeysAsync(prefix, cancellationToken).CollectAsync(cancellationToken);
            var at = SwapAfter is null ? -1 : keys.IndexOf(SwapAfter) + 1;
            if (at > 0)
            {
                (keys[at], keys[at + 1]) = (keys[at + 1], keys[at]);
            }

            var batch = nextBatch();
            foreach (var key in keys)
            {
                if (batch.IsFull)
                {
                    yield return batch;
                    batch = nextBatch();
                }

                batch.Add(key);
            }

            yield return batch;
        }

        public Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken) =>
            key == FailStatOn ? throw new IOException($"stat failed on {key}") : inner.StatAsync(key, cancellationToken);

        public Task<IReadOnlyList<KeyError>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => inner.DeleteAsync(keys, cancellationToken);

        public Task MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken) => inner.MoveAsync(sourceKey, destinationKey, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
