using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Planning;

namespace Reclaim.Server.Compat;

/// <summary>The body of <c>POST /api/cleanup/bulk/</c>; both fields optional, the whole body too.</summary>
/// <param name="RetentionDays">Days to keep: replaces the <c>max_age</c> of <c>retention_days_policies</c> for this run; <c>default_retention_days</c> (5) when absent.</param>
/// <param name="DryRun">Plan and re-check only (operator); <see langword="false"/>, the default, acts (admin).</param>
public sealed record BulkCleanupRequest(int? RetentionDays, bool? DryRun);

/// <summary>
/// The answer of <c>POST /api/cleanup/bulk/</c>, in the shape its existing clients read (the first nine fields), plus
/// the run's id, status and quarantined count.
/// </summary>
/// <param name="Success">Whether the run succeeded (a refused, failed or partly failed run is <see langword="false"/>).</param>
/// <param name="Message">What happened, in words (<c>Deleted 150 files (1234.56 MB), retained 25 files</c>).</param>
/// <param name="DeletedCount">Objects removed (in a dry run: that would be), deleted or quarantined.</param>
/// <param name="DeletedSizeMb">Their bytes in MB (2^20 bytes), two decimals.</param>
/// <param name="RetainedCount">Objects scanned and kept: <see cref="TotalFilesScanned"/> minus <see cref="DeletedCount"/>.</param>
/// <param name="TotalFilesScanned">Objects the run's policies listed, summed over the policies.</param>
/// <param name="DryRun">Whether it was a dry run.</param>
/// <param name="DeletedFilesSample">Up to 10 keys removed (in a dry run: proposed).</param>
/// <param name="RetentionDays">The retention applied, in days.</param>
/// <param name="RunId">The run in Reclaim's history (<c>GET /api/v1/runs/{id}</c>, <c>reclaim runs show</c>).</param>
/// <param name="Status"><c>succeeded</c>, <c>partially_failed</c>, <c>refused</c>, <c>failed</c>, or <c>running</c> when the wait passed first.</param>
/// <param name="QuarantinedCount">How many of <see cref="DeletedCount"/> went to the trash (restorable with <c>reclaim restore RUN_ID</c>) rather than being deleted.</param>
public sealed record BulkCleanupResponse(
    bool Success, string Message, long DeletedCount, double DeletedSizeMb, long RetainedCount, long TotalFilesScanned, bool DryRun,
    IReadOnlyList<string> DeletedFilesSample, int RetentionDays, string RunId, string Status, long QuarantinedCount);

/// <summary>
/// <c>POST /api/cleanup/bulk/</c> (<c>server.compat.bulk_cleanup</c>): a bulk cleanup with <c>retention_days</c> and
/// <c>dry_run</c>, answered when its run has finished (up to <c>wait</c>). Roles as <c>POST /api/v1/runs</c>.
/// </summary>
internal static class BulkCleanupEndpoint
{
    /// <summary>Keys shown in <see cref="BulkCleanupResponse.DeletedFilesSample"/>: 10.</summary>
    public const int SampleSize = 10;

    /// <summary>The most <c>retention_days</c> a request may give: ten years.</summary>
    public const int MaxRetentionDays = 3650;

    public static void Map(WebApplication app, BulkCleanupConfig config)
    {
        // Routing matches with or without the trailing slash the replaced endpoint had.
        app.MapPost("/api/cleanup/bulk/", (HttpRequest request, ClaimsPrincipal user, RunCoordinator coordinator, ReclaimEngine engine, TimeProvider timeProvider, CancellationToken cancellationToken) =>
                HandleAsync(request, user, config, coordinator, engine, timeProvider, cancellationToken))
            .RequireAuthorization(Roles.Operator)
            .RequireRateLimiting(ReclaimServer.MutatingPolicy)
            .Accepts<BulkCleanupRequest>("application/json")
            .WithTags("compat");
    }

    private static async Task<Results<JsonHttpResult<BulkCleanupResponse>, ProblemHttpResult>> HandleAsync(
        HttpRequest request, ClaimsPrincipal user, BulkCleanupConfig config, RunCoordinator coordinator, ReclaimEngine engine, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var (body, problem) = await ApiEndpoints.ReadAsync<BulkCleanupRequest>(request, required: false, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var days = body?.RetentionDays ?? config.DefaultRetentionDays;
        var dryRun = body?.DryRun ?? false;
        if (days < config.MinRetentionDays || days > MaxRetentionDays)
        {
            return ApiEndpoints.BadRequest(days < config.MinRetentionDays
                ? $"retention_days {days} is below the floor of {config.MinRetentionDays} (server.compat.bulk_cleanup.min_retention_days); nothing was run"
                : $"retention_days {days} is more than {MaxRetentionDays}; nothing was run");
        }

        if (!dryRun && !Roles.Has(user, Roles.Admin))
        {
            return Problems.Forbidden(request.HttpContext, "a bulk cleanup that is not a dry run (dry_run: false, the default)", Roles.Admin);
        }

        var options = new PlanOptions { MaxAge = config.RetentionDaysPolicies.ToDictionary(p => p, _ => TimeSpan.FromDays(days), StringComparer.Ordinal) };
        var (run, refused) = await CompatRuns.StartAsync(coordinator, engine, timeProvider, config.Policies, dryRun, Roles.Actor(user), options, config.Wait, cancellationToken);
        if (refused is not null)
        {
            return refused;
        }

        var response = Answer(run!, days, config);
        if (!run!.Finished)
        {
            request.HttpContext.Response.Headers.Location = CompatRuns.Location(run.Run);
            return TypedResults.Json(response, statusCode: StatusCodes.Status202Accepted);
        }

        return TypedResults.Json(response, statusCode: CompatRuns.StatusCode(run.Run));
    }

    private static BulkCleanupResponse Answer(CompatRun compat, int days, BulkCleanupConfig config)
    {
        var run = compat.Run;
        if (!compat.Finished)
        {
            return new BulkCleanupResponse(true, $"Cleanup run {run.Id} is still running; its outcome: GET {CompatRuns.Location(run)}", 0, 0, 0, 0, run.DryRun, [], days, run.Id, "running", 0);
        }

        var plan = run.Plan;
        var (deleted, bytes, failed, errors) = CompatRuns.Done(run, config.Policies);
        var quarantined = plan?.Policies.Where(p => p.Action == ActionKind.Quarantine).Sum(p => run.Result?.PerPolicy.GetValueOrDefault(p.Policy)?.ObjectsDone ?? 0) ?? 0;
        var scanned = plan?.Policies.Sum(p => p.Totals.ObjectsScanned) ?? 0;
        var retained = Math.Max(0, scanned - deleted);
        var sample = run.DryRun
            ? plan?.Policies.SelectMany(p => p.Groups.SelectMany(g => g.Objects.Select(o => o.Key)).Concat(p.Rows.SelectMany(r => r.Objects.Select(o => o.Key)))).Take(SampleSize).ToList() ?? []
            : compat.Actions.Where(a => a.Kind is ActionKind.Delete or ActionKind.Quarantine && a.Outcome == ActionOutcome.Done).Select(a => a.Key).Take(SampleSize).ToList();
        var mb = CompatRuns.Mb(bytes).ToString("0.00", CultureInfo.InvariantCulture);
        var message = run.Status switch
        {
            "refused" => $"Refused, nothing deleted: {run.Error}",
            "failed" => $"Cleanup failed: {run.Error}",
            _ when run.DryRun => $"Dry run: would delete {deleted} files ({mb} MB), retain {retained} files",
            _ => $"Deleted {deleted} files ({mb} MB), retained {retained} files"
                + (quarantined > 0 ? $"; {quarantined} of them are in the trash, restorable with 'reclaim restore {run.Id}'" : string.Empty)
                + (failed > 0 ? $"; {failed} could not be removed: {errors.FirstOrDefault()}" : string.Empty),
        };
        return new BulkCleanupResponse(run.Status == "succeeded", message, deleted, CompatRuns.Mb(bytes), retained, scanned, run.DryRun, sample, days, run.Id, run.Status, quarantined);
    }
}
