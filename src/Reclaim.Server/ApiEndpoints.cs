using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server;

/// <summary>The routes of SPEC's HTTP API. Each handler checks its input and calls the engine (or the run coordinator); nothing else.</summary>
internal static class ApiEndpoints
{
    private static readonly JsonSerializerOptions Strict = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowTrailingCommas = false,
    };

    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", () => TypedResults.Text("ok\n")).WithTags("health").AllowAnonymous();
        app.MapGet("/readyz", ReadyAsync).WithTags("health").AllowAnonymous();

        var api = app.MapGroup("/api/v1").RequireAuthorization(Roles.Viewer).WithTags("api");
        api.MapGet("/config", (ReclaimConfig config) => TypedResults.Ok(ConfigRedactor.ToJson(config)));
        api.MapGet("/status", async (ReclaimEngine engine, CancellationToken cancellationToken) =>
            TypedResults.Ok(Dto.Plan(await engine.PlanAsync([], force: false, progress: null, cancellationToken))));
        api.MapGet("/runs", ListRunsAsync);
        api.MapGet("/runs/{id}", GetRunAsync);
        api.MapGet("/runs/{id}/actions", GetActionsAsync);
        api.MapPost("/runs", StartRunAsync).RequireAuthorization(Roles.Operator).RequireRateLimiting(ReclaimServer.MutatingPolicy)
            .Accepts<RunRequest>("application/json");
        api.MapPost("/runs/{id}/restore", RestoreAsync).RequireAuthorization(Roles.Admin).RequireRateLimiting(ReclaimServer.MutatingPolicy)
            .Accepts<RestoreRequest>("application/json");
        api.MapGet("/usage", UsageAsync);
        api.MapGet("/reclaimed", ReclaimedAsync);
        QueueEndpoints.Map(api);
    }

    internal static ProblemHttpResult NotFound(string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    internal static ProblemHttpResult BadRequest(string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Bad request");

    private static async Task<Results<Ok<ReadyView>, JsonHttpResult<ReadyView>>> ReadyAsync(ReclaimEngine engine, CancellationToken cancellationToken)
    {
        var checks = await engine.ValidateAsync(cancellationToken);
        var view = new ReadyView(checks.All(c => c.Ok), [.. checks.Select(c => new ReadyCheck(c.Component, c.Ok))]);
        return view.Ready ? TypedResults.Ok(view) : TypedResults.Json(view, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<Results<Ok<IReadOnlyList<RunView>>, ProblemHttpResult>> ListRunsAsync(ReclaimEngine engine, int? limit, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 1000)
        {
            return BadRequest($"limit must be between 1 and 1000, not {limit}");
        }

        var runs = await engine.RunsAsync(limit ?? 50, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<RunView>>([.. runs.Select(Dto.Run)]);
    }

    private static async Task<Results<Ok<RunView>, ProblemHttpResult>> GetRunAsync(string id, ReclaimEngine engine, RunCoordinator coordinator, CancellationToken cancellationToken)
    {
        if (coordinator.Find(id) is { } tracked)
        {
            return TypedResults.Ok(Dto.Run(tracked));
        }

        if (!RunIds.TryParseTime(id, out _))
        {
            return BadRequest($"'{id}' is not a run id (yyyyMMdd-HHmmss-xxxxxx)");
        }

        try
        {
            var (run, _) = await engine.RunAsync(id, cancellationToken);
            return TypedResults.Ok(Dto.Run(run));
        }
        catch (UsageException e)
        {
            return NotFound(e.Message);
        }
    }

    private static async Task<Results<Ok<IReadOnlyList<ActionView>>, ProblemHttpResult>> GetActionsAsync(string id, ReclaimEngine engine, RunCoordinator coordinator, CancellationToken cancellationToken)
    {
        if (!RunIds.TryParseTime(id, out _))
        {
            return BadRequest($"'{id}' is not a run id (yyyyMMdd-HHmmss-xxxxxx)");
        }

        try
        {
            var (_, actions) = await engine.RunAsync(id, cancellationToken);
            return TypedResults.Ok<IReadOnlyList<ActionView>>([.. actions.Select(Dto.Action)]);
        }
        catch (UsageException) when (coordinator.Find(id) is not null)
        {
            return TypedResults.Ok<IReadOnlyList<ActionView>>([]);
        }
        catch (UsageException e)
        {
            return NotFound(e.Message);
        }
    }

    private static async Task<Results<Accepted<RunView>, ProblemHttpResult, ValidationProblem>> StartRunAsync(
        HttpRequest request, ClaimsPrincipal user, RunCoordinator coordinator, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadAsync<RunRequest>(request, required: true, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (body!.DryRun is null)
        {
            errors["dry_run"] = ["dry_run is required: true to plan and re-check only, false to act"];
        }

        if (body.Policies is { } names && names.Any(string.IsNullOrWhiteSpace))
        {
            errors["policies"] = ["policy names must be non-empty text"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid run request");
        }

        if (body.DryRun == false && !Roles.Has(user, Roles.Admin))
        {
            return TypedResults.Problem("a run that is not a dry run needs the admin role", statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
        }

        try
        {
            var run = coordinator.Start(body.Policies ?? [], body.DryRun!.Value, Roles.Actor(user));
            return TypedResults.Accepted($"/api/v1/runs/{run.Id}", Dto.Run(run));
        }
        catch (UsageException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Unknown policy");
        }
        catch (PolicyBusyException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status409Conflict, title: "Policy busy",
                extensions: new Dictionary<string, object?> { ["run_id"] = e.RunId });
        }
    }

    private static async Task<Results<Ok<RunView>, ProblemHttpResult>> RestoreAsync(
        string id, HttpRequest request, ClaimsPrincipal user, ReclaimEngine engine, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadAsync<RestoreRequest>(request, required: false, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (!RunIds.TryParseTime(id, out _))
        {
            return BadRequest($"'{id}' is not a run id (yyyyMMdd-HHmmss-xxxxxx)");
        }

        try
        {
            _ = await engine.RunAsync(id, cancellationToken);
        }
        catch (UsageException e)
        {
            return NotFound(e.Message);
        }

        try
        {
            var result = await engine.RestoreAsync(id, body?.Keys ?? [], Roles.Actor(user), cancellationToken);
            return TypedResults.Ok(Dto.Run(result.Run));
        }
        catch (UsageException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status409Conflict, title: "Nothing to restore");
        }
    }

    private static async Task<Results<Ok<UsageView>, ProblemHttpResult>> UsageAsync(ReclaimEngine engine, string? store, int? depth, CancellationToken cancellationToken)
    {
        if (depth is < 1 or > 32)
        {
            return BadRequest($"depth must be between 1 and 32, not {depth}");
        }

        if (store is not null && !engine.Config.Stores.ContainsKey(store))
        {
            return NotFound($"no store named '{store}' (stores: {string.Join(", ", engine.Config.Stores.Keys)})");
        }

        var report = await engine.UsageReportAsync(store, depth ?? 1, reclaimable: false, progress: null, cancellationToken);
        var rows = report.Prefixes;
        var trash = engine.Config.Trash.Prefix;
        var stores = report.Stores.Select(s => new StoreUsage(
            s.Store,
            s.Objects,
            s.Bytes,
            rows.Where(r => r.Store == s.Store && string.Equals(r.Prefix, trash, StringComparison.Ordinal)).Sum(r => r.Objects),
            rows.Where(r => r.Store == s.Store && string.Equals(r.Prefix, trash, StringComparison.Ordinal)).Sum(r => r.Bytes),
            s.PricePerGbMonth,
            s.CostPerMonth)).ToList();
        return TypedResults.Ok(new UsageView(stores, rows));
    }

    private static async Task<Results<Ok<ReclaimedView>, ProblemHttpResult>> ReclaimedAsync(ReclaimEngine engine, int? days, CancellationToken cancellationToken)
    {
        if (days is < 1 or > 366)
        {
            return BadRequest($"days must be between 1 and 366, not {days}");
        }

        var perDay = await engine.ReclaimedByDayAsync(days ?? 30, cancellationToken);
        return TypedResults.Ok(new ReclaimedView(perDay.Count, perDay.Sum(d => d.BytesRemoved), perDay.Sum(d => d.ObjectsRemoved), perDay));
    }

    /// <summary>Reads a JSON body strictly: malformed JSON, unknown fields and wrong types are 400 problems naming the spot.</summary>
    internal static async Task<(T? Body, ProblemHttpResult? Problem)> ReadAsync<T>(HttpRequest request, bool required, CancellationToken cancellationToken)
        where T : class
    {
        if (request.ContentLength == 0 || (request.ContentLength is null && !request.Headers.TransferEncoding.Any()))
        {
            return required ? (null, BadRequest("a JSON body is required")) : (null, null);
        }

        if (!request.HasJsonContentType())
        {
            return (null, TypedResults.Problem("send the body as application/json", statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type"));
        }

        try
        {
            var body = await JsonSerializer.DeserializeAsync<T>(request.Body, Strict, cancellationToken);
            return body is null && required ? (null, BadRequest("the body must be a JSON object, not null")) : (body, null);
        }
        catch (JsonException e)
        {
            return (null, TypedResults.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON"));
        }
    }
}

/// <summary>Readiness: whether every store, catalog and the state database answer.</summary>
/// <param name="Ready">All of them do.</param>
/// <param name="Checks">One per component.</param>
public sealed record ReadyView(bool Ready, IReadOnlyList<ReadyCheck> Checks);

/// <summary>One component's reachability.</summary>
/// <param name="Component"><c>store NAME</c>, <c>catalog NAME</c> or <c>state</c>.</param>
/// <param name="Ok">Whether it answered.</param>
public sealed record ReadyCheck(string Component, bool Ok);

/// <summary>Usage by store and by prefix.</summary>
/// <param name="Stores">Per store totals.</param>
/// <param name="Prefixes">Per prefix rows (the trash on its own row).</param>
public sealed record UsageView(IReadOnlyList<StoreUsage> Stores, IReadOnlyList<UsageRow> Prefixes);

/// <summary>One store's totals.</summary>
/// <param name="Store">The store.</param>
/// <param name="Objects">Objects, trash included.</param>
/// <param name="Bytes">Bytes, trash included.</param>
/// <param name="TrashObjects">Objects in the trash.</param>
/// <param name="TrashBytes">Bytes in the trash.</param>
/// <param name="PricePerGbMonth">The configured price per GB-month (GB = 2^30 bytes), or <see langword="null"/>.</param>
/// <param name="CostPerMonth">What the store's bytes cost per month at that price (as <c>reclaim usage</c> computes it), or <see langword="null"/> when unpriced.</param>
public sealed record StoreUsage(string Store, long Objects, long Bytes, long TrashObjects, long TrashBytes, decimal? PricePerGbMonth, decimal? CostPerMonth);

/// <summary>What was removed per UTC day (<c>GET /api/v1/reclaimed?days=N</c>).</summary>
/// <param name="Days">Days covered, today included.</param>
/// <param name="BytesRemoved">Bytes deleted or quarantined over those days.</param>
/// <param name="ObjectsRemoved">Objects deleted or quarantined over those days.</param>
/// <param name="PerDay">One row per day, oldest first, with zeros on days without actions.</param>
public sealed record ReclaimedView(int Days, long BytesRemoved, long ObjectsRemoved, IReadOnlyList<ReclaimedDay> PerDay);
