using Reclaim.Core.State;
using Reclaim.Engine.Gate;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// <see cref="NullState"/>, the state of a dry run: it holds no run and no action, settles nothing, and refuses to
/// record an action (a gate that tried would be acting in a dry run).
/// </summary>
public sealed class NullStateTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ADryRunsState_HoldsNothing_AndSettlesNothing()
    {
        var state = NullState.Instance;
        await state.StartRunAsync(new RunRecord("r1", "sweep", Now, null, RunStatus.Running, "test", "p", true, null), CancellationToken.None);

        (await state.GetRunAsync("r1", CancellationToken.None)).Should().BeNull();
        (await state.ListRunsAsync(10, CancellationToken.None)).Should().BeEmpty();
        (await state.ListActionsAsync("r1", CancellationToken.None).CollectAsync()).Should().BeEmpty();
        (await state.UnsettledRunsAsync(CancellationToken.None)).Should().BeEmpty();
        (await state.InterruptRunAsync("r1", RunStatus.Running, Now, "gone", CancellationToken.None)).Should().BeFalse("there is no run to mark");
    }

    [Fact]
    public async Task RecordingAnActionInADryRun_IsRefused()
    {
        var action = new ActionRecord(0, "r1", "p", "media", ActionKind.Delete, "k", 1, "k", "orphan", null, null, ActionOutcome.Pending, null, Now);

        var intent = () => NullState.Instance.RecordIntentAsync([action], CancellationToken.None);
        var outcome = () => NullState.Instance.RecordOutcomesAsync([SettledAction.Done(1)], Now, CancellationToken.None);

        (await intent.Should().ThrowAsync<InvalidOperationException>()).WithMessage("a dry run records no action");
        (await outcome.Should().ThrowAsync<InvalidOperationException>()).WithMessage("a dry run records no action");
    }
}
