using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>
/// The shipped deployment files can run Reclaim: the systemd units mount the system read-only (ProtectSystem=strict)
/// and the container mounts the config read-only, so each must give the default SQLite state a writable folder
/// (STATE_DIRECTORY, which StateDirectory= sets); the units wait for readiness and feed a watchdog.
/// </summary>
public sealed class DeployFilesTests
{
    [Theory]
    [InlineData("reclaim.service", "serve")]
    [InlineData("reclaim-worker.service", "worker")]
    public void SystemdUnit_IsNotifyWithWatchdog_AndHasAStateDirectory(string unit, string command)
    {
        var lines = Settings(File.ReadAllLines(Path.Combine(TestEnvironment.RepositoryRoot, "deploy", unit)));

        lines.Single(l => l.Key == "ExecStart").Value.Should().Contain($" {command} ");
        lines.Should().Contain(("Type", "notify"), "reclaim {0} sends READY=1 through Microsoft.Extensions.Hosting.Systemd", command);
        lines.Should().Contain(l => l.Key == "WatchdogSec" && int.Parse(l.Value, System.Globalization.CultureInfo.InvariantCulture) >= 10);
        lines.Should().Contain(("ProtectSystem", "strict"));
        lines.Should().Contain(("StateDirectory", "reclaim"), "under ProtectSystem=strict the state needs /var/lib/reclaim, which StateDirectory= creates and passes as STATE_DIRECTORY");
    }

    [Fact]
    public void Containerfile_PutsTheStateOnItsOwnVolume()
    {
        var lines = File.ReadAllLines(Path.Combine(TestEnvironment.RepositoryRoot, "deploy", "Containerfile")).Select(l => l.Trim()).ToList();

        lines.Should().Contain("ENV STATE_DIRECTORY=/var/lib/reclaim", "the config is mounted read-only; the default state goes to STATE_DIRECTORY");
        lines.Should().Contain("VOLUME /var/lib/reclaim");
    }

    private static List<(string Key, string Value)> Settings(IEnumerable<string> lines) =>
        [.. lines.Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#' && l[0] != '[' && l.Contains('=', StringComparison.Ordinal))
            .Select(l => (l[..l.IndexOf('=', StringComparison.Ordinal)], l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]))];
}
