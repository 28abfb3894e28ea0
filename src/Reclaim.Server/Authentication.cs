using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server;

/// <summary>The roles of the HTTP API (README, "HTTP API"), in order: each includes the ones before it.</summary>
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

    /// <summary>The claim type holding each value of a JWT's role claim as the application wrote it (before <c>server.jwt.role_map</c>).</summary>
    public const string ApplicationClaimType = "reclaim_app_role";

    /// <summary>The claim type saying how the caller signed in: <see cref="ViaApiKey"/> or <see cref="ViaJwt"/>.</summary>
    public const string ViaClaimType = "reclaim_via";

    /// <summary>Signed in with an API key of <c>server.tokens</c>.</summary>
    public const string ViaApiKey = "api_key";

    /// <summary>Signed in with a JWT (<c>server.jwt</c>).</summary>
    public const string ViaJwt = "jwt";

    /// <summary>The caller's highest Reclaim role, or <see langword="null"/> when it has none.</summary>
    /// <param name="user">The caller.</param>
    /// <returns><c>viewer</c>, <c>operator</c>, <c>admin</c> or <see langword="null"/>.</returns>
    public static string? Of(ClaimsPrincipal user) =>
        user.FindAll(ClaimType).Select(c => c.Value).Where(r => Rank(r) > 0).OrderByDescending(Rank).FirstOrDefault();

    /// <summary>
    /// The Reclaim roles a validated JWT grants: with <see cref="JwtConfig.RoleMap"/>, each value of the role claim
    /// the map names with a Reclaim role (a value it does not name, or maps to <c>none</c>, grants nothing); without
    /// one, the values that are Reclaim role names. A JSON array claim arrives as one claim per value.
    /// </summary>
    /// <param name="principal">The token's claims.</param>
    /// <param name="jwt">The JWT settings.</param>
    /// <returns>An identity carrying the granted roles, the application's own values and how the caller signed in, to add to <paramref name="principal"/>.</returns>
    public static ClaimsIdentity FromJwt(ClaimsPrincipal principal, JwtConfig jwt)
    {
        ArgumentNullException.ThrowIfNull(principal);
        ArgumentNullException.ThrowIfNull(jwt);
        var values = principal.FindAll(jwt.RoleClaim).Select(c => c.Value).ToList();
        var granted = values
            .Select(v => jwt.RoleMap is { } map ? map.GetValueOrDefault(v) : v)
            .Where(r => Rank(r) > 0)
            .Distinct(StringComparer.Ordinal);
        return new ClaimsIdentity(
            [
                new Claim(ViaClaimType, ViaJwt),
                .. granted.Select(r => new Claim(ClaimType, r!)),
                .. values.Select(v => new Claim(ApplicationClaimType, v)),
            ]);
    }

    /// <summary>
    /// Who the caller is and which role it has, in words, for a 403 and the dashboard: the key's name and role, or
    /// the JWT's subject, its application role and what <c>server.jwt.role_map</c> makes of it.
    /// </summary>
    /// <param name="user">An authenticated caller.</param>
    /// <param name="jwt">The JWT settings, or <see langword="null"/>.</param>
    /// <returns>For example <c>the JWT of 'u-17' has the application role 'patient', which server.jwt.role_map maps to none</c>.</returns>
    public static string Describe(ClaimsPrincipal user, JwtConfig? jwt)
    {
        ArgumentNullException.ThrowIfNull(user);
        var name = user.Identity?.Name ?? "unknown";
        var role = Of(user);
        if (user.FindFirst(ViaClaimType)?.Value != ViaJwt || jwt is null)
        {
            return $"the API key '{name}' has the role {role ?? "none"}";
        }

        var values = user.FindAll(ApplicationClaimType).Select(c => c.Value).ToList();
        if (values.Count == 0)
        {
            return $"the JWT of '{name}' has no '{jwt.RoleClaim}' claim, so no role (server.jwt.role_claim names the claim that holds it)";
        }

        var quoted = string.Join(", ", values.Select(v => $"'{v}'"));
        var noun = values.Count == 1 ? "the application role" : "the application roles";
        if (jwt.RoleMap is not { } map)
        {
            return role is null
                ? $"the JWT of '{name}' has {noun} {quoted}, which is not a Reclaim role (viewer, operator, admin); map it with server.jwt.role_map"
                : $"the JWT of '{name}' has the role {role}";
        }

        var mapped = values.Select(v => map.TryGetValue(v, out var m) ? $"server.jwt.role_map: '{v}' maps to {m}" : $"'{v}' is not in server.jwt.role_map (it names {string.Join(", ", map.Keys)})");
        return $"the JWT of '{name}' has {noun} {quoted}; {string.Join("; ", mapped)}" + (role is null ? ", so it has no Reclaim role" : values.Count > 1 ? $"; so the role {role}" : string.Empty);
    }

    /// <summary>A 403 detail: what needs which role, and who the caller is.</summary>
    /// <param name="what">What was asked, for example <c>POST /api/v1/runs</c> or <c>a run that is not a dry run</c>.</param>
    /// <param name="needed">The least role required.</param>
    /// <param name="user">The caller.</param>
    /// <param name="jwt">The JWT settings, or <see langword="null"/>.</param>
    /// <returns>The detail.</returns>
    public static string Refusal(string what, string needed, ClaimsPrincipal user, JwtConfig? jwt) =>
        $"{what} needs the {needed} role or higher; {Describe(user, jwt)}";
}

/// <summary>The caller must hold <see cref="Role"/> or a higher role (<see cref="Roles.Has"/>).</summary>
/// <param name="Role">The least role.</param>
internal sealed record RoleRequirement(string Role) : IAuthorizationRequirement;

/// <summary>Grants <see cref="RoleRequirement"/> to callers holding the role or a higher one.</summary>
internal sealed class RoleRequirementHandler : AuthorizationHandler<RoleRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RoleRequirement requirement)
    {
        if (Roles.Has(context.User, requirement.Role))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Answers a refused request with a problem document that says what to do: 401 with <c>WWW-Authenticate: Bearer</c>
/// and how to send a key (and why a sent token was not accepted); 403 naming the role needed and the caller's.
/// </summary>
internal sealed class ProblemAuthorizationResultHandler(ReclaimConfig config) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            var sent = Bearer.Token(context.Request) is not null;
            // The authentication middleware keeps only a successful result; ask the scheme again (it caches per request) for why it failed.
            var failure = sent ? (await context.AuthenticateAsync()).Failure : null;
            context.Response.Headers.WWWAuthenticate = sent ? "Bearer realm=\"reclaim\", error=\"invalid_token\"" : "Bearer realm=\"reclaim\"";
            await Problems.WriteAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", Unauthorized(context.Request, failure));
            return;
        }

        if (authorizeResult.Forbidden)
        {
            var needed = policy.Requirements.OfType<RoleRequirement>().Select(r => r.Role).OrderByDescending(Roles.Rank).FirstOrDefault() ?? Roles.Viewer;
            var what = $"{context.Request.Method} {context.Request.Path}";
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", Roles.Refusal(what, needed, context.User, config.Server.Jwt),
                new Dictionary<string, object?> { ["required_role"] = needed, ["role"] = Roles.Of(context.User) });
            return;
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }

    private string Unauthorized(HttpRequest request, Exception? failure)
    {
        var how = "send an API key or a JWT as 'Authorization: Bearer <token>' " +
            "(an API key comes from 'reclaim token create --role viewer|operator|admin', whose sha256 line goes under server.tokens" +
            (config.Server.Jwt is null ? ")" : "; a JWT must be signed as server.jwt says)");
        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return $"no credentials: {how}";
        }

        if (Bearer.Token(request) is null)
        {
            return $"the Authorization header is not 'Bearer <token>': {how}";
        }

        var why = failure switch
        {
            SecurityTokenExpiredException e => $"the JWT expired at {e.Expires:yyyy-MM-ddTHH:mm:ssZ}",
            SecurityTokenNotYetValidException e => $"the JWT is not valid before {e.NotBefore:yyyy-MM-ddTHH:mm:ssZ}",
            SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "the JWT's signature does not verify with server.jwt's key",
            SecurityTokenInvalidAudienceException => $"the JWT's audience is not '{config.Server.Jwt?.Audience}'",
            SecurityTokenInvalidIssuerException => $"the JWT's issuer is not '{config.Server.Jwt?.Issuer ?? config.Server.Jwt?.Authority}'",
            null => "the token was not accepted",
            _ => failure.Message,
        };
        return $"{why}: {how}";
    }
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
/// every configured hash in constant time (<see cref="System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>), so neither the
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

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, match.Name), new Claim(Roles.ClaimType, match.Role), new Claim(Roles.ViaClaimType, Roles.ViaApiKey)], SchemeName, ClaimTypes.Name, Roles.ClaimType);
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
