using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Planning;
using Reclaim.Server.Scheduling;

namespace Reclaim.Server.Compat;

/// <summary>What a cleanup removed, or would remove, in the shape the replaced admin endpoints answered.</summary>
/// <param name="OrphanedFilesDeleted">Keys of the orphaned files removed (in a dry run or status: proposed), deleted or quarantined.</param>
/// <param name="OrphanedFilesCount">How many.</param>
/// <param name="FailedSessionsCleaned">The <c>id</c> column of each row cleaned (its objects removed and its <c>after</c> statement run).</param>
/// <param name="FailedSessionsCount">How many.</param>
/// <param name="TotalSpaceFreedMb">Bytes removed (or that would be) in MB (2^20 bytes), two decimals.</param>
/// <param name="Errors">What went wrong: a guard's refusal, a run's failure, objects or rows that could not be removed.</param>
/// <param name="ErrorCount">Objects and statements that failed, plus one for a refused or failed run.</param>
/// <param name="DryRun">Whether nothing was touched.</param>
public sealed record AdminCleanupResult(
    IReadOnlyList<string> OrphanedFilesDeleted, long OrphanedFilesCount, IReadOnlyList<string> FailedSessionsCleaned, long FailedSessionsCount,
    double TotalSpaceFreedMb, IReadOnlyList<string> Errors, long ErrorCount, bool DryRun);

/// <summary>The answer of <c>POST /api/admin/cleanup/…</c>: <c>{success, message, result}</c>, with the run's id and status.</summary>
/// <param name="Success">Whether the run succeeded.</param>
/// <param name="Message">What happened, in words.</param>
/// <param name="Result">What it removed; <see langword="null"/> while it is still running.</param>
/// <param name="RunId">The run in Reclaim's history.</param>
/// <param name="Status"><c>succeeded</c>, <c>partially_failed</c>, <c>refused</c>, <c>failed</c>, or <c>running</c> when the wait passed first.</param>
public sealed record AdminCleanupResponse(bool Success, string Message, AdminCleanupResult? Result, string RunId, string Status);

/// <summary>The answer of <c>GET /api/admin/cleanup/status</c>: <c>{success, message, potential_cleanup}</c>, a dry run recorded nowhere.</summary>
/// <param name="Success">Whether the status was read.</param>
/// <param name="Message">What it found, in words.</param>
/// <param name="PotentialCleanup">What a cleanup of every configured policy would remove now.</param>
public sealed record AdminCleanupStatus(bool Success, string Message, AdminCleanupResult PotentialCleanup);

/// <summary>
/// The answer of <c>GET /api/admin/cleanup/config</c>, derived from the policies the routes run: the replaced service's
/// settings where they have a counterpart, plus the policies themselves.
/// </summary>
/// <param name="FailedSessionRetentionDays">Always <see langword="null"/>: a records policy's age limit is in its query.</param>
/// <param name="OrphanedFileRetentionHours">The first orphaned-files policy's grace period (<c>min_age</c>) in hours, or <see langword="null"/>.</param>
/// <param name="UploadDir">The folder of the first orphaned-files policy's layout (its fixed prefix without the last <c>/</c>), or <see langword="null"/>.</param>
/// <param name="AutoCleanupOnStartup">Whether a schedule entry running these policies has <c>run_on_startup</c>.</param>
/// <param name="CleanupScheduleHour">The hour, in its time zone, of the next firing of the first schedule entry running these policies, or <see langword="null"/>.</param>
/// <param name="OrphanedFiles">The orphaned-files policies.</param>
/// <param name="FailedSessions">The failed-sessions policies.</param>
/// <param name="Schedule">The schedule entries running these policies, with their next firings.</param>
public sealed record AdminCleanupSettings(
    int? FailedSessionRetentionDays, double? OrphanedFileRetentionHours, string? UploadDir, bool AutoCleanupOnStartup, int? CleanupScheduleHour,
    IReadOnlyList<string> OrphanedFiles, IReadOnlyList<string> FailedSessions, IReadOnlyList<ScheduleEntryView> Schedule);

/// <summary>
/// <c>/api/admin/cleanup/…</c> (<c>server.compat.admin_cleanup</c>): <c>GET config</c> and <c>GET status</c> (viewer),
/// <c>POST orphaned-files</c>, <c>failed-sessions</c> and <c>all</c> with <c>?dry_run=true|false</c> (default false;
/// operator for a dry run, admin otherwise), answered when the run has finished (up to <c>wait</c>).
/// </summary>
internal static class AdminCleanupEndpoints
{
    public static void Map(WebApplication app, AdminCleanupConfig config)
    {
        var group = app.MapGroup("/api/admin/cleanup").WithTags("compat");
        group.MapGet("/config", (ReclaimConfig reclaim, TimeProvider timeProvider) => Settings(reclaim, config, timeProvider.GetUtcNow())).RequireAuthorization(Roles.Viewer);
        group.MapGet("/status", (ReclaimEngine engine, CancellationToken cancellationToken) => StatusAsync(engine, config, cancellationToken)).RequireAuthorization(Roles.Viewer);
        foreach (var (route, policies) in new[]
        {
            ("orphaned-files", config.OrphanedFiles),
            ("failed-sessions", config.FailedSessions),
            ("all", (IReadOnlyList<string>)[.. config.OrphanedFiles, .. config.FailedSessions]),
        })
        {
            group.MapPost($"/{route}", (HttpContext context, ClaimsPrincipal user, RunCoordinator coordinator, ReclaimEngine engine, TimeProvider timeProvider,
                    [FromQuery(Name = "dry_run")] string? dryRun, CancellationToken cancellationToken) =>
                    CleanupAsync(context, user, route, policies, dryRun, config, coordinator, engine, timeProvider, cancellationToken))
                .RequireAuthorization(Roles.Operator)
                .RequireRateLimiting(ReclaimServer.MutatingPolicy);
        }
    }

    private static Ok<AdminCleanupSettings> Settings(ReclaimConfig reclaim, AdminCleanupConfig config, DateTimeOffset now)
    {
        var names = config.OrphanedFiles.Concat(config.FailedSessions).ToHashSet(StringComparer.Ordinal);
        var orphans = config.OrphanedFiles.Select(n => reclaim.Policies.First(p => string.Equals(p.Name, n, StringComparison.Ordinal))).OfType<OrphansPolicy>().FirstOrDefault();
        var entries = reclaim.Schedule.Select((entry, index) => (entry, index)).Where(e => e.entry.Policies.Any(names.Contains)).ToList();
        var schedule = ScheduleForecast.Next(reclaim.Schedule, now, 3).Where(v => entries.Any(e => e.index == v.Entry)).ToList();
        var uploadDir = orphans?.Layout.FixedPrefix is { Length: > 0 } prefix ? prefix.TrimEnd('/') : null;
        return TypedResults.Ok(new AdminCleanupSettings(
            null,
            orphans is null ? null : orphans.MinAge.TotalHours,
            uploadDir,
            entries.Any(e => e.entry.RunOnStartup),
            schedule.FirstOrDefault(s => s.NextFirings.Count > 0)?.NextFirings[0].Local.Hour,
            config.OrphanedFiles,
            config.FailedSessions,
            schedule));
    }

    private static async Task<Ok<AdminCleanupStatus>> StatusAsync(ReclaimEngine engine, AdminCleanupConfig config, CancellationToken cancellationToken)
    {
        var plan = await engine.PlanAsync([.. config.OrphanedFiles, .. config.FailedSessions], force: false, progress: null, cancellationToken);
        var orphans = plan.Policies.Where(p => config.OrphanedFiles.Contains(p.Policy, StringComparer.Ordinal)).ToList();
        var sessions = plan.Policies.Where(p => config.FailedSessions.Contains(p.Policy, StringComparer.Ordinal)).ToList();
        var refusals = plan.Guards.Concat(plan.Policies.SelectMany(p => p.Guards.Select(g => g with { Message = $"policy '{p.Policy}': guard {g.Guard} would refuse: {g.Message}" })))
            .Where(g => !g.Passed).Select(g => g.Message).ToList();
        var files = orphans.SelectMany(p => p.Groups.SelectMany(g => g.Objects.Select(o => o.Key))).ToList();
        var rows = sessions.SelectMany(p => p.Rows.Select(RowId)).ToList();
        var result = new AdminCleanupResult(
            files, orphans.Sum(p => p.Totals.ObjectsOrphaned), rows, sessions.Sum(p => p.Totals.GroupsOrphaned),
            CompatRuns.Mb(plan.Policies.Sum(p => p.Totals.BytesReclaimable)), refusals, refusals.Count, DryRun: true);
        var message = refusals.Count == 0 ? "Cleanup status retrieved" : $"Cleanup status retrieved; a cleanup now would be refused: {refusals[0]}";
        return TypedResults.Ok(new AdminCleanupStatus(true, message, result));
    }

    private static async Task<Results<JsonHttpResult<AdminCleanupResponse>, ProblemHttpResult>> CleanupAsync(
        HttpContext context, ClaimsPrincipal user, string route, IReadOnlyList<string> policies, string? dryRunText, AdminCleanupConfig config,
        RunCoordinator coordinator, ReclaimEngine engine, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (ParseFlag(dryRunText) is not { } dryRun)
        {
            return ApiEndpoints.BadRequest($"dry_run must be true or false (or 1/0, yes/no, on/off), not '{dryRunText}'; nothing was run");
        }

        if (policies.Count == 0)
        {
            return ApiEndpoints.NotFound($"no policy is configured for /api/admin/cleanup/{route}: name some under server.compat.admin_cleanup.{(route == "orphaned-files" ? "orphaned_files" : "failed_sessions")}");
        }

        if (!dryRun && !Roles.Has(user, Roles.Admin))
        {
            return Problems.Forbidden(context, $"a cleanup that is not a dry run (POST /api/admin/cleanup/{route} without ?dry_run=true)", Roles.Admin);
        }

        var (run, problem) = await CompatRuns.StartAsync(coordinator, engine, timeProvider, policies, dryRun, Roles.Actor(user), PlanOptions.None, config.Wait, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (!run!.Finished)
        {
            context.Response.Headers.Location = CompatRuns.Location(run.Run);
            return TypedResults.Json(new AdminCleanupResponse(true, $"Cleanup run {run.Run.Id} is still running; its outcome: GET {CompatRuns.Location(run.Run)}", null, run.Run.Id, "running"),
                statusCode: StatusCodes.Status202Accepted);
        }

        var result = Result(run, config);
        var what = route switch
        {
            "orphaned-files" => "Orphaned file cleanup",
            "failed-sessions" => "Failed session cleanup",
            _ => "Cleanup",
        };
        var message = run.Run.Status switch
        {
            "succeeded" => $"{what} completed{(dryRun ? " (dry run: nothing was touched)" : string.Empty)}",
            "partially_failed" => $"{what} completed with {result.ErrorCount} errors",
            "refused" => $"{what} refused, nothing touched: {run.Run.Error}",
            _ => $"{what} failed: {run.Run.Error}",
        };
        return TypedResults.Json(new AdminCleanupResponse(run.Run.Status == "succeeded", message, result, run.Run.Id, run.Run.Status), statusCode: CompatRuns.StatusCode(run.Run));
    }

    /// <summary>
    /// A finished run's result. Orphaned files: a dry run's proposed objects, a real run's objects removed. Failed
    /// sessions: the rows of the plan none of whose actions failed or was skipped (a row no longer selected is skipped).
    /// </summary>
    private static AdminCleanupResult Result(CompatRun compat, AdminCleanupConfig config)
    {
        var run = compat.Run;
        var plan = run.Plan;
        var orphanPlans = plan?.Policies.Where(p => config.OrphanedFiles.Contains(p.Policy, StringComparer.Ordinal)).ToList() ?? [];
        var sessionPlans = plan?.Policies.Where(p => config.FailedSessions.Contains(p.Policy, StringComparer.Ordinal)).ToList() ?? [];
        List<string> files;
        List<string> rows;
        if (run.DryRun)
        {
            files = [.. orphanPlans.SelectMany(p => p.Groups.SelectMany(g => g.Objects.Select(o => o.Key)))];
            rows = [.. sessionPlans.SelectMany(p => p.Rows.Select(RowId))];
        }
        else
        {
            files = [.. compat.Actions.Where(a => a.Kind is ActionKind.Delete or ActionKind.Quarantine && a.Outcome == ActionOutcome.Done && config.OrphanedFiles.Contains(a.Policy, StringComparer.Ordinal)).Select(a => a.Key)];
            var unfinished = compat.Actions.Where(a => a.Outcome is ActionOutcome.Failed or ActionOutcome.Skipped or ActionOutcome.Pending)
                .Select(a => (a.Policy, a.GroupKey)).ToHashSet();
            rows = [.. sessionPlans.SelectMany(p => p.Rows.Where(r => !unfinished.Contains((p.Policy, $"row {RecordsPlanner.Label(r.Columns)}"))).Select(RowId))];
        }

        var (orphanObjects, _, _, _) = CompatRuns.Done(run, config.OrphanedFiles);
        var (_, bytes, failed, errors) = CompatRuns.Done(run, [.. config.OrphanedFiles, .. config.FailedSessions]);
        var errorCount = failed + (run.Error is null ? 0 : 1);
        return new AdminCleanupResult(files, run.DryRun ? orphanObjects : files.Count, rows, rows.Count, CompatRuns.Mb(bytes), errors, errorCount, run.DryRun);
    }

    /// <summary>
    /// A query flag as the replaced service (FastAPI) read one: absent or empty is <see langword="false"/>; <c>true</c>,
    /// <c>1</c>, <c>yes</c>, <c>on</c> and <c>false</c>, <c>0</c>, <c>no</c>, <c>off</c> in any case; anything else
    /// <see langword="null"/>.
    /// </summary>
    private static bool? ParseFlag(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" => false,
        "true" or "1" or "yes" or "on" => true,
        "false" or "0" or "no" or "off" => false,
        _ => null,
    };

    /// <summary>A records row's id: its <c>id</c> column, or its label when it has none.</summary>
    private static string RowId(PlannedRow row) =>
        row.Columns.TryGetValue("id", out var id) && id is not null ? id : RecordsPlanner.Label(row.Columns);
}
