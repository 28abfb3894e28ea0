using System.Security.Cryptography;
using System.Text;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Planning;

/// <summary>A fingerprint of what a policy selects, so that <c>apply</c> can refuse a plan made under another definition.</summary>
public static class PolicyDefinition
{
    /// <summary>The first 16 hex digits of the SHA-256 of the policy's type, store, layout, queries (every one of a list), grace period and action.</summary>
    /// <param name="policy">The policy.</param>
    /// <returns>16 lower-case hex digits.</returns>
    public static string Fingerprint(PolicyConfig policy)
    {
        var text = string.Join('\n',
            policy.Type,
            policy.Store,
            policy.Layout?.Template ?? string.Empty,
            Join(policy.References, q => q.Catalog),
            Join(policy.References, q => q.Query),
            Join(policy.Keep, q => q.Catalog),
            Join(policy.Keep, q => q.Query),
            policy.MinAge.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture),
            policy.MaxAge?.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty,
            policy.Catalog ?? string.Empty,
            policy.Query ?? string.Empty,
            string.Join('\u001f', policy.Objects),
            policy.After ?? string.Empty,
            policy.Action.ToString());
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>A list of queries' parts, one per query (a single query's part as it is, so its fingerprint is the one it had before lists).</summary>
    private static string Join(IReadOnlyList<QueryConfig>? queries, Func<QueryConfig, string> part) =>
        queries is null ? string.Empty : string.Join('\u001e', queries.Select(part));
}
