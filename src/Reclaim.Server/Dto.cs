using System.Text.Json;
using System.Text.Json.Nodes;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Planning;
using Reclaim.Server.Scheduling;

namespace Reclaim.Server;

/// <summary>The body of <c>POST /api/v1/runs</c>.</summary>
/// <param name="Policies">Policies to run; all supported ones when absent or empty.</param>
/// <param name="DryRun">Required: <see langword="true"/> plans and re-checks only; <see langword="false"/> acts (admin).</param>
public sealed record RunRequest(IReadOnlyList<string>? Policies, bool? DryRun);

/// <summary>The body of <c>POST /api/v1/runs/{id}/restore</c> (optional).</summary>
/// <param name="Keys">Original keys to restore; all when absent or empty.</param>
public sealed record RestoreRequest(IReadOnlyList<string>? Keys);

/// <summary>A run as the API shows it.</summary>
/// <param name="Id">The run id.</param>
/// <param name="Kind"><c>sweep</c>, <c>apply</c>, <c>restore</c>, <c>purge</c>.</param>
/// <param name="Status"><c>running</c>, <c>succeeded</c>, <c>partially_failed</c>, <c>refused</c>, <c>failed</c>.</param>
/// <param name="Phase">For a run this server is tracking: <c>planning</c>, <c>applying</c>, <c>finished</c>; otherwise <see langword="null"/>.</param>
/// <param name="Actor">Who started it.</param>
/// <param name="Policies">The policies (or, for a restore, the stores).</param>
/// <param name="DryRun">Whether it was a dry run.</param>
/// <param name="StartedAt">Start, UTC.</param>
/// <param name="FinishedAt">End, UTC, or <see langword="null"/>.</param>
/// <param name="Summary">What the run did (<see cref="RunSummary"/>: objects and bytes done, skipped, failed, per part; a queue cycle's requests), or <see langword="null"/> while it runs.</param>
/// <param name="Error">Why it failed or was refused.</param>
/// <param name="Plan">The plan, while this server remembers it (per policy: totals, guards, up to 100 groups).</param>
public sealed record RunView(
    string Id, string Kind, string Status, string? Phase, string Actor, IReadOnlyList<string> Policies, bool DryRun,
    DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, RunSummary? Summary, string? Error, JsonNode? Plan);

/// <summary>One action as the API shows it.</summary>
/// <param name="Id">The action's id.</param>
/// <param name="Policy">The policy.</param>
/// <param name="Store">The store.</param>
/// <param name="Kind"><c>delete</c>, <c>quarantine</c>, <c>restore</c>, <c>purge</c>.</param>
/// <param name="Key">The object's key.</param>
/// <param name="Size">Bytes.</param>
/// <param name="GroupKey">The group.</param>
/// <param name="Reason">Why.</param>
/// <param name="Evidence">What the gate saw.</param>
/// <param name="TrashKey">The key in the trash.</param>
/// <param name="Outcome"><c>pending</c>, <c>done</c>, <c>skipped</c>, <c>failed</c>.</param>
/// <param name="Error">Why it failed or was skipped.</param>
/// <param name="At">When, UTC.</param>
public sealed record ActionView(long Id, string Policy, string Store, string Kind, string Key, long Size, string GroupKey, string Reason,
    string? Evidence, string? TrashKey, string Outcome, string? Error, DateTimeOffset At);

/// <summary>Coming scheduled runs (<c>GET /api/v1/schedule</c>).</summary>
/// <param name="Now">The instant the firings are computed from, UTC.</param>
/// <param name="DefaultTimezone">The zone of an entry that names none: always <c>UTC</c>.</param>
/// <param name="Entries">The entries, in config order; empty without a <c>schedule</c>.</param>
public sealed record ScheduleView(DateTimeOffset Now, string DefaultTimezone, IReadOnlyList<ScheduleEntryView> Entries);

/// <summary>The caller as the server sees it (<c>GET /api/v1/me</c>): who, how signed in, which role, and what that role may do.</summary>
/// <param name="Name">The key's name or the JWT's subject (recorded as the actor <c>api:NAME</c>).</param>
/// <param name="Via"><c>api_key</c> or <c>jwt</c>.</param>
/// <param name="Role">The caller's Reclaim role (<c>viewer</c>, <c>operator</c>, <c>admin</c>), or <see langword="null"/> for none.</param>
/// <param name="ApplicationRoles">For a JWT, the role claim's values as the application wrote them; empty for an API key.</param>
/// <param name="Description">The same in words (as a 403 says it).</param>
/// <param name="Can">What the role may do.</param>
public sealed record CallerView(string Name, string Via, string? Role, IReadOnlyList<string> ApplicationRoles, string Description, CallerPermissions Can);

/// <summary>What a role may do through the API.</summary>
/// <param name="Read">Read config, status, runs, usage, queue and schedule (viewer).</param>
/// <param name="DryRun">Start dry runs and quarantine one group's worth through <c>POST /api/v1/deletions</c> (operator).</param>
/// <param name="Run">Start real runs (admin).</param>
/// <param name="Restore">Restore a run's quarantined objects (admin).</param>
/// <param name="Delete">Delete, or quarantine across groups, through <c>POST /api/v1/deletions</c> (admin).</param>
public sealed record CallerPermissions(bool Read, bool DryRun, bool Run, bool Restore, bool Delete);

/// <summary>Maps engine results to API shapes.</summary>
internal static class Dto
{
    private const int GroupsShown = 100;

    public static RunView Run(RunRecord run)
    {
        var summary = RunSummary.Of(run);
        return new(run.Id, run.Kind, RunCoordinator.StatusName(run.Status), null, run.Actor,
            run.Policies.Split(',', StringSplitOptions.RemoveEmptyEntries), run.DryRun, run.StartedAt, run.FinishedAt, summary, Error(summary), null);
    }

    public static RunView Run(TrackedRun tracked)
    {
        var record = tracked.Result?.Run;
        return new RunView(tracked.Id, record?.Kind ?? "sweep", tracked.Status, tracked.Phase, tracked.Actor, tracked.Policies, tracked.DryRun,
            tracked.StartedAt, record?.FinishedAt, RunSummary.Parse(record?.Summary), tracked.Error, tracked.Plan is null ? null : Plan(tracked.Plan));
    }

    public static ActionView Action(ActionRecord a) => new(a.Id, a.Policy, a.Store, a.Kind.ToString().ToLowerInvariant(), a.Key, a.Size, a.GroupKey,
        a.Reason, a.Evidence, a.TrashKey, a.Outcome.ToString().ToLowerInvariant(), a.Error, a.At);

    /// <summary>A plan without its full group lists: totals, guards, warnings and the first groups of each policy.</summary>
    public static JsonObject Plan(Plan plan) => new()
    {
        ["created_at"] = plan.CreatedAt,
        ["refused"] = plan.Refused,
        ["objects_proposed"] = plan.ObjectsProposed,
        ["bytes_proposed"] = plan.BytesProposed,
        ["guards"] = Guards(plan.Guards),
        ["policies"] = new JsonArray([.. plan.Policies.Select(p => (JsonNode)new JsonObject
        {
            ["policy"] = p.Policy,
            ["type"] = p.Type.Name(),
            ["store"] = p.Store,
            ["action"] = p.Action.ToString().ToLowerInvariant(),
            ["layout"] = p.Layout,
            ["refused"] = p.Refused,
            ["totals"] = JsonSerializer.SerializeToNode(p.Totals, Json),
            ["guards"] = Guards(p.Guards),
            ["warnings"] = new JsonArray([.. p.Warnings.Select(w => (JsonNode?)w)]),
            ["cost"] = p.Cost is null ? null : JsonSerializer.SerializeToNode(p.Cost, Json),
            ["cost_warnings"] = new JsonArray([.. (p.Cost is null ? [] : StorageCosts.Warnings(p.Cost)).Select(w => (JsonNode?)w)]),
            ["groups_shown"] = Math.Min(p.Groups.Count, GroupsShown),
            ["groups"] = new JsonArray([.. p.Groups.Take(GroupsShown).Select(g => (JsonNode)new JsonObject
            {
                ["group_key"] = g.GroupKey,
                ["objects"] = g.Objects.Count,
                ["bytes"] = g.Bytes,
                ["newest"] = g.Newest,
                ["reason"] = g.Reason,
            })]),
            ["rows_shown"] = Math.Min(p.Rows.Count, GroupsShown),
            ["rows"] = new JsonArray([.. p.Rows.Take(GroupsShown).Select(Row)]),
        })]),
    };

    /// <summary>
    /// A <c>records</c> row: its label (<c>id=42</c>), its columns as the catalog rendered them, the keys and folder
    /// prefixes its templates name, the objects found for them at planning time (up to 100) and their bytes.
    /// </summary>
    private static JsonNode Row(PlannedRow row) => new JsonObject
    {
        ["row"] = RecordsPlanner.Label(row.Columns),
        ["columns"] = new JsonObject([.. row.Columns.Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))]),
        ["keys"] = new JsonArray([.. row.Keys.Select(k => (JsonNode?)k)]),
        ["prefixes"] = new JsonArray([.. row.Prefixes.Select(k => (JsonNode?)k)]),
        ["objects"] = row.Objects.Count,
        ["object_keys"] = new JsonArray([.. row.Objects.Take(GroupsShown).Select(o => (JsonNode?)o.Key)]),
        ["bytes"] = row.Bytes,
        ["reason"] = row.Reason,
    };

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static JsonArray Guards(IEnumerable<GuardVerdict> guards) =>
        new([.. guards.Select(g => (JsonNode)new JsonObject { ["guard"] = g.Guard, ["passed"] = g.Passed, ["message"] = g.Message })]);

    private static string? Error(RunSummary? summary) => summary switch
    {
        { Refused: { } reasons } => string.Join("; ", reasons),
        { Error: { } error } => error,
        _ => null,
    };
}
