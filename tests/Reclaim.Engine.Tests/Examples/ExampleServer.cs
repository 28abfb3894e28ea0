using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reclaim.Engine.Configuration;
using Reclaim.Server;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Examples;

/// <summary>
/// <c>reclaim serve</c> on a loopback port over an example's copied config, with the example's admin key and (where
/// the example shows one) its JWT block set up as its comments tell a user to: the key's sha256 in place of
/// <c>${CLEANUP_KEY_SHA256}</c>, an operator key beside it, and the commented <c>jwt</c> block uncommented with a
/// secret.
/// </summary>
public sealed class ExampleServer : IAsyncDisposable
{
    /// <summary>The key of the example's admin token (<c>cleanup-cron</c>).</summary>
    public const string AdminKey = "rcl_example-admin-key-for-tests";

    /// <summary>The key of an operator token the test adds.</summary>
    public const string OperatorKey = "rcl_example-operator-key-for-tests";

    /// <summary>The HS256 secret written for <c>${JWT_SECRET}</c>.</summary>
    public const string JwtSecret = "example-jwt-secret-0123456789abcdef";

    /// <summary>The commented JWT block of the therapy-audio example, as the README shows it.</summary>
    public const string CommentedJwt = """
          # jwt:
          #   secret: ${JWT_SECRET}
          #   role_claim: role
          #   role_map: {therapist: operator, admin: admin, patient: none}

        """;

    private readonly WebApplication _app;

    private ExampleServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Where it listens.</summary>
    public Uri Address { get; }

    /// <summary>Sets up the copied config's credentials and starts the server on it.</summary>
    /// <param name="site">The example's site, initialized.</param>
    /// <param name="clock">The server's clock.</param>
    /// <param name="jwt">Uncomment the example's JWT block.</param>
    /// <returns>The running server.</returns>
    public static async Task<ExampleServer> StartAsync(ExampleSite site, TimeProvider clock, bool jwt = false)
    {
        site.EditConfig("${CLEANUP_KEY_SHA256:-0000000000000000000000000000000000000000000000000000000000000000}", ApiKeys.Sha256Hex(AdminKey));
        site.EditConfig("  tokens:\n", $"  tokens:\n    - {{name: ops-bot, role: operator, sha256: {ApiKeys.Sha256Hex(OperatorKey)}}}\n");
        if (jwt)
        {
            site.EditConfig(CommentedJwt, CommentedJwt.Replace("  # ", "  ", StringComparison.Ordinal).Replace("  #   ", "    ", StringComparison.Ordinal)
                .Replace("${JWT_SECRET}", JwtSecret, StringComparison.Ordinal));
        }

        var config = ConfigLoader.Load(site.ConfigPath);
        var app = await ReclaimServer.BuildAsync(config, new ServerSettings
        {
            Urls = "http://127.0.0.1:0",
            JsonLogs = false,
            LogLevel = LogLevel.Warning,
            QueueWorker = false,
            TimeProvider = clock,
        }, CancellationToken.None);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ExampleServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>A client sending <paramref name="token"/> as its bearer token (none when <see langword="null"/>).</summary>
    /// <param name="token">An API key or a JWT.</param>
    /// <returns>The client.</returns>
    public HttpClient Client(string? token)
    {
        var client = new HttpClient { BaseAddress = Address };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>A client with a JWT of the application's own <paramref name="role"/>, valid for an hour.</summary>
    /// <param name="role">therapist, admin, patient...</param>
    /// <returns>The client.</returns>
    public HttpClient AsApplicationRole(string role) => Client(TestJwt.Create(JwtSecret, "role", role, DateTimeOffset.UtcNow.AddHours(1)));

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
