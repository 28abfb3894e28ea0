using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http.Features;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Reclaim.Engine.Configuration;
using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>
/// A real <c>reclaim serve</c> on a loopback port over a folder store and a SQLite catalog: ten referenced upload
/// folders and <see cref="OrphanGroups"/> orphaned ones, all three days old, and one API key per role.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    /// <summary>The HS256 secret of the JWT tests.</summary>
    public const string JwtSecret = "server-tests-secret-0123456789abcdef";

    /// <summary>Orphaned upload folders, each with two objects.</summary>
    public const int OrphanGroups = 2;

    private readonly TemporaryFolder _folder = new("reclaim-server");
    private WebApplication? _app;

    private ServerHost()
    {
    }

    /// <summary>The server's base address (<c>http://127.0.0.1:PORT/</c>).</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>The store's root folder.</summary>
    public string Root => _folder.Combine("media");

    /// <summary>The server's config file, for running <c>reclaim</c> commands against the same store and state.</summary>
    public string ConfigPath => _folder.Combine("reclaim.yaml");

    /// <summary>The keys of the viewer, operator and admin API keys, by role.</summary>
    public static IReadOnlyDictionary<string, string> Keys { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["viewer"] = "rcl_viewer-key-for-tests",
        ["operator"] = "rcl_operator-key-for-tests",
        ["admin"] = "rcl_admin-key-for-tests",
    };

    /// <summary>Bytes of every orphaned object together.</summary>
    public long OrphanBytes { get; private set; }

    /// <summary>Starts a server.</summary>
    /// <param name="rateLimitPerMinute">Mutating requests per caller per minute.</param>
    /// <param name="referencesQuery">The policy's references query (a slow one makes runs last).</param>
    /// <param name="extraYaml">More top-level YAML (a schedule).</param>
    /// <param name="queueWorker">Run the queue worker in the server.</param>
    /// <param name="pricePerGbMonth">The store's <c>price_per_gb_month</c>, or none.</param>
    /// <param name="otlpEndpoint">An OTLP collector to export metrics and logs to every half second, or none.</param>
    /// <param name="jwtYaml">More keys of <c>server.jwt</c>, each line indented by four spaces (a <c>role_map</c>).</param>
    /// <param name="editYaml">Changes the config's YAML before the server reads it (more stores or policies), or none.</param>
    /// <param name="timeProvider">The server's clock; the system's when <see langword="null"/>.</param>
    /// <returns>The running server.</returns>
    public static async Task<ServerHost> StartAsync(
        int rateLimitPerMinute = 1000, string referencesQuery = "SELECT id AS asset FROM assets", string extraYaml = "", bool queueWorker = true, decimal? pricePerGbMonth = null,
        Uri? otlpEndpoint = null, string jwtYaml = "", Func<string, string>? editYaml = null, TimeProvider? timeProvider = null)
    {
        var host = new ServerHost();
        await host.SeedAsync();
        var yaml = Yaml(rateLimitPerMinute, referencesQuery, extraYaml, pricePerGbMonth, jwtYaml);
        yaml = editYaml?.Invoke(yaml) ?? yaml;
        await File.WriteAllTextAsync(host.ConfigPath, yaml);
        var config = ConfigLoader.Load(host.ConfigPath);
        host._app = await ReclaimServer.BuildAsync(config, new ServerSettings { Urls = "http://127.0.0.1:0", JsonLogs = false, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning, QueueWorker = queueWorker,
            OtlpEndpoint = otlpEndpoint, OtlpExportInterval = otlpEndpoint is null ? null : TimeSpan.FromMilliseconds(500),
            TimeProvider = timeProvider ?? TimeProvider.System,
        }, CancellationToken.None);
        await host._app.StartAsync();
        var address = host._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host.Address = new Uri(address.EndsWith('/') ? address : address + "/");
        return host;
    }

    /// <summary>A client with <paramref name="token"/> as its bearer token (none when <see langword="null"/>).</summary>
    /// <param name="token">The token.</param>
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

    /// <summary>A client holding the API key of <paramref name="role"/>.</summary>
    /// <param name="role">viewer, operator or admin.</param>
    /// <returns>The client.</returns>
    public HttpClient As(string role) => Client(Keys[role]);

    /// <summary>An HS256 JWT signed with <see cref="JwtSecret"/> (or another secret).</summary>
    /// <param name="role">The <c>app_role</c> claim.</param>
    /// <param name="expires">Its expiry.</param>
    /// <param name="secret">The signing secret.</param>
    /// <returns>The token.</returns>
    public static string Jwt(string role, DateTimeOffset expires, string secret = JwtSecret) => TestJwt.Create(secret, "app_role", role, expires);

    /// <summary>Polls a run until it has finished.</summary>
    /// <param name="client">A client that may read runs.</param>
    /// <param name="runId">The run.</param>
    /// <returns>The finished run.</returns>
    public static async Task<JsonObject> WaitForRunAsync(HttpClient client, string runId)
    {
        for (var i = 0; i < 300; i++)
        {
            var run = (await client.GetFromJsonAsync<JsonObject>($"api/v1/runs/{runId}"))!;
            if (run["status"]!.GetValue<string>() != "running" && run["phase"]?.GetValue<string>() is null or "finished")
            {
                return run;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"run {runId} did not finish");
    }

    /// <summary>The config of a server over <see cref="SeedAsync(TemporaryFolder)"/>'s store and catalog: one <c>uploads</c> policy, the API keys, the JWT secret.</summary>
    /// <param name="rateLimitPerMinute">Mutating requests per caller per minute.</param>
    /// <param name="referencesQuery">The policy's references query.</param>
    /// <param name="extraYaml">More YAML after the <c>server</c> section: top-level sections, or lines indented by two spaces that continue <c>server</c>.</param>
    /// <returns>The YAML.</returns>
    /// <param name="pricePerGbMonth">The store's <c>price_per_gb_month</c>, or <see langword="null"/> for none.</param>
    /// <param name="jwtYaml">More keys of <c>server.jwt</c>, each line indented by four spaces.</param>
    public static string Yaml(int rateLimitPerMinute = 1000, string referencesQuery = "SELECT id AS asset FROM assets", string extraYaml = "", decimal? pricePerGbMonth = null, string jwtYaml = "")
    {
        var tokens = string.Join('\n', Keys.Select(k => $"    - {{name: {k.Key}, role: {k.Key}, sha256: {ApiKeys.Sha256Hex(k.Value)}}}"));
        return $"""
            version: 1
            stores:
              media:
                type: filesystem
                root: ./media
            {(pricePerGbMonth is { } price ? $"    price_per_gb_month: {price.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : string.Empty)}
            catalogs:
              app:
                provider: sqlite
                connection: ./app.db
            policies:
              - name: uploads
                type: orphans
                store: media
                layout: "uploads/{"{asset}"}/"
                references:
                  catalog: app
                  query: "{referencesQuery}"
                min_age: 1d
            guards:
              max_delete_fraction: 0.5
            server:
              tokens:
            {tokens}
              jwt:
                secret: {JwtSecret}
                role_claim: app_role
            {jwtYaml}
              rate_limit_per_minute: {rateLimitPerMinute}
            {extraYaml}
            """;
    }

    /// <summary>Starts a run through <c>POST /api/v1/runs</c> (which must answer <c>202</c>) and polls it until it has finished.</summary>
    /// <param name="client">A client that may start the run.</param>
    /// <param name="request">The request body (<c>{policies?, dry_run}</c>).</param>
    /// <returns>The finished run.</returns>
    public static async Task<JsonObject> RunAsync(HttpClient client, object request)
    {
        using var started = await client.PostAsJsonAsync("api/v1/runs", request);
        started.StatusCode.Should().Be(System.Net.HttpStatusCode.Accepted);
        return await WaitForRunAsync(client, (await started.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
    }

    /// <summary>Polls a deletion request (<c>GET /api/v1/deletions/{id}</c>) until it is no longer pending, for up to 30 s.</summary>
    /// <param name="client">A client that may read the queue.</param>
    /// <param name="id">The request id.</param>
    /// <returns>The request as last read (still pending after 30 s).</returns>
    public static async Task<JsonObject> WaitForRequestAsync(HttpClient client, long id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var request = (await client.GetFromJsonAsync<JsonObject>($"api/v1/deletions/{id}"))!;
            if (request["status"]!.GetValue<string>() != "pending" || DateTime.UtcNow > deadline)
            {
                return request;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Every key in the store, trash included.</summary>
    /// <returns>Keys with <c>/</c> separators.</returns>
    public HashSet<string> StoreKeys() =>
        Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Root, f).Replace('\\', '/')).ToHashSet(StringComparer.Ordinal);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    private async Task SeedAsync() => OrphanBytes = await SeedAsync(_folder);

    /// <summary>
    /// Seeds <paramref name="folder"/> with the store (<c>media/</c>: ten referenced upload folders and
    /// <see cref="OrphanGroups"/> orphaned ones, three days old) and the SQLite catalog (<c>app.db</c>).
    /// </summary>
    /// <param name="folder">The folder.</param>
    /// <returns>Bytes of every orphaned object together.</returns>
    public static async Task<long> SeedAsync(TemporaryFolder folder)
    {
        var root = folder.Combine("media");
        var orphanBytes = 0L;
        var old = DateTime.UtcNow.AddDays(-3);
        await using (var connection = new SqliteConnection($"Data Source={folder.Combine("app.db")};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE assets (id TEXT PRIMARY KEY);" + string.Concat(Enumerable.Range(0, 10).Select(i => $"INSERT INTO assets VALUES ('a{i}');"));
            await command.ExecuteNonQueryAsync();
        }

        void Put(string key, int size)
        {
            var path = Path.Combine(root, key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, Enumerable.Repeat((byte)'x', size).ToArray());
            File.SetLastWriteTimeUtc(path, old);
        }

        for (var i = 0; i < 10; i++)
        {
            Put($"uploads/a{i}/video.mp4", 1000 + i);
        }

        for (var i = 0; i < OrphanGroups; i++)
        {
            Put($"uploads/gone{i}/video.mp4", 5000 + i);
            Put($"uploads/gone{i}/thumb.jpg", 300 + i);
            orphanBytes += 5000 + i + 300 + i;
        }

        return orphanBytes;
    }
}

/// <summary>One <see cref="ServerHost"/> with default settings shared by a test class.</summary>
public sealed class SharedServer : IAsyncLifetime
{
    /// <summary>The server.</summary>
    public ServerHost Host { get; private set; } = null!;

    /// <inheritdoc/>
    public async Task InitializeAsync() => Host = await ServerHost.StartAsync();

    /// <inheritdoc/>
    public async Task DisposeAsync() => await Host.DisposeAsync();
}
