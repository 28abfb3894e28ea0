using System.Runtime.CompilerServices;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Planning;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Planning;

/// <summary>
/// The join on disk (references and listed groups hashed into partitions, proposed groups spooled) must plan exactly
/// what the join in memory plans: same totals, same groups in the same order, same objects, values and reasons. Random
/// layouts (object and folder, one-segment and rest variables), keys from an alphabet where '-', '.', '/' and
/// non-ASCII interleave, references that hit, miss, and fail to render, young and old objects, trash and unmatched
/// keys, listings with and without metadata.
/// </summary>
public sealed class PartitionedJoinPropertyTests : IDisposable
{
    private static readonly string[] Templates =
    [
        "u/{a}", "u/{a}/{b}", "o/{org}/up/{asset}/", "c/{clip...}", "{a}/x/{b}/", "m/pre-{a}/", "{a}",
    ];

    private static readonly string[] Alphabet = ["a", "b", "-", ".", "/", "é", "e\u0301", "😀", "x", "up", "0"];

    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly TemporaryFolder _spill = new();

    public void Dispose() => _spill.Dispose();

    [Fact]
    public async Task SpilledJoin_PlansExactlyWhatTheInMemoryJoinPlans()
    {
        var gen =
            from template in Gen.OneOf(Templates)
            from keys in Gen.OneOf(Alphabet).Array[1, 8].Select(parts => string.Concat(parts)).Array[0, 120]
            from prefixed in Gen.Bool.Array[120]
            from ages in Gen.Int[0, 72].Array[120]
            from referencedShare in Gen.Int[0, 100]
            from extra in Gen.OneOf(Alphabet).Array[1, 4].Select(parts => string.Concat(parts)).Array[0, 3].Array[0, 20]
            from withMetadata in Gen.Bool
            from referencesInMemory in Gen.Int[1, 6]
            from groupsInMemory in Gen.Int[0, 3]
            from batchKeys in Gen.Int[1, 9]
            from seed in Gen.Int
            select new Sample(template, keys, prefixed, ages, referencedShare, extra, withMetadata, referencesInMemory, groupsInMemory, batchKeys, seed);

        await gen.SampleAsync(async sample =>
        {
            var (policy, store, catalog) = Build(sample);
            var clock = new FakeTimeProvider(Now);
            var inMemory = await new LayoutPlanner(clock) { SpillDirectory = _spill.Path, BatchKeys = sample.BatchKeys }
                .PlanAsync(policy, store, catalog, ".trash/", 100_000, null, CancellationToken.None);
            string? timing = null;
            var spilled = await new LayoutPlanner(clock)
            {
                SpillDirectory = _spill.Path,
                BatchKeys = sample.BatchKeys,
                ReferencesInMemory = sample.ReferencesInMemory,
                GroupsInMemory = sample.GroupsInMemory,
                Timing = t => timing = t,
            }.PlanAsync(policy, store, catalog, ".trash/", 100_000, null, CancellationToken.None);

            if (spilled.Totals.ReferencesRead - spilled.Totals.ReferencesUnrenderable > sample.ReferencesInMemory)
            {
                timing.Should().Contain("joined on disk");
            }

            Describe(spilled).Should().Equal(Describe(inMemory), "for {0}", sample);
            Totals(spilled.Totals).Should().Be(Totals(inMemory.Totals), "for {0}", sample);
        }, iter: 150, threads: 1);
    }

    [Fact]
    public async Task FewReferences_JoinInMemory_ManyJoinOnDisk()
    {
        var sample = new Sample("u/{a}", [.. Enumerable.Range(0, 50).Select(i => $"k{i:D3}")], [.. Enumerable.Repeat(true, 120)],
            [.. Enumerable.Repeat(48, 120)], 50, [], false, 10, 0, 4, 7);
        var (policy, store, catalog) = Build(sample);
        string? small = null, large = null;

        await new LayoutPlanner(new FakeTimeProvider(Now)) { SpillDirectory = _spill.Path, Timing = t => small = t }
            .PlanAsync(policy, store, catalog, ".trash/", 100_000, null, CancellationToken.None);
        await new LayoutPlanner(new FakeTimeProvider(Now)) { SpillDirectory = _spill.Path, ReferencesInMemory = 10, Timing = t => large = t }
            .PlanAsync(policy, store, catalog, ".trash/", 100_000, null, CancellationToken.None);

        small.Should().Contain("joined in memory");
        large.Should().Contain("joined on disk");
        Directory.EnumerateFileSystemEntries(_spill.Path).Should().BeEmpty("spill files are unlinked as soon as they are made");
    }

    private static (OrphansPolicy Policy, MemoryStore Store, ScriptedCatalog Catalog) Build(Sample sample)
    {
        var layout = Layout.Parse(sample.Template);
        var random = new Random(sample.Seed);
        var fixedPrefix = layout.FixedPrefix;
        var objects = new SortedDictionary<string, StoredObject>(ObjectKey.Comparer);
        for (var i = 0; i < sample.Keys.Length; i++)
        {
            var raw = sample.Keys[i].Trim('/');
            if (raw.Length == 0 || raw.Contains("//", StringComparison.Ordinal))
            {
                continue;
            }

            var key = i % 17 == 5 ? ".trash/" + raw : sample.Prefixed[i] ? fixedPrefix + raw : raw;
            if (ObjectKey.Validate(key) is not null)
            {
                continue;
            }

            objects[key] = new StoredObject(key, i + 1, Now - TimeSpan.FromHours(sample.Ages[i]), sample.WithMetadata && i % 2 == 0 ? $"\"e{i}\"" : null);
        }

        var catalog = new ScriptedCatalog();
        var groups = objects.Keys.Select(layout.MatchGroup).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        foreach (var group in groups)
        {
            if (random.Next(100) < sample.ReferencedShare)
            {
                var values = layout.ExtractValues(group);
                catalog.Add([.. layout.Variables.Select((v, j) => (v, (string?)values[j]))]);
                if (random.Next(4) == 0)
                {
                    catalog.Add([.. layout.Variables.Select((v, j) => (v, (string?)values[j]))]);
                }
            }
        }

        foreach (var values in sample.Extra)
        {
            // Rows that render to no listed group, or to none at all (a NULL, a '/' in a one-segment value).
            catalog.Add([.. layout.Variables.Select((v, j) => (v, j < values.Length ? values[j] : null))]);
        }

        var policy = new OrphansPolicy
        {
            Name = "p",
            Store = "media",
            Layout = layout,
            References = [new QueryConfig("app", "SELECT")],
            MinAge = TimeSpan.FromHours(24),
        };
        return (policy, sample.WithMetadata ? new MemoryStore(objects) : new MemoryKeyStore(objects), catalog);
    }

    private static List<string> Describe(PolicyPlan plan) =>
    [
        .. plan.Groups.Select(g =>
            $"{g.GroupKey} [{string.Join('|', g.Values)}] {g.Newest:O} {g.Reason} :: {string.Join(", ", g.Objects.Select(o => $"{o.Key} {o.Size} {o.LastModified:O} {o.ETag}"))}"),
        .. plan.Warnings,
    ];

    private static string Totals(PolicyTotals t) =>
        $"scanned {t.ObjectsScanned} bytes {t.BytesScanned} groups {t.GroupsScanned} referenced {t.GroupsReferenced} young {t.GroupsTooYoung} " +
        $"orphaned {t.GroupsOrphaned}/{t.ObjectsOrphaned}/{t.BytesReclaimable} unmatched {t.ObjectsUnmatched} trash {t.ObjectsInTrash} " +
        $"references {t.ReferencesRead}/{t.ReferencesUnrenderable}";

    private sealed record Sample(
        string Template,
        string[] Keys,
        bool[] Prefixed,
        int[] Ages,
        int ReferencedShare,
        string[][] Extra,
        bool WithMetadata,
        int ReferencesInMemory,
        int GroupsInMemory,
        int BatchKeys,
        int Seed)
    {
        public override string ToString() =>
            $"{Template}; keys [{string.Join(", ", Keys)}]; extra [{string.Join("; ", Extra.Select(e => string.Join("|", e)))}]; metadata {WithMetadata}; " +
            $"in memory {ReferencesInMemory} refs / {GroupsInMemory} groups; batch {BatchKeys}; seed {Seed}";
    }

    /// <summary>A store in memory, listed with metadata, in key order.</summary>
    private class MemoryStore(SortedDictionary<string, StoredObject> objects) : IObjectStore
    {
        protected SortedDictionary<string, StoredObject> Objects => objects;

        public string Name => "media";

        public int MaxDeleteBatch => 1000;

        public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            foreach (var item in objects.Values.Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                yield return item;
            }
        }

        public Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken) =>
            Task.FromResult(objects.TryGetValue(key, out var found) ? found : (StoredObject?)null);

        public Task<IReadOnlyList<KeyError>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task MoveAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>The same store listed as keys alone (metadata read per unreferenced object, as on a filesystem).</summary>
    private sealed class MemoryKeyStore(SortedDictionary<string, StoredObject> objects) : MemoryStore(objects), IKeyListing
    {
        public async IAsyncEnumerable<KeyBatch> ListKeyBatchesAsync(string prefix, Func<KeyBatch> nextBatch, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            KeyBatch? batch = null;
            foreach (var key in Objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)))
            {
                batch ??= nextBatch();
                batch.Add(key);
                if (batch.IsFull)
                {
                    yield return batch;
                    batch = null;
                }
            }

            if (batch is not null)
            {
                yield return batch;
            }
        }
    }
}
