using System.Security.Cryptography;
using System.Text;
using Reclaim.Core.Planning;
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
        ArgumentNullException.ThrowIfNull(policy);

        // The fields in the order they were hashed when every kind shared one bag of settings (unset ones empty, the
        // grace period 24h unless an orphans policy sets it), so plan files made then still apply.
        (string? Layout, IReadOnlyList<QueryConfig>? References, IReadOnlyList<QueryConfig>? Keep, TimeSpan MinAge, TimeSpan? MaxAge,
            string? Catalog, string? Query, IReadOnlyList<string> Objects, string? After) fields = policy switch
        {
            OrphansPolicy o => (o.Layout.Template, o.References, null, o.MinAge, null, null, null, [], null),
            RetentionPolicy r => (r.Layout.Template, null, r.Keep, DefaultMinAge, r.MaxAge, null, null, [], null),
            RecordsPolicy r => (null, null, null, DefaultMinAge, null, r.Catalog, r.Query, r.Objects, r.After),
            QueuePolicy q => (q.Layout?.Template, q.References, null, DefaultMinAge, null, q.Catalog, null, [], null),
            _ => throw new ArgumentException($"policy '{policy.Name}': unknown kind {policy.GetType().Name}", nameof(policy)),
        };
        var (layout, references, keep, minAge, maxAge, catalog, query, objects, after) = fields;
        var text = string.Join('\n',
            policy.Kind.Name(),
            policy.Store,
            layout ?? string.Empty,
            Join(references, q => q.Catalog),
            Join(references, q => q.Query),
            Join(keep, q => q.Catalog),
            Join(keep, q => q.Query),
            minAge.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture),
            maxAge?.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty,
            catalog ?? string.Empty,
            query ?? string.Empty,
            string.Join('\u001f', objects),
            after ?? string.Empty,
            policy.Action.ToString());
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    private static readonly TimeSpan DefaultMinAge = TimeSpan.FromHours(24);

    /// <summary>A list of queries' parts, one per query (a single query's part as it is, so its fingerprint is the one it had before lists).</summary>
    private static string Join(IReadOnlyList<QueryConfig>? queries, Func<QueryConfig, string> part) =>
        queries is null ? string.Empty : string.Join('\u001e', queries.Select(part));
}
