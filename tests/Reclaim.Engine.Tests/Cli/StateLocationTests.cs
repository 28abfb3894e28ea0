using System.Diagnostics;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Cli;

/// <summary>
/// Where the SQLite state goes, and what happens when it cannot be written: the deployment files mount the config
/// read-only (ProtectSystem=strict, a read-only volume), so the default state next to the config is unwritable there.
/// Read-only mounts are real: the command runs as a child process in a user and mount namespace
/// (<c>unshare --user --map-root-user --mount</c>) with the config's folder bind-mounted read-only.
/// </summary>
public sealed class StateLocationTests : IDisposable
{
    private const string Config = """
        version: 1
        stores:
          media:
            type: filesystem
            root: ./media
        """;

    private readonly TemporaryFolder _folder = new("state-location");

    public StateLocationTests()
    {
        Directory.CreateDirectory(_folder.Combine("media"));
        File.WriteAllText(ConfigPath, Config + "\n");
    }

    private string ConfigPath => _folder.Combine("reclaim.yaml");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Migrate_StateFolderIsAFile_ExitsTwoNamingThePathAndStateConnection()
    {
        File.WriteAllText(_folder.Combine("blocker"), "a file where the state's folder should be");
        File.AppendAllText(ConfigPath, "state:\n  connection: ./blocker/state.db\n");

        var result = await CliRun.RunAsync(TimeProvider.System, "migrate", "-c", ConfigPath);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{ConfigPath}:7:15: state.connection: the state database {_folder.Combine("blocker/state.db")} cannot be written",
            "the error points at state.connection and names the resolved path");
        result.Stderr.Should().Contain("set state.connection to a file in a writable folder");
    }

    [Fact]
    public async Task Migrate_DefaultStateInAReadOnlyConfigFolder_ExitsTwoNamingThePathAndStateConnection()
    {
        var result = await RunReadOnlyAsync(environment: null, "migrate", "-c", ConfigPath);
        if (result is null)
        {
            return;
        }

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{ConfigPath}:0:0: state.connection is not set and the default state database {_folder.Combine(".reclaim/state.db")} cannot be written (")
            .And.Contain("Read-only file system", "the reason is the one the system gave");
        File.Exists(_folder.Combine(".reclaim/state.db")).Should().BeFalse();
    }

    [Fact]
    public async Task Migrate_ReadOnlyConfigFolderAndStateDirectory_CreatesTheStateInStateDirectory()
    {
        using var stateDirectory = new TemporaryFolder("state-directory");

        var result = await RunReadOnlyAsync(new Dictionary<string, string> { [StateConfig.StateDirectoryVariable] = stateDirectory.Path }, "migrate", "-c", ConfigPath);
        if (result is null)
        {
            return;
        }

        result.ExitCode.Should().Be(0, result.ToString());
        File.Exists(stateDirectory.Combine("state.db")).Should().BeTrue("systemd's StateDirectory= (or the container's STATE_DIRECTORY) holds the default state");
    }

    [Fact]
    public void Load_StateDirectorySet_DefaultsTheStateToStateDbThere()
    {
        var config = ConfigLoader.Load(ConfigPath, new Dictionary<string, string?> { [StateConfig.StateDirectoryVariable] = "/var/lib/reclaim:/var/lib/other" });

        config.State.Should().Be(new StateConfig("sqlite", "/var/lib/reclaim/state.db"), "the first folder of systemd's list holds the state");
    }

    [Fact]
    public void Load_StateConnectionGiven_WinsOverStateDirectory()
    {
        File.AppendAllText(ConfigPath, "state:\n  connection: ./own.db\n");

        var config = ConfigLoader.Load(ConfigPath, new Dictionary<string, string?> { [StateConfig.StateDirectoryVariable] = "/var/lib/reclaim" });

        config.State.Connection.Should().Be(_folder.Combine("own.db"));
    }

    [Fact]
    public void Load_NoStateDirectory_DefaultsNextToTheConfig()
    {
        var config = ConfigLoader.Load(ConfigPath, new Dictionary<string, string?>());

        config.State.Connection.Should().Be(_folder.Combine(".reclaim/state.db"));
    }

    /// <summary>
    /// Runs <c>reclaim ARGS</c> as a child process with the test folder mounted read-only. Returns
    /// <see langword="null"/> where user namespaces are unavailable (unless services are required, as in CI).
    /// </summary>
    private async Task<CliResult?> RunReadOnlyAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "reclaim.dll");
        var start = new ProcessStartInfo("unshare", ["--user", "--map-root-user", "--mount", "sh", "-c",
            "mount --bind -o ro \"$1\" \"$1\" || exit 97; shift; exec dotnet \"$@\"", "sh", _folder.Path, cli, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception) when (!TestEnvironment.RequireServices)
        {
            return null;
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var result = new CliResult(process.ExitCode, await stdout, await stderr);
            if ((process.ExitCode == 97 || result.Stderr.StartsWith("unshare:", StringComparison.Ordinal)) && !TestEnvironment.RequireServices)
            {
                return null;
            }

            result.ExitCode.Should().NotBe(97, $"the folder could not be mounted read-only: {result}");
            return result;
        }
    }
}
