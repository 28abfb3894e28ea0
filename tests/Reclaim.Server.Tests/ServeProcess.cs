using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>One firing of a schedule entry as a replica logged it: the run it started and when the firing was due.</summary>
/// <param name="Replica">The replica's name in the test.</param>
/// <param name="RunId">The run it started.</param>
/// <param name="DueAt">When the firing was due (Quartz's scheduled fire time).</param>
public sealed record LoggedFiring(string Replica, string RunId, DateTimeOffset DueAt);

/// <summary>One row of <c>reclaim_runs</c>.</summary>
/// <param name="Id">The run id.</param>
/// <param name="Actor">Who started it.</param>
/// <param name="Status">Its status as stored.</param>
public sealed record StoredRun(string Id, string Actor, string Status);

/// <summary>
/// A real <c>reclaim serve</c> process: the built command line (<c>reclaim.dll</c>, copied beside the tests) started
/// with <c>dotnet</c> on a free loopback port, its JSON log lines collected. <see cref="Kill"/> is SIGKILL,
/// <see cref="StopAsync"/> SIGTERM.
/// </summary>
public sealed class ServeProcess : IAsyncDisposable
{
    private readonly ReclaimProcess _process;

    private ServeProcess(string name, ReclaimProcess process, Uri address)
    {
        Name = name;
        _process = process;
        Address = address;
    }

    /// <summary>The replica's name in the test.</summary>
    public string Name { get; }

    /// <summary>Where it listens: <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Address { get; }

    /// <summary>Every <c>ScheduledRun</c> event logged so far.</summary>
    public IReadOnlyList<LoggedFiring> Firings => [.. _process.Lines.Select(Firing).OfType<LoggedFiring>()];

    /// <summary>The process id of the process started.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Everything the process wrote, for failure messages.</summary>
    public string Output => _process.Output;

    /// <summary>Starts <c>reclaim serve -c <paramref name="configPath"/></c> and waits until <c>/healthz</c> answers.</summary>
    /// <param name="name">The replica's name in the test.</param>
    /// <param name="configPath">The config file.</param>
    /// <param name="environment">Variables to set for the process (a service manager's <c>NOTIFY_SOCKET</c>), or none.</param>
    /// <param name="arguments">More arguments (<c>-v</c>), or none.</param>
    /// <returns>The running process.</returns>
    /// <exception cref="InvalidOperationException">It exited or did not answer within 60 s.</exception>
    public static async Task<ServeProcess> StartAsync(string name, string configPath, IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? arguments = null)
    {
        var port = FreePort.Find();
        var process = ReclaimProcess.Start(["serve", "-c", configPath, "--urls", $"http://127.0.0.1:{port}", "--log-format", "json", .. arguments ?? []], environment);
        var serve = new ServeProcess(name, process, new Uri($"http://127.0.0.1:{port}/"));

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var response = await http.GetAsync("healthz");
                if (response.IsSuccessStatusCode)
                {
                    return serve;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        await serve.DisposeAsync();
        throw new InvalidOperationException($"reclaim serve ({name}) did not start:\n{serve.Output}");
    }

    /// <summary>SIGKILL: the process dies at once, without shutting anything down.</summary>
    public void Kill() => _process.Kill();

    /// <summary>SIGTERM, then waits (at most 60 s) for the process to finish its shutdown and exit.</summary>
    /// <returns>The exit code.</returns>
    public Task<int> StopAsync() => _process.StopAsync();

    /// <summary>
    /// SIGTERM to the process while it is frozen (<see cref="Polling.FreezeWhenAsync"/>), then SIGCONT, then waits (at
    /// most 60 s) for it to exit: the stop lands in exactly the state it was frozen in.
    /// </summary>
    /// <returns>The exit code.</returns>
    public async Task<int> StopFrozenAsync()
    {
        await Polling.SignalAsync([ProcessId], "TERM");
        await Polling.ResumeAsync(ProcessId);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await _process.WaitForExitAsync(timeout.Token);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _process.DisposeAsync();

    /// <summary>
    /// Seeds <paramref name="folder"/> like <see cref="ServerHost"/> and writes its config with PostgreSQL state, a 1 s
    /// cluster check-in and one schedule entry for the <c>uploads</c> policy.
    /// </summary>
    /// <param name="folder">Where the config, the store and the catalog go.</param>
    /// <param name="state">The state database.</param>
    /// <param name="cron">The schedule entry's cron expression (Quartz's, with seconds).</param>
    /// <returns>The config's path.</returns>
    public static async Task<string> WriteClusterConfigAsync(TemporaryFolder folder, PostgresDatabase state, string cron)
    {
        await ServerHost.SeedAsync(folder);
        var path = folder.Combine("reclaim.yaml");

        // The first line continues ServerHost's server section.
        await File.WriteAllTextAsync(path, ServerHost.Yaml(extraYaml: $"""
              cluster_checkin_interval: 1s
            state:
              provider: postgres
              connection: "{state.ConnectionString}"
            schedule:
              - policies: [uploads]
                cron: "{cron}"
            """));
        return path;
    }

    /// <summary>The runs recorded in the state database by schedule entries (actor <c>schedule:N</c>).</summary>
    /// <param name="state">The state database.</param>
    /// <returns>The runs, by id.</returns>
    public static async Task<IReadOnlyList<StoredRun>> ScheduledRunsAsync(PostgresDatabase state)
    {
        await using var connection = new NpgsqlConnection(state.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id, actor, status FROM reclaim_runs WHERE actor LIKE 'schedule:%' ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var runs = new List<StoredRun>();
        while (await reader.ReadAsync())
        {
            runs.Add(new StoredRun(reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return runs;
    }

    private LoggedFiring? Firing(string line)
    {
        if (!line.StartsWith('{'))
        {
            return null;
        }

        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        if (!root.TryGetProperty("EventId", out var id) || id.GetInt32() != 300
            || root.GetProperty("Category").GetString() != typeof(Scheduling.ScheduledRunJob).FullName || !root.TryGetProperty("State", out var state))
        {
            return null;
        }

        return new LoggedFiring(Name, state.GetProperty("RunId").GetString()!,
            DateTimeOffset.Parse(state.GetProperty("ScheduledFireTime").GetString()!, CultureInfo.InvariantCulture));
    }
}
