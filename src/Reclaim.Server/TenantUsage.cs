using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Reclaim.Engine;
using Reclaim.Engine.Usage;

namespace Reclaim.Server;

/// <summary>
/// <c>GET /api/v1/usage/tenants?by=org&amp;limit=10&amp;store=S</c> (viewer): the values of one layout variable with the
/// most reclaimable bytes (<c>reclaim usage --by</c>), for the dashboard's top tenants. Without <c>by</c>, the first
/// variable of the first <c>orphans</c> or <c>retention</c> policy's layout.
/// </summary>
internal static class TenantUsage
{
    /// <summary>The most rows one answer holds: 1000.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Answers the route: 200 with <see cref="TenantUsageView"/>; 400 for a bad <c>limit</c> or a variable no layout has; 404 for an unknown store.</summary>
    public static async Task<Results<Ok<TenantUsageView>, ProblemHttpResult>> GetAsync(ReclaimEngine engine, string? by, int? limit, string? store, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > MaxLimit)
        {
            return ApiEndpoints.BadRequest($"limit must be between 1 and {MaxLimit}, not {limit}");
        }

        if (store is not null && !engine.Config.Stores.ContainsKey(store))
        {
            return ApiEndpoints.NotFound($"no store named '{store}' (stores: {string.Join(", ", engine.Config.Stores.Keys)})");
        }

        var variables = VariableUsage.Variables(engine.Config.Policies.Where(p => store is null || string.Equals(p.Store, store, StringComparison.Ordinal)));
        var variable = by ?? variables.FirstOrDefault();
        if (variable is null)
        {
            return TypedResults.Ok(new TenantUsageView(null, variables, [], []));
        }

        try
        {
            var report = await engine.UsageByAsync(store, variable, progress: null, cancellationToken);
            return TypedResults.Ok(new TenantUsageView(report.By, variables, [.. report.Rows.Take(limit ?? 10)], report.Warnings));
        }
        catch (UsageException e)
        {
            return ApiEndpoints.BadRequest(e.Message);
        }
    }
}

/// <summary>The top values of a layout variable by reclaimable bytes.</summary>
/// <param name="By">The variable, or <see langword="null"/> when no policy has a layout.</param>
/// <param name="Variables">Every variable <c>by</c> accepts.</param>
/// <param name="Rows">The first <c>limit</c> rows of the report (default 10), most reclaimable bytes first.</param>
/// <param name="Warnings">The report's warnings.</param>
public sealed record TenantUsageView(string? By, IReadOnlyList<string> Variables, IReadOnlyList<VariableUsageRow> Rows, IReadOnlyList<string> Warnings);
