using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Queue;

namespace Reclaim.Server;

/// <summary>The deletion queue's routes: enqueue into Reclaim's own queue, one request's state, and every queue's status.</summary>
internal static partial class QueueEndpoints
{
    /// <summary>Targets (keys and prefixes together) one <c>POST /api/v1/deletions</c> may carry.</summary>
    public const int MaxTargets = 1000;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/deletions", EnqueueAsync).RequireAuthorization(Roles.Operator).RequireRateLimiting(ReclaimServer.MutatingPolicy)
            .Accepts<DeletionRequest>("application/json");
        api.MapGet("/deletions/{id}", GetAsync);
        api.MapGet("/queue", StatusAsync);
    }

    private static async Task<Results<Accepted<DeletionsAccepted>, ProblemHttpResult, ValidationProblem>> EnqueueAsync(
        HttpRequest request, System.Security.Claims.ClaimsPrincipal user, ReclaimEngine engine, QueueHost worker, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var (body, problem) = await ApiEndpoints.ReadAsync<DeletionRequest>(request, required: true, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var keys = body!.Keys ?? [];
        var prefixes = body.Prefixes ?? [];
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(body.Store))
        {
            errors["store"] = ["store is required: the name of a configured store"];
        }

        if (keys.Any(k => k is null))
        {
            errors["keys"] = ["keys must be strings, not null"];
        }

        if (prefixes.Any(p => p is null))
        {
            errors["prefixes"] = ["prefixes must be strings, not null"];
        }

        if (keys.Count + prefixes.Count == 0)
        {
            errors["keys"] = ["give at least one key or prefix"];
        }
        else if (keys.Count + prefixes.Count > MaxTargets)
        {
            errors["keys"] = [$"at most {MaxTargets} keys and prefixes per request, not {keys.Count + prefixes.Count}"];
        }

        if (body.Action is not (null or "delete" or "quarantine"))
        {
            errors["action"] = ["action is delete or quarantine (default quarantine)"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid deletion request");
        }

        var action = body.Action == "delete" ? ActionKind.Delete : ActionKind.Quarantine;
        var actor = Roles.Actor(user);
        var role = Roles.Has(user, Roles.Admin) ? RequesterRole.Admin : RequesterRole.Operator;
        IReadOnlyList<long> ids;
        try
        {
            ids = await engine.Queue.EnqueueAsync(body.Store!, keys, prefixes, action, actor, role, cancellationToken);
        }
        catch (UsageException e)
        {
            // An unknown store or a key the queue refuses: well-formed, but nothing to enqueue; nothing was.
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Deletion request refused");
        }
        catch (AdminRequiredException e) when (e.Limit == AdminRequiredException.ActionLimit)
        {
            // Deleting is the admin's, as a run that is not a dry run is. Nothing was enqueued.
            return Problems.Forbidden(request.HttpContext, "action: delete (an operator may quarantine: action: quarantine, restorable from the trash)", Roles.Admin);
        }
        catch (AdminRequiredException e)
        {
            // Spanning layout groups or exceeding max_delete_count is a limit of the request itself. Nothing was enqueued.
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Deletion request needs the admin role",
                extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { ["limit"] = e.Limit, ["required_role"] = Roles.Admin });
        }

        LogEnqueued(loggers.CreateLogger("Reclaim.Server.Queue"), actor, body.Store!, ids.Count, ids[0], ids[^1]);
        worker.Wake();
        var view = new DeletionsAccepted(QueueService.OwnQueue, body.Store!, action.ToString().ToLowerInvariant(), ids, [.. ids.Select(Url)], actor);
        return TypedResults.Accepted(Url(ids[0]), view);
    }

    private static async Task<Results<Ok<DeletionView>, ProblemHttpResult>> GetAsync(string id, ReclaimEngine engine, CancellationToken cancellationToken)
    {
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1)
        {
            return ApiEndpoints.BadRequest($"'{id}' is not a deletion request id (a positive whole number)");
        }

        return await engine.Queue.RequestAsync(number, cancellationToken) is { } found
            ? TypedResults.Ok(View(found))
            : ApiEndpoints.NotFound($"no deletion request {number} in Reclaim's own queue");
    }

    private static async Task<Results<Ok<QueueView>, ProblemHttpResult>> StatusAsync(
        ReclaimEngine engine, QueueHost worker, string? queue, int? failures, CancellationToken cancellationToken)
    {
        if (failures is < 0 or > 100)
        {
            return ApiEndpoints.BadRequest($"failures must be between 0 and 100, not {failures}");
        }

        if (queue is not null && !worker.Queues.Contains(queue, StringComparer.Ordinal))
        {
            return ApiEndpoints.NotFound($"no queue named '{queue}' (queues: {string.Join(", ", worker.Queues)})");
        }

        var queues = await engine.Queue.StatusAsync(queue is null ? [] : [queue], failures ?? 10, cancellationToken);
        return TypedResults.Ok(new QueueView(worker.Enabled, [.. queues.Select(q => new QueueStatusView(
            q.Queue, q.Depth, q.OldestPending, q.OldestPendingAge is { } age ? (long)age.TotalSeconds : null, q.InFlight,
            [.. q.RecentFailures.Select(f => new QueueFailureView(f.Id, f.Target, f.Error, f.RequestedBy))]))]));
    }

    private static string Url(long id) => string.Create(CultureInfo.InvariantCulture, $"/api/v1/deletions/{id}");

    private static DeletionView View(OwnQueueRequest r) => new(
        r.Id, r.Store, r.Key, r.Prefix, r.Action.ToString().ToLowerInvariant(), r.ProcessedAt is null ? "pending" : r.Error is null ? "processed" : "failed",
        r.CreatedAt, r.ProcessedAt, r.Error, r.RequestedBy);

    [LoggerMessage(EventId = 402, EventName = "DeletionsEnqueued", Level = LogLevel.Information,
        Message = "{Actor} enqueued {Count} deletion requests for store {Store} (ids {FirstId} to {LastId})")]
    private static partial void LogEnqueued(ILogger logger, string actor, string store, int count, long firstId, long lastId);
}

/// <summary>The body of <c>POST /api/v1/deletions</c>: objects and folders of one store to remove through Reclaim's own queue.</summary>
/// <param name="Store">Required: a configured store's name.</param>
/// <param name="Keys">Objects to remove (exact keys).</param>
/// <param name="Prefixes">Folders to empty, each ending in <c>/</c>. Keys and prefixes together: 1 to <see cref="QueueEndpoints.MaxTargets"/>.</param>
/// <param name="Action">
/// <c>delete</c> or <c>quarantine</c> (default <c>quarantine</c>, restorable from the trash). An operator may quarantine
/// one group's worth (no prefix spanning more than one layout group, at most <c>guards.max_delete_count</c> objects);
/// deleting, spanning groups or more objects need the admin role. Whoever asks, objects the store's policies protect
/// are skipped when the request is executed.
/// </param>
public sealed record DeletionRequest(string? Store, IReadOnlyList<string>? Keys, IReadOnlyList<string>? Prefixes, string? Action);

/// <summary>The answer to <c>POST /api/v1/deletions</c> (<c>202 Accepted</c>; <c>Location</c> names the first request).</summary>
/// <param name="Queue">Always <c>reclaim</c>, the own queue.</param>
/// <param name="Store">The store.</param>
/// <param name="Action"><c>delete</c> or <c>quarantine</c>.</param>
/// <param name="Ids">One request id per key and prefix, keys first, in the order given.</param>
/// <param name="Urls">Each request's URL (<c>/api/v1/deletions/{id}</c>).</param>
/// <param name="Actor">Who enqueued them (<c>api:NAME</c>).</param>
public sealed record DeletionsAccepted(string Queue, string Store, string Action, IReadOnlyList<long> Ids, IReadOnlyList<string> Urls, string Actor);

/// <summary>One request of Reclaim's own queue.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Store">The store.</param>
/// <param name="Key">The object, or <see langword="null"/> for a prefix.</param>
/// <param name="Prefix">The folder, or <see langword="null"/> for a key.</param>
/// <param name="Action"><c>delete</c> or <c>quarantine</c>.</param>
/// <param name="Status"><c>pending</c>, <c>processed</c>, or <c>failed</c> (processed with an error).</param>
/// <param name="CreatedAt">When it was enqueued, UTC.</param>
/// <param name="ProcessedAt">When a worker finished it, UTC, or <see langword="null"/>.</param>
/// <param name="Error">Why it failed, or <see langword="null"/>.</param>
/// <param name="RequestedBy">
/// Who enqueued it: <c>api:NAME</c> (the API key's name or the JWT's subject) or <c>cli:USER@HOST</c>
/// (<c>reclaim enqueue</c>); <see langword="null"/> for a request enqueued before state schema version 3.
/// </param>
public sealed record DeletionView(long Id, string Store, string? Key, string? Prefix, string Action, string Status, DateTimeOffset CreatedAt, DateTimeOffset? ProcessedAt, string? Error, string? RequestedBy);

/// <summary>The answer to <c>GET /api/v1/queue</c>.</summary>
/// <param name="Worker">Whether this server runs a queue worker.</param>
/// <param name="Queues">Each queue policy, then the own queue (<c>reclaim</c>).</param>
public sealed record QueueView(bool Worker, IReadOnlyList<QueueStatusView> Queues);

/// <summary>One queue's status, as <c>reclaim queue status --format json</c> shows it.</summary>
/// <param name="Queue">A queue policy's name, or <c>reclaim</c>.</param>
/// <param name="Depth">Pending requests.</param>
/// <param name="OldestPending">The oldest pending request's creation time, UTC, or <see langword="null"/>.</param>
/// <param name="OldestPendingAgeSeconds">Its age in whole seconds, or <see langword="null"/>.</param>
/// <param name="InFlight">Requests a worker holds a lease on now.</param>
/// <param name="RecentFailures">The most recent failed requests, newest first.</param>
public sealed record QueueStatusView(string Queue, long Depth, DateTimeOffset? OldestPending, long? OldestPendingAgeSeconds, int InFlight, IReadOnlyList<QueueFailureView> RecentFailures);

/// <summary>A failed request.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Target">Its path, key or prefix.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="RequestedBy">Who enqueued it, for a request of the own queue (<c>api:NAME</c>, <c>cli:USER@HOST</c>); <see langword="null"/> for a queue policy's row and for requests enqueued before state schema version 3.</param>
public sealed record QueueFailureView(string Id, string Target, string Error, string? RequestedBy);
