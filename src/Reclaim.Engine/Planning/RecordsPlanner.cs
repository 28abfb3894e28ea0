using System.Diagnostics;
using Reclaim.Core.Catalogs;
using Reclaim.Core.Planning;
using Reclaim.Core.Records;
using Reclaim.Core.Storage;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Plans a <c>records</c> policy: streams the rows its query selects, renders each row's object templates to
/// keys or folder prefixes, and finds those objects in the store. A row whose templates render nothing (NULL
/// columns) or whose objects are already gone is still planned: its <c>after</c> statement must run.
/// </summary>
public sealed class RecordsPlanner
{
    /// <summary>The guard name under which an unusable rendered key refuses the policy.</summary>
    public const string ObjectsGuard = "objects";

    /// <summary>The default of <see cref="RowsInMemory"/>: 4096 rows, as many as a layout policy's groups (<see cref="LayoutPlanner.DefaultGroupsInMemory"/>).</summary>
    public const int DefaultRowsInMemory = LayoutPlanner.DefaultGroupsInMemory;

    private static readonly AsyncLocal<int?> RowsInMemoryOverride = new();

    /// <summary>
    /// Selected rows held in memory, 0 or more; the rest are spooled to a temporary file in <see cref="SpillDirectory"/>
    /// and read back in order, so a plan of millions of rows holds a bounded number of them. Default
    /// <see cref="DefaultRowsInMemory"/>, or what <see cref="HoldRowsInMemory"/> set for the calling flow.
    /// </summary>
    public int RowsInMemory { get; init; } = CurrentRowsInMemory;

    /// <summary>Where rows beyond <see cref="RowsInMemory"/> are spooled; the system's temporary folder by default.</summary>
    public string SpillDirectory { get; init; } = Path.GetTempPath();

    /// <summary>The rows a planner or a plan file's reader holds in memory in the calling flow: <see cref="DefaultRowsInMemory"/> unless <see cref="HoldRowsInMemory"/> set another.</summary>
    internal static int CurrentRowsInMemory => RowsInMemoryOverride.Value ?? DefaultRowsInMemory;

    /// <summary>
    /// Makes planners and plan files' readers started from the calling async flow (a command run in-process by a
    /// test) hold <paramref name="rows"/> rows in memory, until the result is disposed: a seam for tests of rows spooled.
    /// </summary>
    /// <param name="rows">Rows held in memory, 0 or more.</param>
    /// <returns>Restores the previous head when disposed.</returns>
    internal static IDisposable HoldRowsInMemory(int rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        var before = RowsInMemoryOverride.Value;
        RowsInMemoryOverride.Value = rows;
        return new Restore(before);
    }

    /// <summary>Plans one policy.</summary>
    /// <param name="policy">A <c>records</c> policy.</param>
    /// <param name="store">Its store.</param>
    /// <param name="catalog">Its catalog.</param>
    /// <param name="trashPrefix">The trash prefix (never a target).</param>
    /// <param name="maxObjectsKept">Most objects kept with their details (<c>max_delete_count</c> + 1); beyond, only counts.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <returns>The policy's plan, without the standard guard verdicts.</returns>
    /// <exception cref="CatalogException">The query (or scope query) fails, for example a column the templates or <c>after</c> name is missing.</exception>
    public async Task<PolicyPlan> PlanAsync(RecordsPolicy policy, IObjectStore store, ICatalog catalog, string trashPrefix, long maxObjectsKept, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var templates = policy.Objects.Select(RecordTemplate.Parse).ToList();
        var columns = Columns(policy, templates);
        var plan = new PolicyPlan
        {
            Policy = policy.Name,
            Type = policy.Kind,
            Store = policy.Store,
            Action = policy.Action,
            Layout = string.Join(", ", policy.Objects),
            Definition = PolicyDefinition.Fingerprint(policy),
            ReferencesRequired = false,
            FractionGuarded = policy.Scope is not null,
            Rows = new SpooledSequence<PlannedRow>(new SpilledRowSpool(SpillDirectory), RowsInMemory),
        };
        var totals = plan.Totals;
        string? firstProblem = null;
        long problems = 0;

        await foreach (var values in catalog.ReadAsync(policy.Query, columns, cancellationToken))
        {
            var row = new Dictionary<string, string?>(StringComparer.Ordinal);
            for (var i = 0; i < columns.Count; i++)
            {
                row[columns[i]] = values[i];
            }

            totals.ReferencesRead++;
            var (keys, prefixes, problem) = Render(templates, row, trashPrefix);
            if (problem is not null)
            {
                problems++;
                firstProblem ??= $"row {Label(row)}: {problem}";
                continue;
            }

            var objects = new List<StoredObject>();
            foreach (var key in keys)
            {
                if (await store.StatAsync(key, cancellationToken) is { } found)
                {
                    objects.Add(found);
                }
            }

            foreach (var prefix in prefixes)
            {
                await foreach (var item in store.ListAsync(prefix, cancellationToken))
                {
                    if (!ObjectKey.IsUnder(item.Key, trashPrefix))
                    {
                        objects.Add(item);
                    }
                }
            }

            totals.GroupsOrphaned++;
            totals.ObjectsScanned += objects.Count;
            totals.ObjectsOrphaned += objects.Count;
            var bytes = objects.Sum(o => o.Size);
            totals.BytesScanned += bytes;
            totals.BytesReclaimable += bytes;
            if (totals.ObjectsOrphaned <= maxObjectsKept)
            {
                var reason = objects.Count == 0
                    ? "selected by the query; its objects are gone already"
                    : $"selected by the query; {objects.Count} objects";
                plan.Rows.Add(new PlannedRow(row, keys, prefixes, objects, reason));
            }
        }

        totals.GroupsScanned = policy.Scope is null ? totals.GroupsOrphaned : await catalog.CountAsync(policy.Scope, cancellationToken);
        if (firstProblem is not null)
        {
            plan.Guards.Add(new GuardVerdict(ObjectsGuard, false,
                $"{problems} rows render 'objects' to something that is not an object of the store; the first, {firstProblem}: nothing is removed until the query or templates are fixed"));
        }

        totals.DurationMs = clock.ElapsedMilliseconds;
        return plan;
    }

    /// <summary>
    /// Renders a row's templates. NULL columns render nothing. A value ending in <c>/</c> is a folder prefix. An
    /// empty column is a problem: it would turn a key template into its folder.
    /// </summary>
    /// <param name="templates">The policy's templates.</param>
    /// <param name="row">The row.</param>
    /// <param name="trashPrefix">The trash prefix.</param>
    /// <returns>The keys, the prefixes, and the first problem (or <see langword="null"/>).</returns>
    public static (List<string> Keys, List<string> Prefixes, string? Problem) Render(IReadOnlyList<RecordTemplate> templates, IReadOnlyDictionary<string, string?> row, string trashPrefix)
    {
        var keys = new List<string>();
        var prefixes = new List<string>();
        foreach (var template in templates)
        {
            // An empty value would silently turn "uploads/audio/{file}" into the folder "uploads/audio/" (every
            // recording): refuse it, as a key that is not one. NULL still means "no object here".
            if (template.Columns.FirstOrDefault(c => row.TryGetValue(c, out var value) && value is { Length: 0 }) is { } empty)
            {
                return (keys, prefixes, $"'{template.Text}' has the column '{empty}' empty, which would name '{ObjectKey.Printable(template.Render(row) ?? string.Empty)}' instead of one object");
            }

            if (template.Render(row) is not { } rendered)
            {
                continue;
            }

            if (RecordTemplate.Problem(rendered, trashPrefix) is { } problem)
            {
                return (keys, prefixes, $"'{template.Text}' renders to '{ObjectKey.Printable(rendered)}', and {problem}");
            }

            (rendered.EndsWith('/') ? prefixes : keys).Add(rendered);
        }

        return (keys, prefixes, null);
    }

    /// <summary>The columns a policy reads: those its templates and its <c>after</c> statement name.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="templates">Its parsed templates.</param>
    /// <returns>The column names, each once.</returns>
    public static List<string> Columns(RecordsPolicy policy, IReadOnlyList<RecordTemplate> templates) =>
        templates.SelectMany(t => t.Columns)
            .Concat(policy.After is null ? [] : RecordTemplate.Parameters(policy.After))
            .Distinct(StringComparer.Ordinal)
            .ToList();

    /// <summary>A short label for a row in messages and the state: its <c>id</c> column when it has one.</summary>
    /// <param name="row">The row.</param>
    /// <returns>For example <c>id=42</c>.</returns>
    public static string Label(IReadOnlyDictionary<string, string?> row)
    {
        var (name, value) = row.TryGetValue("id", out var id) ? ("id", id) : (row.First().Key, row.First().Value);
        return $"{name}={value ?? "NULL"}";
    }

    private sealed class Restore(int? before) : IDisposable
    {
        public void Dispose() => RowsInMemoryOverride.Value = before;
    }
}
