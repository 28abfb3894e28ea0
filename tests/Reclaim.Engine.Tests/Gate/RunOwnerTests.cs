using System.Diagnostics;
using System.Globalization;
using Reclaim.Core.State;
using Reclaim.Engine.Gate;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// <see cref="RunOwner"/>: whether a run recorded as running still has a live process. A process of this machine is
/// judged by whether it runs (and is the same process, not a new one given its pid); any other owner by its heartbeat.
/// </summary>
public sealed class RunOwnerTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static RunRecord Running(string? owner, DateTimeOffset? heartbeatAt, DateTimeOffset? startedAt = null) =>
        new("r1", "sweep", startedAt ?? Now.AddHours(-1), null, RunStatus.Running, "test", "p", false, null, Owner: owner, HeartbeatAt: heartbeatAt);

    private static long StartOfThisProcessMs()
    {
        using var self = Process.GetCurrentProcess();
        return new DateTimeOffset(self.StartTime.ToUniversalTime(), TimeSpan.Zero).ToUnixTimeMilliseconds();
    }

    [Fact]
    public void Current_IsThisMachine_ThisProcessId_AndItsStartTime()
    {
        var parts = RunOwner.Current.Split(':');

        parts.Should().HaveCount(3);
        parts[0].Should().Be(Environment.MachineName);
        parts[1].Should().Be(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        long.Parse(parts[2], CultureInfo.InvariantCulture).Should().BeCloseTo(StartOfThisProcessMs(), 2000);
    }

    [Fact]
    public void ARunOfThisProcess_IsAlive_HoweverOldItsHeartbeat()
    {
        RunOwner.IsAlive(Running(RunOwner.Current, Now.AddDays(-3)), Now).Should().BeTrue();
    }

    [Fact]
    public void ARunOfThisMachineWhoseProcessIsGone_IsDead_EvenWithAFreshHeartbeat()
    {
        // No pid reaches int.MaxValue.
        var owner = $"{Environment.MachineName}:{int.MaxValue.ToString(CultureInfo.InvariantCulture)}:1780000000000";

        RunOwner.IsAlive(Running(owner, Now), Now).Should().BeFalse("a process of this machine is judged by whether it runs, not by its heartbeat");
    }

    [Fact]
    public void ARunOfThisMachineWhosePidNowBelongsToAnotherProcess_IsDead()
    {
        // This process's pid, but a start time an hour earlier: the run's process ended and the pid was handed on.
        var owner = $"{Environment.MachineName}:{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}:{(StartOfThisProcessMs() - 3_600_000).ToString(CultureInfo.InvariantCulture)}";

        RunOwner.IsAlive(Running(owner, Now), Now).Should().BeFalse();
    }

    [Fact]
    public void ARunOfThisProcess_ReadWithItsStartTimeASecondOff_IsStillAlive()
    {
        var owner = $"{Environment.MachineName}:{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}:{(StartOfThisProcessMs() + 1000).ToString(CultureInfo.InvariantCulture)}";

        RunOwner.IsAlive(Running(owner, Now.AddDays(-1)), Now).Should().BeTrue("two reads of one process's start time may differ by clock ticks");
    }

    [Theory]
    [InlineData("elsewhere:4242:1780000000000")]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("elsewhere")]
    [InlineData("elsewhere:4242")]
    [InlineData("a:b:c:d")]
    public void ARunOfAnotherMachine_OrOfAnUnknownOwner_IsAliveWhileItsHeartbeatIsWithinTheLease(string? owner)
    {
        RunOwner.IsAlive(Running(owner, Now - RunOwner.Lease), Now).Should().BeTrue("a heartbeat exactly one lease old is still within it");
        RunOwner.IsAlive(Running(owner, Now - RunOwner.Lease - TimeSpan.FromMilliseconds(1)), Now).Should().BeFalse();
    }

    [Theory]
    [InlineData("{host}:+{pid}:{start}")]
    [InlineData("{host}:{pid}:x{start}")]
    [InlineData("{host}:{pid}:-{start}")]
    public void AnOwnerOfThisMachineThatCannotBeRead_IsJudgedByItsHeartbeat(string pattern)
    {
        var owner = pattern.Replace("{host}", Environment.MachineName, StringComparison.Ordinal)
            .Replace("{pid}", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{start}", StartOfThisProcessMs().ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

        RunOwner.IsAlive(Running(owner, Now), Now).Should().BeTrue();
        RunOwner.IsAlive(Running(owner, Now.AddHours(-1)), Now).Should().BeFalse("it is not taken for this process");
    }

    [Fact]
    public void ARunWithNoHeartbeatRecorded_IsJudgedByItsStart()
    {
        RunOwner.IsAlive(Running("elsewhere:1:2", null, startedAt: Now.AddMinutes(-1)), Now).Should().BeTrue();
        RunOwner.IsAlive(Running("elsewhere:1:2", null, startedAt: Now.AddMinutes(-3)), Now).Should().BeFalse();
        RunOwner.IsAlive(Running("elsewhere:1:2", Now, startedAt: Now.AddMinutes(-3)), Now).Should().BeTrue("a heartbeat, when there is one, is the later sign of life");
    }

    [Fact]
    public void IsAlive_WithoutARun_Throws()
    {
        var act = () => RunOwner.IsAlive(null!, Now);

        act.Should().Throw<ArgumentNullException>();
    }
}
