// The plan file and the S3 Inventory, measured apart from planning:
//   --make-plan N --out PLAN.json   writes a plan of N groups of one object each (uploads/{shard}/{file}), as the
//                                   planner writes one (groups spooled to disk as they are added);
//   --read-plan PLAN.json [--whole] reads it as `reclaim apply` does (streamed: the first 4096 groups in memory, the
//                                   rest spooled), or, with --whole, as JsonSerializer reads the whole document (the
//                                   reader before streaming), then goes through every group as the gate does;
//   --inventory MANIFEST [--whole]  reads an S3 Inventory on disk in key order as a plan does (external sort), or, with
//                                   --whole, holding and sorting every object in memory (the reader before the sort).
// Each prints a line of totals; bench/memory-scale.sh runs it under GNU time for peak RSS.
using System.Globalization;
using System.Text.Json;
using Reclaim.Core.Planning;
using Reclaim.Core.Storage;
using Reclaim.Engine.Planning;
using Reclaim.Stores.S3;

internal static class Streams
{
    public static async Task RunAsync(Dictionary<string, string> options)
    {
        var whole = options.ContainsKey("--whole");
        if (options.TryGetValue("--make-plan", out var count))
        {
            await MakePlanAsync(long.Parse(count, CultureInfo.InvariantCulture), options["--out"]);
        }
        else if (options.TryGetValue("--read-plan", out var path))
        {
            var plan = whole
                ? (await JsonSerializer.DeserializeAsync<PlanDocument>(File.OpenRead(path), PlanFile.Options))!.Plan
                : await PlanFile.ReadAsync(path, CancellationToken.None);
            long groups = 0, objects = 0, bytes = 0;
            foreach (var group in plan.Policies.SelectMany(p => p.Groups))
            {
                groups++;
                objects += group.Objects.Count;
                bytes += group.Bytes;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read {groups} groups, {objects} objects, {bytes} bytes"));
        }
        else
        {
            await using var store = new S3Store(new S3StoreOptions
            {
                Name = "media",
                Bucket = "bench",
                Endpoint = "http://127.0.0.1:9",
                ForcePathStyle = true,
                AccessKey = "unused",
                SecretKey = "unused",
                InventoryManifest = options["--inventory"],
            }) { InventoryRunObjects = whole ? int.MaxValue : Reclaim.Stores.Inventory.SortedObjectSpill.DefaultRunObjects };
            var snapshot = (await store.OpenSnapshotAsync(string.Empty, CancellationToken.None))!;
            long objects = 0;
            string? previous = null;
            await foreach (var item in snapshot.Objects)
            {
                if (previous is not null && ObjectKey.Comparer.Compare(previous, item.Key) >= 0)
                {
                    throw new InvalidOperationException($"out of order: {item.Key} after {previous}");
                }

                previous = item.Key;
                objects++;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read {objects} objects in key order"));
        }
    }

    private static async Task MakePlanAsync(long count, string path)
    {
        var at = DateTimeOffset.UtcNow.AddDays(-2);
        var policy = new PolicyPlan
        {
            Policy = "orphans",
            Type = PolicyKind.Orphans,
            Store = "media",
            Action = Reclaim.Core.State.ActionKind.Delete,
            Layout = "uploads/{shard}/{file}",
            Definition = "generated",
            MinAge = TimeSpan.FromHours(24),
            Groups = new PlannedGroups(new SpilledGroupSpool(Path.GetTempPath()), LayoutPlanner.DefaultGroupsInMemory),
        };
        for (long i = 0; i < count; i++)
        {
            var shard = (i % 1000).ToString("D3", CultureInfo.InvariantCulture);
            var file = i.ToString("D9", CultureInfo.InvariantCulture) + ".bin";
            var key = $"uploads/{shard}/{file}";
            policy.Groups.Add(new PlannedGroup(key, [shard, file], [new StoredObject(key, 1000, at, "\"d41d8cd98f00b204e9800998ecf8427e\"")], at, "no reference names it"));
        }

        policy.Totals.ObjectsOrphaned = count;
        policy.Totals.BytesReclaimable = count * 1000;
        await PlanFile.WriteAsync(new Plan { CreatedAt = DateTimeOffset.UtcNow, ConfigPath = "generated", Policies = [policy] }, path, CancellationToken.None);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {count} groups, plan file {new FileInfo(path).Length >> 20} MB"));
    }

    private sealed record PlanDocument(int FormatVersion, Plan Plan);
}
