using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server;

/// <summary>The roles of SPEC's HTTP API, in order: each includes the ones before it.</summary>
public static class Roles
{
    /// <summary>Reads config, status, history, usage.</summary>
    public const string Viewer = "viewer";

    /// <summary>Also starts dry runs and enqueues deletions.</summary>
    public const string Operator = "operator";

    /// <summary>Also starts real runs and restores.</summary>
    public const string Admin = "admin";

    /// <summary>The claim type API keys and JWTs are mapped to.</summary>
    public const string ClaimType = "reclaim_role";

    private static readonly string[] Ordered = [Viewer, Operator, Admin];

    /// <summary>The rank of a role: viewer 1, operator 2, admin 3; 0 for anything else.</summary>
    /// <param name="role">A role name, compared ordinally.</param>
    /// <returns>The rank.</returns>
    public static int Rank(string? role) => Array.IndexOf(Ordered, role) + 1;

    /// <summary>Whether <paramref name="user"/> holds <paramref name="role"/> or a higher one.</summary>
    /// <param name="user">The caller.</param>
    /// <param name="role">The least role required.</param>
    /// <returns><see langword="true"/> when it does.</returns>
    public static bool Has(ClaimsPrincipal user, string role) =>
        user.FindAll(ClaimType).Any(c => Rank(c.Value) >= Rank(role));

    /// <summary>The actor recorded for what <paramref name="user"/> does: <c>api:&lt;token or subject name&gt;</c>.</summary>
    /// <param name="user">The caller.</param>
    /// <returns>The actor.</returns>
    public static string Actor(ClaimsPrincipal user) => $"api:{user.Identity?.Name ?? "unknown"}";
}

/// <summary>Creates API keys (<c>reclaim token create</c>) and hashes them as <c>server.tokens</c> stores them.</summary>
public static class ApiKeys
{
    /// <summary>A new key: <c>rcl_</c> and 32 random bytes in base64url (256 bits).</summary>
    /// <returns>The key.</returns>
    public static string Create() =>
        "rcl_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The lower-case hex SHA-256 of the key's UTF-8 bytes.</summary>
    /// <param name="key">The key.</param>
    /// <returns>64 hex digits.</returns>
    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}

/// <summary>
/// Authenticates <c>Authorization: Bearer KEY</c> against <c>server.tokens</c>: the key's SHA-256 is compared with
/// every configured hash in constant time (<see cref="CryptographicOperations.FixedTimeEquals"/>), so neither the
/// match nor its position leaks through timing.
/// </summary>
internal sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ReclaimConfig config)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    private readonly (TokenConfig Token, byte[] Hash)[] _tokens =
        [.. (config.Server.Tokens ?? []).Select(t => (t, Convert.FromHexString(t.Sha256)))];

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Bearer.Token(Request) is not { } key)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        TokenConfig? match = null;
        foreach (var (token, expected) in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                match = token;
            }
        }

        if (match is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("the bearer token is not a configured API key"));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, match.Name), new Claim(Roles.ClaimType, match.Role)], SchemeName, ClaimTypes.Name, Roles.ClaimType);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}

/// <summary>Reads the bearer token of a request.</summary>
internal static class Bearer
{
    public const string PolicyScheme = "ApiKeyOrJwt";

    /// <summary>The token after <c>Bearer </c>, or <see langword="null"/>.</summary>
    public static string? Token(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;
    }

    /// <summary>A JWT has three base64url parts; API keys never contain a dot.</summary>
    public static bool LooksLikeJwt(string? token) => token is not null && token.Count(c => c == '.') == 2;
}
