using System.Text.Json;
using Microsoft.Data.Sqlite;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Install;

/// <summary>
/// The ways to install Reclaim, used as a user would: the self-contained binary <c>scripts/publish.sh</c> makes, the
/// .NET tool package, and the <c>./reclaim</c> launcher linked into a folder on <c>PATH</c>.
/// </summary>
[Collection(BuildOutputsCollection.Name)]
public sealed class InstallTests(PublishedArtifacts artifacts) : IClassFixture<PublishedArtifacts>, IDisposable
{
    private static readonly TimeSpan Quick = TimeSpan.FromMinutes(2);

    private readonly TemporaryFolder _folder = new("install");

    public void Dispose() => _folder.Dispose();

    private string Binary => Path.Combine(artifacts.BinaryFolder, "reclaim");

    /// <summary>Where the binary unpacks its bundled native library (SQLite): a folder of the test's own.</summary>
    private Dictionary<string, string?> BinaryEnvironment => new(StringComparer.Ordinal)
    {
        ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = _folder.Combine("extract"),
    };

    [Fact]
    public async Task PublishedBinary_IsOneFile_AndPrintsTheArtifactsVersion()
    {
        var version = await ExternalProcess.RunAsync(Binary, ["--version"], Quick, _folder.Path, BinaryEnvironment);

        version.ExitCode.Should().Be(0, version.ToString());
        version.Stdout.Trim().Should().StartWith(artifacts.Version);
        Directory.GetFileSystemEntries(artifacts.BinaryFolder).Select(Path.GetFileName).Should().Equal("reclaim");
        File.Exists(Path.Combine(artifacts.Folder, $"reclaim-{artifacts.Version}-{PublishedArtifacts.Rid}.tar.gz")).Should().BeTrue();
    }

    [Fact]
    public async Task PublishedBinary_RunsTheDemo_QuarantinesOrphans_AndKeepsEveryReferencedGroup()
    {
        var dir = _folder.Combine("demo");

        var demo = await ExternalProcess.RunAsync(Binary, ["demo", "--dir", dir, "--format", "json"], Quick, _folder.Path, BinaryEnvironment);

        demo.ExitCode.Should().Be(0, demo.ToString());
        using var result = JsonDocument.Parse(demo.Stdout);
        var done = result.RootElement.GetProperty("objects_done").GetInt64();
        done.Should().BePositive();
        var trash = Path.Combine(dir, "media", ".reclaim-trash");
        Directory.EnumerateFiles(trash, "*", SearchOption.AllDirectories).Should().HaveCount((int)done);
        var referenced = new List<string>();
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(dir, "app.db")};Mode=ReadOnly;Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT org_id, id FROM media_assets";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                referenced.Add(Path.Combine(dir, "media", "orgs", reader.GetString(0), "uploads", reader.GetString(1)));
            }
        }

        referenced.Should().NotBeEmpty().And.OnlyContain(group => Directory.EnumerateFiles(group, "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task ToolPackage_InstallsIntoAToolPath_AndRuns()
    {
        var tools = _folder.Combine("tools");

        var install = await ExternalProcess.RunAsync("dotnet",
            ["tool", "install", "--tool-path", tools, "--add-source", artifacts.Folder, "--version", artifacts.Version, "reclaim"],
            TimeSpan.FromMinutes(10), _folder.Path);
        var version = await ExternalProcess.RunAsync(Path.Combine(tools, "reclaim"), ["--version"], Quick, _folder.Path);

        install.ExitCode.Should().Be(0, install.ToString());
        version.ExitCode.Should().Be(0, version.ToString());
        version.Stdout.Trim().Should().StartWith(artifacts.Version);
    }
}
