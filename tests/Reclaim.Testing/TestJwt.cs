using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Reclaim.Testing;

/// <summary>HS256 JWTs, signed as an application's auth service would sign them.</summary>
public static class TestJwt
{
    /// <summary>A token for <c>user-ROLE</c> carrying <paramref name="role"/> in <paramref name="roleClaim"/>.</summary>
    /// <param name="secret">The HS256 secret (UTF-8 bytes).</param>
    /// <param name="roleClaim">The claim holding the role.</param>
    /// <param name="role">The role.</param>
    /// <param name="expires">Its expiry; issued two hours before.</param>
    /// <returns>The token.</returns>
    public static string Create(string secret, string roleClaim, string role, DateTimeOffset expires)
    {
        static string Part(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = Part(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "JWT" }));
        var payload = Part(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["sub"] = $"user-{role}",
            [roleClaim] = role,
            ["iat"] = expires.AddHours(-2).ToUnixTimeSeconds(),
            ["nbf"] = expires.AddHours(-2).ToUnixTimeSeconds(),
            ["exp"] = expires.ToUnixTimeSeconds(),
        }));
        var signature = Part(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{signature}";
    }
}
