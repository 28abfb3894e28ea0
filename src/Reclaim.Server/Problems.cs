using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reclaim.Core.Catalogs;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;

namespace Reclaim.Server;

/// <summary>RFC 9457 problem details for every error the API returns.</summary>
internal static class Problems
{
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail, IDictionary<string, object?>? extensions = null)
    {
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        foreach (var (key, value) in extensions ?? new Dictionary<string, object?>())
        {
            problem.Extensions[key] = value;
        }

        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }

    /// <summary>A 403 naming what needs which role and what the caller has.</summary>
    public static ProblemHttpResult Forbidden(HttpContext context, string what, string needed) =>
        TypedResults.Problem(
            Roles.Refusal(what, needed, context.User, context.RequestServices.GetRequiredService<ReclaimConfig>().Server.Jwt),
            statusCode: StatusCodes.Status403Forbidden,
            title: "Forbidden",
            extensions: new Dictionary<string, object?> { ["required_role"] = needed, ["role"] = Roles.Of(context.User) });
}

/// <summary>Maps exceptions that escape an endpoint to problem details; anything unexpected is a 500 without internals.</summary>
internal sealed partial class ProblemExceptionHandler(ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException e => (e.StatusCode, "Bad request", e.Message),
            JsonException e => (400, "Malformed JSON", e.Message),
            UsageException or PlanFileException => (400, "Bad request", exception.Message),
            PolicyBusyException => (409, "Policy busy", exception.Message),
            GuardRefusedException => (422, "Refused by a guard", exception.Message),
            CatalogException => (502, "Catalog unreachable", exception.Message),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "Client closed request", "cancelled"),
            _ => (500, "Internal error", "the server failed; see its log"),
        };
        if (status == 500)
        {
            LogUnhandled(logger, exception, httpContext.Request.Path);
        }

        await Problems.WriteAsync(httpContext, status, title, detail);
        return true;
    }

    [LoggerMessage(EventId = 500, EventName = "Unhandled", Level = LogLevel.Error, Message = "request {Path} failed")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string path);
}
