// Plans one orphans policy over a generated listing (keys made in key order, as a store would list them; a stat
// answers every object as two days old and 1000 bytes) against a real PostgreSQL catalog, writes the plan file, and
// prints the totals and the planner's phase timings. bench/memory-scale.sh runs it under GNU time for peak RSS.
//
// Usage: MemoryScale --objects N --layout object|folder --pg CONNECTION --table NAME --out PLAN.json [--in-memory]
//        MemoryScale --make-plan N --out PLAN.json | --read-plan PLAN.json [--whole] | --inventory MANIFEST.json [--whole]
//                    | --plan-records N --out PLAN.json [--in-memory]  (Streams.cs)
//   object: keys uploads/{shard}/{file} (1000 shards), one object per group;
//   folder: keys orgs/{org}/assets/{asset}/{a,b,c,d}.bin (100 orgs), four objects per group.
//   --in-memory: join and hold the proposed groups in memory whatever their number (the planner before spilling).
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.Storage;
using Reclaim.Data.Catalogs;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Planning;

var options = args.Select((a, i) => (a, i)).Where(x => x.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(x => x.a, x => x.i + 1 < args.Length && !args[x.i + 1].StartsWith("--", StringComparison.Ordinal) ? args[x.i + 1] : "", StringComparer.Ordinal);
if (options.ContainsKey("--make-plan") || options.ContainsKey("--read-plan") || options.ContainsKey("--inventory") || options.ContainsKey("--plan-records"))
{
    await Streams.RunAsync(options);
    return;
}

var objects = long.Parse(options["--objects"], CultureInfo.InvariantCulture);
var folder = options["--layout"] == "folder";
var inMemory = options.ContainsKey("--in-memory");
var layout = Layout.Parse(folder ? "orgs/{org}/assets/{asset}/" : "uploads/{shard}/{file}");
var query = folder ? $"SELECT org, asset FROM {options["--table"]}" : $"SELECT shard, name AS file FROM {options["--table"]}";
var policy = new OrphansPolicy
{
    Name = "orphans",
    Store = "media",
    Layout = layout,
    References = [new QueryConfig("app", query)],
    MinAge = TimeSpan.FromHours(24),
    Action = Reclaim.Core.State.ActionKind.Delete,
};

var clock = Stopwatch.StartNew();
await using var catalog = new PostgresCatalog("app", options["--pg"]);
await using var store = new GeneratedStore(objects, folder, DateTimeOffset.UtcNow.AddDays(-2));
var planner = new LayoutPlanner(TimeProvider.System)
{
    ReferencesInMemory = inMemory ? int.MaxValue : LayoutPlanner.DefaultReferencesInMemory,
    GroupsInMemory = inMemory ? int.MaxValue : LayoutPlanner.DefaultGroupsInMemory,
    Timing = t => Console.Error.WriteLine(t),
};
var policyPlan = await planner.PlanAsync(policy, store, catalog, ".reclaim-trash/", objects + 1, null, CancellationToken.None);
var plan = new Plan { CreatedAt = DateTimeOffset.UtcNow, ConfigPath = "generated", Policies = [policyPlan] };
await PlanFile.WriteAsync(plan, options["--out"], CancellationToken.None);
var t = policyPlan.Totals;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"objects {t.ObjectsScanned} groups {t.GroupsScanned} referenced {t.GroupsReferenced} orphaned {t.GroupsOrphaned} groups / {t.ObjectsOrphaned} objects, references {t.ReferencesRead}, plan file {new FileInfo(options["--out"]).Length >> 20} MB, {clock.Elapsed.TotalSeconds:F1} s"));

/// <summary>A store whose keys are generated in key order; every object is 1000 bytes and of one age.</summary>
internal sealed class GeneratedStore(long objects, bool folder, DateTimeOffset modified) : IObjectStore, IKeyListing
{
    private static readonly string[] Files = ["a.bin", "b.bin", "c.bin", "d.bin"];

    public string Name => "media";

    public int MaxDeleteBatch => 1000;

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var key in Keys())
        {
            yield return new StoredObject(key, 1000, modified);
        }
    }

    public async IAsyncEnumerable<KeyBatch> ListKeyBatchesAsync(string prefix, Func<KeyBatch> nextBatch, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        var batch = nextBatch();
        foreach (var (head, rest) in Parts())
        {
            if (batch.IsFull)
            {
                yield return batch;
                batch = nextBatch();
            }

            batch.Add(head, rest);
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    public Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken) => Task.FromResult<StoredObject?>(new StoredObject(key, 1000, modified));

    public Task<IReadOnlyList<KeyError>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken) => throw new NotSupportedException();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private IEnumerable<string> Keys() => Parts().Select(p => p.Head + p.Name);

    /// <summary>Keys in ordinal order, as a folder part and a name.</summary>
    private IEnumerable<(string Head, string Name)> Parts()
    {
        if (!folder)
        {
            // uploads/{shard:D3}/{i:D9}.bin with i % 1000 == shard: shard by shard, i rising.
            for (var shard = 0; shard < 1000; shard++)
            {
                var head = $"uploads/{shard:D3}/";
                for (long i = shard; i < objects; i += 1000)
                {
                    yield return (head, i.ToString("D9", CultureInfo.InvariantCulture) + ".bin");
                }
            }

            yield break;
        }

        // orgs/{org:D3}/assets/{asset:D9}/{a..d}.bin with asset % 100 == org.
        var assets = objects / Files.Length;
        for (var org = 0; org < 100; org++)
        {
            for (long asset = org; asset < assets; asset += 100)
            {
                var head = $"orgs/{org:D3}/assets/{asset:D9}/";
                foreach (var file in Files)
                {
                    yield return (head, file);
                }
            }
        }
    }
}
