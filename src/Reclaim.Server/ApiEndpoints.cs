using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;
using Reclaim.Server.Scheduling;

namespace Reclaim.Server;

/// <summary>The routes of the HTTP API (README, "HTTP API"). Each handler checks its input and calls the engine (or the run coordinator); nothing else.</summary>
internal static class ApiEndpoints
{
    private static readonly JsonSerializerOptions Strict = StrictOptions();

    private static JsonSerializerOptions StrictOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            AllowTrailingCommas = false,
            TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        };
        options.MakeReadOnly();
        return options;
    }

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
        api.MapGet("/usage/tenants", TenantUsage.GetAsync);
        api.MapGet("/reclaimed", ReclaimedAsync);
        api.MapGet("/schedule", Schedule);
        app.MapGet("/api/v1/me", Me).RequireAuthorization(ReclaimServer.SignedIn).WithTags("api");
        QueueEndpoints.Map(api);
    }

    private static Results<Ok<ScheduleView>, ProblemHttpResult> Schedule(ReclaimConfig config, TimeProvider timeProvider, int? count)
    {
        if (count is < 1 or > ScheduleForecast.MaxCount)
        {
            return BadRequest($"count must be between 1 and {ScheduleForecast.MaxCount}, not {count}");
        }

        var now = timeProvider.GetUtcNow();
        return TypedResults.Ok(new ScheduleView(now, "UTC", ScheduleForecast.Next(config.Schedule, now, count ?? ScheduleForecast.DefaultCount)));
    }

    private static Ok<CallerView> Me(ClaimsPrincipal user, ReclaimConfig config)
    {
        var role = Roles.Of(user);
        var via = user.FindFirst(Roles.ViaClaimType)?.Value ?? Roles.ViaApiKey;
        return TypedResults.Ok(new CallerView(
            user.Identity?.Name ?? "unknown",
            via,
            role,
            [.. user.FindAll(Roles.ApplicationClaimType).Select(c => c.Value)],
            Roles.Describe(user, config.Server.Jwt),
            new CallerPermissions(
                Roles.Rank(role) >= Roles.Rank(Roles.Viewer),
                Roles.Rank(role) >= Roles.Rank(Roles.Operator),
                Roles.Rank(role) >= Roles.Rank(Roles.Admin),
                Roles.Rank(role) >= Roles.Rank(Roles.Admin),
                Roles.Rank(role) >= Roles.Rank(Roles.Admin))));
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
            return Problems.Forbidden(request.HttpContext, "a run that is not a dry run (dry_run: false)", Roles.Admin);
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
            s.CostPerMonth,
            s.Provider)).ToList();
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

    /// <summary>
    /// Reads a JSON body strictly: malformed JSON, a body that is not an object, unknown fields and wrong types are
    /// 400 problems naming the field, what it takes and (for an unknown one) the fields accepted.
    /// </summary>
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

        var fields = Strict.GetTypeInfo(typeof(T)).Properties;
        var accepted = string.Join(", ", fields.Select(f => f.Name));
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            return (null, Malformed($"the body is not valid JSON ({Where(e)}); send an object with the fields {accepted}"));
        }

        if (node is null)
        {
            return required ? (null, BadRequest("the body must be a JSON object, not null")) : (null, null);
        }

        if (node is not JsonObject body)
        {
            return (null, Malformed($"the body must be a JSON object with the fields {accepted}, not {Kind(node)}"));
        }

        List<string> names;
        try
        {
            names = [.. body.Select(p => p.Key)];
        }
        catch (ArgumentException)
        {
            return (null, Malformed($"a field appears twice in the body; send each of {accepted} at most once"));
        }

        foreach (var name in names)
        {
            if (!fields.Any(f => string.Equals(f.Name, name, StringComparison.Ordinal)))
            {
                var suggestion = Suggestions.Closest(name, fields.Select(f => f.Name));
                return (null, TypedResults.Problem(
                    $"unknown field '{name}'{(suggestion is null ? string.Empty : $" (did you mean '{suggestion}'?)")}; accepted fields: {accepted}",
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "Unknown field",
                    extensions: new Dictionary<string, object?> { ["field"] = name, ["accepted_fields"] = fields.Select(f => f.Name).ToArray() }));
            }
        }

        try
        {
            return (body.Deserialize<T>(Strict), null);
        }
        catch (JsonException e)
        {
            var field = e.Path is { Length: > 2 } path ? path[2..] : null;
            var property = fields.FirstOrDefault(f => field is not null && (field == f.Name || field.StartsWith(f.Name + "[", StringComparison.Ordinal)));
            return (null, Malformed(property is null || field is null
                ? $"the body does not fit the fields {accepted}"
                : $"'{field}' must be {Describe(property.PropertyType, field.Contains('[', StringComparison.Ordinal))}"));
        }
    }

    private static ProblemHttpResult Malformed(string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON");

    private static string Where(JsonException e) =>
        e.LineNumber is { } line ? $"line {line + 1}, byte {e.BytePositionInLine + 1}" : "at the start";

    private static string Kind(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true or false",
        _ => "another value",
    };

    /// <summary>What a field takes, in words; <paramref name="item"/> for an element of a list field.</summary>
    private static string Describe(Type type, bool item)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type != typeof(string) && type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>)) is { } list)
        {
            var element = list.GetGenericArguments()[0];
            return item ? Describe(element, item: false) : $"a list of {Describe(element, item: false)} values";
        }

        return type switch
        {
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(string) => "text",
            _ when type == typeof(int) || type == typeof(long) => "a whole number",
            _ when type == typeof(double) || type == typeof(decimal) => "a number",
            _ => "a JSON " + type.Name,
        };
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
/// <param name="Provider">An s3 store's <c>provider</c> (its cost-aware plans: <c>cost</c> per policy in <c>GET /api/v1/status</c>), or <see langword="null"/>.</param>
public sealed record StoreUsage(string Store, long Objects, long Bytes, long TrashObjects, long TrashBytes, decimal? PricePerGbMonth, decimal? CostPerMonth, string? Provider);

/// <summary>What was removed per UTC day (<c>GET /api/v1/reclaimed?days=N</c>).</summary>
/// <param name="Days">Days covered, today included.</param>
/// <param name="BytesRemoved">Bytes deleted or quarantined over those days.</param>
/// <param name="ObjectsRemoved">Objects deleted or quarantined over those days.</param>
/// <param name="PerDay">One row per day, oldest first, with zeros on days without actions.</param>
public sealed record ReclaimedView(int Days, long BytesRemoved, long ObjectsRemoved, IReadOnlyList<ReclaimedDay> PerDay);
