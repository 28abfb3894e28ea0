using System.Runtime.InteropServices;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Install;

/// <summary>
/// The release artifacts of <c>scripts/publish.sh</c> for this machine's architecture, made once per test run: the
/// folder <c>RECLAIM_TEST_PUBLISHED</c> names when it is set (a CI step that published already), or else a fresh
/// publish into a temporary folder (minutes: the self-contained file is compiled ReadyToRun).
/// </summary>
public sealed class PublishedArtifacts : IAsyncLifetime
{
    /// <summary>The variable naming a folder that holds <c>publish.sh</c>'s output already.</summary>
    public const string Variable = "RECLAIM_TEST_PUBLISHED";

    private TemporaryFolder? _own;

    /// <summary>The folder holding the artifacts.</summary>
    public string Folder { get; private set; } = string.Empty;

    /// <summary>The runtime identifier of this machine, the one whose binary is tested.</summary>
    public static string Rid => RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";

    /// <summary>The folder of the self-contained binary for <see cref="Rid"/> (<c>reclaim-VERSION-RID/</c>).</summary>
    public string BinaryFolder => Directory.GetDirectories(Folder, $"reclaim-*-{Rid}").Should().ContainSingle().Which;

    /// <summary>The tool package (<c>reclaim.VERSION.nupkg</c>).</summary>
    public string ToolPackage => Directory.GetFiles(Folder, "reclaim.*.nupkg").Should().ContainSingle().Which;

    /// <summary>The version the artifacts carry, from the tool package's name (<c>1.0.0</c>).</summary>
    public string Version => Path.GetFileNameWithoutExtension(ToolPackage)["reclaim.".Length..];

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        if (TestEnvironment.Get(Variable) is { } given)
        {
            Folder = given;
            return;
        }

        _own = new TemporaryFolder("publish");
        Folder = _own.Path;
        var script = Path.Combine(TestEnvironment.RepositoryRoot, "scripts", "publish.sh");
        var publish = await ExternalProcess.RunAsync("bash", [script, "--rid", Rid, "--out", Folder], TimeSpan.FromMinutes(45));
        publish.ExitCode.Should().Be(0, publish.ToString());
    }

    /// <inheritdoc/>
    public Task DisposeAsync()
    {
        _own?.Dispose();
        return Task.CompletedTask;
    }
}
