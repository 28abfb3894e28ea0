using Microsoft.Extensions.Time.Testing;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Tests.Configuration;
using Reclaim.Stores.FileSystem;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// The gate's re-check of a sub-batch of groups (<see cref="GroupRecheck"/>): what the store holds for each group now
/// (a range listing when it pays, otherwise a listing per folder group or a stat per object, a bounded number at a
/// time, stopped by a hard stop), which groups a protecting query of the policy still names, and what a request's
/// protection check counts.
/// </summary>
public sealed class GroupRecheckTests : IAsyncDisposable
{
    private readonly TemporaryFolder _folder = new("recheck");
    private readonly InterceptingStore _seen;

    public GroupRecheckTests()
    {
        Directory.CreateDirectory(_folder.Combine("media"));
        _seen = new InterceptingStore(new FileSystemStore("media", _folder.Combine("media")));
    }

    public async ValueTask DisposeAsync()
    {
        await _seen.DisposeAsync();
        _folder.Dispose();
    }

    private async Task PutAsync(params string[] keys)
    {
        foreach (var key in keys)
        {
            await _seen.WriteAsync(key, new MemoryStream(GateHarness.Content(key)), CancellationToken.None);
        }
    }

    /// <summary>Plans every group of <paramref name="layout"/> in the store as the planner would, scanned as <paramref name="scanned"/> objects.</summary>
    private async Task<(GroupRemoval Removal, List<PlannedGroup> Groups)> PlanAsync(IObjectStore store, Layout layout, long? scanned = null, PolicyKind type = PolicyKind.Orphans, ICatalog? catalog = null)
    {
        var listed = await _seen.ListAsync(string.Empty, CancellationToken.None).CollectAsync();
        var groups = listed.GroupBy(o => layout.MatchGroup(o.Key)).Where(g => g.Key is not null)
            .Select(g => new PlannedGroup(g.Key!, layout.ExtractValues(g.Key!), [.. g], g.Max(o => o.LastModified), "orphan"))
            .OrderBy(g => g.GroupKey, StringComparer.Ordinal).ToList();
        var plan = new PolicyPlan
        {
            Policy = "p", Type = type, Store = "media", Action = ActionKind.Delete, Layout = layout.Template, Definition = "test", Groups = [.. groups],
        };
        plan.Totals.ObjectsScanned = scanned ?? listed.Count;
        plan.Totals.ObjectsOrphaned = groups.Sum(g => g.Objects.Count);
        _seen.Requests.Clear();
        return (new GroupRemoval(plan, store, catalog, catalog is null ? null : "SELECT org, asset FROM assets", layout, TimeSpan.Zero, GateHarness.TrashPrefix), groups);
    }

    private string[] Operations() => [.. _seen.Requests.Select(r => r.Operation)];

    [Fact]
    public async Task FolderGroups_OnAStoreWithoutRangeListing_AreListedEachByItself_WithWhatIsThereNow()
    {
        await PutAsync("orgs/o1/uploads/a1/raw.mp4", "orgs/o1/uploads/a1/thumb.jpg", "orgs/o1/uploads/a2/raw.mp4", "orgs/o1/uploads/a3/raw.mp4");
        var (removal, groups) = await PlanAsync(new PlainStore(_seen), Layout.Parse("orgs/{org}/uploads/{asset}/"));
        await _seen.DeleteAsync(["orgs/o1/uploads/a2/raw.mp4"], CancellationToken.None);
        await PutAsync("orgs/o1/uploads/a3/new.ts");
        _seen.Requests.Clear();

        var current = await GroupRecheck.RereadAsync(removal, groups, pageKeys: 1000, parallelism: 4, CancellationToken.None);

        current.Keys.Should().BeEquivalentTo(["orgs/o1/uploads/a1/", "orgs/o1/uploads/a2/", "orgs/o1/uploads/a3/"], "every group of the sub-batch has an answer");
        current["orgs/o1/uploads/a1/"].Select(o => o.Key).Should().BeEquivalentTo(["orgs/o1/uploads/a1/raw.mp4", "orgs/o1/uploads/a1/thumb.jpg"]);
        current["orgs/o1/uploads/a2/"].Should().BeEmpty("its object is gone");
        current["orgs/o1/uploads/a3/"].Select(o => o.Key).Should().BeEquivalentTo(["orgs/o1/uploads/a3/new.ts", "orgs/o1/uploads/a3/raw.mp4"], "an object written since is seen");
        _seen.Requests.Select(r => (r.Operation, r.Keys[0])).Should().BeEquivalentTo(
            [("list", "orgs/o1/uploads/a1/"), ("list", "orgs/o1/uploads/a2/"), ("list", "orgs/o1/uploads/a3/")]);
    }

    [Fact]
    public async Task KeyGroups_OnAStoreWithoutRangeListing_AreStatted_AMissingObjectIsNotReturned_AChangedOneIsAsItIsNow()
    {
        await PutAsync("clips/c1.mp4", "clips/c2.mp4", "clips/c3.mp4");
        var (removal, groups) = await PlanAsync(new PlainStore(_seen), Layout.Parse("clips/{clip}"));
        await _seen.DeleteAsync(["clips/c2.mp4"], CancellationToken.None);
        await _seen.WriteAsync("clips/c3.mp4", new MemoryStream(new byte[100]), CancellationToken.None);
        _seen.Requests.Clear();

        var current = await GroupRecheck.RereadAsync(removal, groups, pageKeys: 1000, parallelism: 4, CancellationToken.None);

        current["clips/c1.mp4"].Should().ContainSingle().Which.Size.Should().Be(GateHarness.Content("clips/c1.mp4").Length);
        current["clips/c2.mp4"].Should().BeEmpty();
        current["clips/c3.mp4"].Should().ContainSingle().Which.Size.Should().Be(100);
        Operations().Should().Equal("stat", "stat", "stat");
    }

    [Theory]
    [InlineData(4, "list-range")] // 4 objects, 4 keys a page: one page, no more than a listing per group (2)
    [InlineData(1, "list")] // one key a page: 4 pages, more than a listing per group
    public async Task FolderGroups_AreReadByOneRangeListing_OnlyWhenItsPagesAreNoMoreThanAListingPerGroup(int pageKeys, string expected)
    {
        await PutAsync("orgs/o1/uploads/a1/raw.mp4", "orgs/o1/uploads/a1/thumb.jpg", "orgs/o1/uploads/a2/raw.mp4", "orgs/o1/uploads/a2/thumb.jpg");
        var (removal, groups) = await PlanAsync(_seen, Layout.Parse("orgs/{org}/uploads/{asset}/"));

        var current = await GroupRecheck.RereadAsync(removal, groups, pageKeys, parallelism: 4, CancellationToken.None);

        current.Values.Sum(o => o.Count).Should().Be(4);
        Operations().Should().NotBeEmpty().And.OnlyContain(o => o == expected);
        if (expected == "list")
        {
            Operations().Should().HaveCount(2, "one listing per group");
        }
    }

    [Theory]
    [InlineData(1, "list-range")] // every scanned object proposed: 3 pages of one key, no more than 3 stats
    [InlineData(2, "stat")] // two scanned per proposed: a range would read twice what the stats do
    public async Task KeyGroups_AreReadByOneRangeListing_OnlyWhenItsPagesAreNoMoreThanAStatPerObject(int scannedPerProposed, string expected)
    {
        await PutAsync("clips/c1.mp4", "clips/c2.mp4", "clips/c3.mp4");
        var (removal, groups) = await PlanAsync(_seen, Layout.Parse("clips/{clip}"), scanned: 3 * scannedPerProposed);

        await GroupRecheck.RereadAsync(removal, groups, pageKeys: 1, parallelism: 4, CancellationToken.None);

        Operations().Should().NotBeEmpty().And.OnlyContain(o => o == expected);
        if (expected == "stat")
        {
            Operations().Should().HaveCount(3, "one stat per object");
        }
    }

    [Fact]
    public async Task Stats_AreAtMostTheParallelismInFlight()
    {
        var keys = Enumerable.Range(0, 24).Select(i => $"clips/c{i:D2}.mp4").ToArray();
        await PutAsync(keys);
        var store = new PlainStore(_seen) { HoldStats = true };
        var (removal, groups) = await PlanAsync(store, Layout.Parse("clips/{clip}"));

        var current = await GroupRecheck.RereadAsync(removal, groups, pageKeys: 1000, parallelism: 1, CancellationToken.None);

        current.Values.Should().OnlyContain(o => o.Count == 1);
        store.MostStatsInFlight.Should().Be(1);
    }

    [Fact]
    public async Task AHardStop_ReadsNothing()
    {
        await PutAsync("clips/c1.mp4", "clips/c2.mp4");
        var (removal, groups) = await PlanAsync(new PlainStore(_seen), Layout.Parse("clips/{clip}"));
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();

        var act = () => GroupRecheck.RereadAsync(removal, groups, pageKeys: 1000, parallelism: 4, stop.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        _seen.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData(PolicyKind.Orphans, "referenced now: the catalog's re-check found a reference to the group")]
    [InlineData(PolicyKind.Retention, "kept now: the catalog's re-check found a keep row for the group")]
    public async Task AGroupARowNamesNow_IsProtectedWhole_WithTheReasonOfItsPolicysKind(PolicyKind type, string reason)
    {
        await PutAsync("orgs/o1/uploads/a1/raw.mp4", "orgs/o1/uploads/a1/thumb.jpg", "orgs/o1/uploads/a2/raw.mp4");
        var catalog = new ScriptedCatalog();
        catalog.Add(("org", "o1"), ("asset", "a1"));
        var (removal, groups) = await PlanAsync(_seen, Layout.Parse("orgs/{org}/uploads/{asset}/"), type: type, catalog: catalog);

        var found = await new GroupReferences(removal, groups).FindProtectedAsync(Acting(groups), CancellationToken.None);

        found.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["orgs/o1/uploads/a1/raw.mp4"] = reason,
            ["orgs/o1/uploads/a1/thumb.jpg"] = reason,
        });
    }

    [Fact]
    public async Task AGroupOnlyALaterQueryOfTheListNames_IsProtected_AndThatQueryIsAskedOnlyAboutTheRest()
    {
        await PutAsync("orgs/o1/uploads/a1/raw.mp4", "orgs/o1/uploads/a2/raw.mp4", "orgs/o1/uploads/a3/raw.mp4");
        var first = new ScriptedCatalog("app");
        first.Add(("org", "o1"), ("asset", "a1"));
        var second = new ScriptedCatalog("archive");
        second.Add(("org", "o1"), ("asset", "a2"));
        var (removal, groups) = await PlanAsync(_seen, Layout.Parse("orgs/{org}/uploads/{asset}/"), catalog: first);
        removal = removal with { Queries = [new ProtectingQuery(first, "SELECT org, asset FROM assets"), new ProtectingQuery(second, "SELECT org, asset FROM archived")] };

        var found = await new GroupReferences(removal, groups).FindProtectedAsync(Acting(groups), CancellationToken.None);

        found.Keys.Should().BeEquivalentTo(["orgs/o1/uploads/a1/raw.mp4", "orgs/o1/uploads/a2/raw.mp4"]);
        second.Finds.Should().ContainSingle().Which.Tuples.Select(t => t[1]).Should().Equal("a2", "a3");
    }

    [Fact]
    public async Task AGroupNotActedOn_IsNotAskedAbout()
    {
        await PutAsync("orgs/o1/uploads/a1/raw.mp4", "orgs/o1/uploads/a2/raw.mp4");
        var catalog = new ScriptedCatalog();
        var (removal, groups) = await PlanAsync(_seen, Layout.Parse("orgs/{org}/uploads/{asset}/"), catalog: catalog);

        await new GroupReferences(removal, groups).FindProtectedAsync(Acting(groups).Where(a => a.GroupKey.EndsWith("a2/", StringComparison.Ordinal)).ToList(), CancellationToken.None);

        catalog.Finds.Should().ContainSingle().Which.Tuples.Should().ContainSingle().Which.Should().Equal("o1", "a2");
    }

    [Fact]
    public async Task ARequestsProtectionCheck_CountsEveryObjectKept_AndNamesTheFirstTen()
    {
        using var config = new ConfigFolder();
        var loaded = config.Load(new TestConfig().FolderStore().SqliteCatalog().OrphanUploads().Yaml);
        var catalog = new ScriptedCatalog();
        for (var i = 0; i < 12; i++)
        {
            catalog.Add(("org", "o1"), ("asset", $"a{i:D2}"));
        }

        var protections = StoreProtections.Of(loaded, "media", _ => catalog, new FakeTimeProvider());
        var totals = new GateTotals();
        var keys = Enumerable.Range(0, 13).Select(i => $"orgs/o1/uploads/a{i:D2}/raw.mp4").ToList();

        var found = await new StoreProtectionCheck(protections, totals).FindProtectedAsync(
            [.. keys.Select(k => new ActionRecord(0, "r1", "requests", "media", ActionKind.Delete, k, 1, "request 1", "requested", null, null, ActionOutcome.Pending, null, default))],
            CancellationToken.None);

        found.Keys.Should().BeEquivalentTo(keys.Take(12), "a12 has no reference");
        found["orgs/o1/uploads/a03/raw.mp4"].Should().Be("protected by policy 'orphan-uploads' (references): a row of catalog 'app' renders to 'orgs/o1/uploads/a03/'");
        totals.ObjectsProtected.Should().Be(12);
        totals.SampleProtected.Should().HaveCount(10).And.OnlyContain(s => s.By.Policy == "orphan-uploads" && s.Key.StartsWith(s.By.Group, StringComparison.Ordinal));
    }

    private static List<ActionRecord> Acting(IEnumerable<PlannedGroup> groups) =>
        [.. groups.SelectMany(g => g.Objects.Select(o => new ActionRecord(0, "r1", "p", "media", ActionKind.Delete, o.Key, o.Size, g.GroupKey, g.Reason, null, null, ActionOutcome.Pending, null, default)))];

    /// <summary>A store with only the minimal operations (no range listing), that can hold each stat a moment to count how many are in flight.</summary>
    private sealed class PlainStore(IObjectStore inner) : IObjectStore
    {
        private int _inFlight;
        private int _most;

        /// <summary>Whether each stat yields to the others before it answers.</summary>
        public bool HoldStats { get; init; }

        /// <summary>The most stats seen in flight at once.</summary>
        public int MostStatsInFlight => Volatile.Read(ref _most);

        public string Name => inner.Name;

        public int MaxDeleteBatch => inner.MaxDeleteBatch;

        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

        public async Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _inFlight);
            int most;
            while ((most = Volatile.Read(ref _most)) < now && Interlocked.CompareExchange(ref _most, now, most) != most)
            {
            }

            try
            {
                if (HoldStats)
                {
                    // Not a timing assumption: the bound holds however long this takes; the pause only gives a second stat the chance to start.
                    await Task.Delay(5, cancellationToken);
                }

                return await inner.StatAsync(key, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        public Task<IReadOnlyList<KeyError>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => inner.DeleteAsync(keys, cancellationToken);

        public Task MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken) => inner.MoveAsync(sourceKey, destinationKey, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
