using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reclaim.Core.Catalogs;
using Reclaim.Engine;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Planning;

namespace Reclaim.Server;

/// <summary>RFC 9457 problem details for every error the API returns.</summary>
internal static class Problems
{
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
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
