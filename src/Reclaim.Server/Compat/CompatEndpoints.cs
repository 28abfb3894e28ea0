using Microsoft.AspNetCore.Builder;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server.Compat;

/// <summary>Maps the routes of <c>server.compat</c> that the config turns on; none by default.</summary>
internal static class CompatEndpoints
{
    public static void Map(WebApplication app, CompatConfig compat)
    {
        if (compat.BulkCleanup is { } bulk)
        {
            BulkCleanupEndpoint.Map(app, bulk);
        }

        if (compat.AdminCleanup is { } admin)
        {
            AdminCleanupEndpoints.Map(app, admin);
        }
    }
}
