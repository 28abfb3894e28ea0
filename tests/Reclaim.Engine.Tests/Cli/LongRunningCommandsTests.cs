using Reclaim.Cli;

namespace Reclaim.Engine.Tests.Cli;

public sealed class LongRunningCommandsTests
{
    [Theory]
    [InlineData("serve")]
    [InlineData("worker")]
    [InlineData("-v", "serve", "--urls", "http://127.0.0.1:8080")]
    [InlineData("-c", "serve", "worker")]
    [InlineData("--config", "plan", "serve")]
    [InlineData("--format", "json", "worker", "--once")]
    [InlineData("--config=reclaim.yaml", "serve")]
    public void ServeAndWorker_AreLongRunning(params string[] args) =>
        LongRunningCommands.IsLongRunning(args).Should().BeTrue(string.Join(' ', args));

    [Theory]
    [InlineData]
    [InlineData("plan")]
    [InlineData("sweep", "--yes")]
    [InlineData("-c", "serve")]
    [InlineData("--format", "worker", "plan")]
    [InlineData("token", "create", "--role", "admin")]
    [InlineData("plan", "serve")]
    [InlineData("--help")]
    public void OtherCommands_AreNot(params string[] args) =>
        LongRunningCommands.IsLongRunning(args).Should().BeFalse(string.Join(' ', args));
}
