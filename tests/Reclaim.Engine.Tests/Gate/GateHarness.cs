using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Data.State;
using Reclaim.Engine.Gate;
using Reclaim.Stores.FileSystem;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// The gate over a real folder store (behind an <see cref="InterceptingStore"/>), real SQLite state and a scripted
/// catalog, with a clock two days ahead so that objects written now are old: one test's world.
/// </summary>
internal sealed class GateHarness : IAsyncDisposable
{
    public const string TrashPrefix = ".reclaim-trash/";

    private readonly TemporaryFolder _folder = new("gate");

    private GateHarness(bool copying, bool tagging)
    {
        Directory.CreateDirectory(Root);
        var files = new FileSystemStore("media", Root);
        Store = tagging ? new TaggingStore(files) : copying ? new CopyingStore(files) : new InterceptingStore(files);
        State = SqlStateStore.Sqlite(_folder.Combine("state.db"));
    }

    public string Root => _folder.Combine("media");

    public InterceptingStore Store { get; }

    public SqlStateStore State { get; }

    public ScriptedCatalog Catalog { get; } = new();

    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow.AddDays(2));

    public Layout Layout { get; } = Layout.Parse("orgs/{org}/uploads/{asset}/");

    public TimeSpan MinAge { get; } = TimeSpan.FromHours(24);

    /// <summary>
    /// A harness with migrated state; <paramref name="copying"/> makes the store quarantine by copy, as S3 does;
    /// <paramref name="tagging"/> makes it a <see cref="TaggingStore"/> that quarantines in place by tag.
    /// </summary>
    public static async Task<GateHarness> CreateAsync(bool copying = false, bool tagging = false)
    {
        var harness = new GateHarness(copying, tagging);
        await harness.State.MigrateAsync(CancellationToken.None);
        return harness;
    }

    public static string Group(string org, string asset) => $"orgs/{org}/uploads/{asset}/";

    public static byte[] Content(string key) => Encoding.UTF8.GetBytes("content of " + key);

    /// <summary>Writes objects with their key as content, modified now by the real clock (three days before the harness's).</summary>
    public async Task PutAsync(params string[] keys)
    {
        foreach (var key in keys)
        {
            await Store.WriteAsync(key, new MemoryStream(Content(key)), CancellationToken.None);
        }
    }

    /// <summary>Writes groups of three objects each: <c>raw.mp4</c>, <c>thumb.jpg</c>, <c>streaming/seg_000.ts</c>.</summary>
    public async Task<List<string>> PutGroupsAsync(int count, string org = "o1")
    {
        var keys = Enumerable.Range(0, count)
            .SelectMany(i => new[] { "raw.mp4", "streaming/seg_000.ts", "thumb.jpg" }.Select(f => $"{Group(org, $"a{i:D4}")}{f}"))
            .ToList();
        await PutAsync([.. keys]);
        return keys;
    }

    /// <summary>Makes an object young: modified at the harness's now.</summary>
    public void Touch(string key) => File.SetLastWriteTimeUtc(Path.Combine(Root, key), Clock.GetUtcNow().UtcDateTime);

    /// <summary>A reference row for a group, as the references query returns it.</summary>
    public void Reference(string org, string asset) => Catalog.Add(("org", org), ("asset", asset));

    /// <summary>
    /// Plans the orphans as the planner would: every group of the store that no catalog row references now, with
    /// its objects as listed.
    /// </summary>
    public async Task<PolicyPlan> PlanAsync(ActionKind action = ActionKind.Quarantine)
    {
        var referenced = Catalog.Rows.Select(r => Layout.Render([r.GetValueOrDefault("org"), r.GetValueOrDefault("asset")])).ToHashSet(StringComparer.Ordinal);
        var listed = await Store.ListAsync(string.Empty, CancellationToken.None).CollectAsync();
        var groups = listed.Where(o => !ObjectKey.IsUnder(o.Key, TrashPrefix))
            .GroupBy(o => Layout.MatchGroup(o.Key))
            .Where(g => g.Key is not null && !referenced.Contains(g.Key))
            .Select(g => new PlannedGroup(g.Key!, Layout.ExtractValues(g.Key!), [.. g], g.Max(o => o.LastModified), "orphan: no reference renders to the group"))
            .ToList();
        var plan = new PolicyPlan
        {
            Policy = "orphan-uploads",
            Type = PolicyKind.Orphans,
            Store = "media",
            Action = action,
            Layout = Layout.Template,
            Definition = "test",
            MinAge = MinAge,
            Groups = [.. groups],
        };
        plan.Totals.ObjectsScanned = listed.Count;
        plan.Totals.ObjectsOrphaned = groups.Sum(g => g.Objects.Count);
        plan.Totals.GroupsOrphaned = groups.Count;
        return plan;
    }

    public GroupRemoval Removal(PolicyPlan plan) =>
        new(plan, Store, Catalog, "SELECT org_id AS org, id AS asset FROM media_assets", Layout, MinAge, TrashPrefix);

    public DestructiveGate Gate() => new(State, Clock, NullLogger.Instance);

    /// <summary>Records a new running run, as the engine does before calling the gate.</summary>
    public async Task<GateRun> StartRunAsync(bool dryRun = false, CancellationToken stopping = default)
    {
        var id = Engine.RunIds.New(Clock.GetUtcNow());
        if (!dryRun)
        {
            await State.StartRunAsync(new RunRecord(id, "sweep", Clock.GetUtcNow(), null, RunStatus.Running, "test", "orphan-uploads", false, null), CancellationToken.None);
        }

        return new GateRun(id, "test", dryRun) { Stopping = stopping };
    }

    /// <summary>Cancels <paramref name="source"/> whenever the store is asked for <paramref name="operation"/> (a stop that comes mid-run), the request going on.</summary>
    public void CancelOn(string operation, CancellationTokenSource source) => Store.Before = async (request, _) =>
    {
        if (request.Operation == operation)
        {
            await source.CancelAsync();
        }
    };

    public async Task<List<ActionRecord>> ActionsAsync(string runId) => await State.ListActionsAsync(runId, CancellationToken.None).CollectAsync();

    /// <summary>Every key in the store, trash included.</summary>
    public async Task<List<string>> KeysAsync() => [.. (await Store.ListAsync(string.Empty, CancellationToken.None).CollectAsync()).Select(o => o.Key)];

    public async ValueTask DisposeAsync()
    {
        await State.DisposeAsync();
        await Store.DisposeAsync();
        _folder.Dispose();
    }
}
