using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Install;

/// <summary>The checkout's <c>./reclaim</c> launcher, run through links from other folders, as <c>PATH</c> would.</summary>
[Collection(BuildOutputsCollection.Name)]
public sealed class LauncherTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("launcher");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Launcher_LinkedIntoAnotherFolder_RunsTheCheckoutsBuild()
    {
        // An absolute link in one folder, and a relative link to that link in another: both resolve to the checkout.
        var bin = Directory.CreateDirectory(_folder.Combine("bin")).FullName;
        var other = Directory.CreateDirectory(_folder.Combine("other")).FullName;
        File.CreateSymbolicLink(Path.Combine(bin, "reclaim"), Path.Combine(TestEnvironment.RepositoryRoot, "reclaim"));
        File.CreateSymbolicLink(Path.Combine(other, "rc"), "../bin/reclaim");

        // The first call may build the checkout's CLI (minutes); the second starts it at once.
        var first = await ExternalProcess.RunAsync(Path.Combine(other, "rc"), ["--version"], TimeSpan.FromMinutes(40), _folder.Path);
        var second = await ExternalProcess.RunAsync(Path.Combine(bin, "reclaim"), ["--version"], TimeSpan.FromMinutes(5), _folder.Path);

        first.ExitCode.Should().Be(0, first.ToString());
        second.ExitCode.Should().Be(0, second.ToString());
        first.Stdout.Trim().Should().MatchRegex(@"^\d+\.\d+\.\d+").And.Be(second.Stdout.Trim());
        Directory.Exists(Path.Combine(bin, ".build")).Should().BeFalse("the build belongs in the checkout, not beside the link");
    }
}
