// The plan file and the S3 Inventory, measured apart from planning:
//   --make-plan N --out PLAN.json   writes a plan of N groups of one object each (uploads/{shard}/{file}), as the
//                                   planner writes one (groups spooled to disk as they are added);
//   --read-plan PLAN.json [--whole] reads it as `reclaim apply` does (streamed: the first 4096 groups in memory, the
//                                   rest spooled), or, with --whole, as JsonSerializer reads the whole document (the
//                                   reader before streaming), then goes through every group as the gate does;
//   --inventory MANIFEST [--whole]  reads an S3 Inventory on disk in key order as a plan does (external sort), or, with
//                                   --whole, holding and sorting every object in memory (the reader before the sort);
//   --plan-records N --out PLAN.json [--in-memory]
//                                   plans a records policy of N selected rows (a generated catalog; each row names one
//                                   object a stat finds) as `reclaim plan -o` does, rows beyond 4096 spooled to disk,
//                                   or, with --in-memory, every row held (the planner before spooling), then writes
//                                   the plan file. --read-plan reads such a plan too and walks its rows as the
//                                   records applier does (rendering each row's objects again, in order).
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
        if (options.TryGetValue("--plan-records", out var rowCount))
        {
            await PlanRecordsAsync(long.Parse(rowCount, CultureInfo.InvariantCulture), options["--out"], options.ContainsKey("--in-memory"));
        }
        else if (options.TryGetValue("--make-plan", out var count))
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

            long rows = 0;
            foreach (var row in plan.Policies.SelectMany(p => p.Rows))
            {
                rows++;
                var (keys, prefixes, _) = RecordsPlanner.Render(RecordTemplates, row.Columns, ".reclaim-trash/");
                objects += keys.Count + prefixes.Count;
                bytes += row.Bytes;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read {groups} groups, {rows} rows, {objects} objects, {bytes} bytes"));
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

    private static readonly IReadOnlyList<Reclaim.Core.Records.RecordTemplate> RecordTemplates = [Reclaim.Core.Records.RecordTemplate.Parse(RecordObjects)];

    private const string RecordObjects = "uploads/{shard}/{file}";

    private static async Task PlanRecordsAsync(long rows, string path, bool inMemory)
    {
        var policy = new Reclaim.Engine.Configuration.RecordsPolicy
        {
            Name = "records",
            Store = "media",
            Catalog = "app",
            Query = "SELECT id, shard, file FROM sessions WHERE status = 'failed'",
            Objects = [RecordObjects],
            After = "DELETE FROM sessions WHERE id = @id",
            Action = Reclaim.Core.State.ActionKind.Delete,
        };
        await using var store = new GeneratedStore(0, false, DateTimeOffset.UtcNow.AddDays(-2));
        var planner = new RecordsPlanner { RowsInMemory = inMemory ? int.MaxValue : RecordsPlanner.DefaultRowsInMemory };
        var policyPlan = await planner.PlanAsync(policy, store, new GeneratedRows(rows), ".reclaim-trash/", rows + 1, CancellationToken.None);
        await PlanFile.WriteAsync(new Plan { CreatedAt = DateTimeOffset.UtcNow, ConfigPath = "generated", Policies = [policyPlan] }, path, CancellationToken.None);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"planned {policyPlan.Rows.Count} rows ({policyPlan.Rows.InMemory} in memory), {policyPlan.Totals.ObjectsOrphaned} objects, plan file {new FileInfo(path).Length >> 20} MB"));
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

    /// <summary>A catalog whose records query selects <c>rows</c> generated rows (id, shard, file); every row is still selected.</summary>
    private sealed class GeneratedRows(long rows) : Reclaim.Core.Catalogs.ICatalog
    {
        public string Name => "app";

        public Task PingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async IAsyncEnumerable<string?[]> ReadAsync(string query, IReadOnlyList<string> columns, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            for (long i = 0; i < rows; i++)
            {
                var row = new Dictionary<string, string?>(StringComparer.Ordinal)
                {
                    ["id"] = i.ToString(CultureInfo.InvariantCulture),
                    ["shard"] = (i % 1000).ToString("D3", CultureInfo.InvariantCulture),
                    ["file"] = i.ToString("D9", CultureInfo.InvariantCulture) + ".bin",
                };
                yield return [.. columns.Select(c => row[c])];
            }
        }

        public Task<IReadOnlyList<string?[]>> FindAsync(string query, IReadOnlyList<string> columns, IReadOnlyList<string[]> tuples, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<string?[]>>([.. tuples]);

        public Task<long> CountAsync(string query, CancellationToken cancellationToken) => Task.FromResult(rows);

        public Task<int> ExecuteAsync(string statement, IReadOnlyDictionary<string, object?> parameters, CancellationToken cancellationToken) => Task.FromResult(1);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
