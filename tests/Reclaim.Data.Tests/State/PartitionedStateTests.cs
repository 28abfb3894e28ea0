using Reclaim.Core.State;
using Reclaim.Data.State;
using Reclaim.Testing;

namespace Reclaim.Data.Tests.State;

/// <summary>
/// The state of a partitioned run on SQLite and PostgreSQL: ranges claimed once each by participants claiming at once,
/// own ranges first, a range whose lease ran out taken over and its old owner fenced off, the verdict recorded once
/// and only after every range is planned, and no range claimed to apply before the verdict passed.
/// </summary>
public sealed class PartitionedStateTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 3, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    /// <summary>A migrated state database of the provider, dropped with its folder when disposed.</summary>
    private sealed class TestState(SqlStateStore state, PostgresDatabase? database, TemporaryFolder folder) : IAsyncDisposable
    {
        public SqlStateStore State => state;

        public static async Task<TestState> OpenAsync(string provider)
        {
            var folder = new TemporaryFolder("reclaim-partitions");
            var database = provider == "postgres" ? await PostgresDatabase.CreateAsync() : null;
            var state = database is null ? SqlStateStore.Sqlite(folder.Combine("state.db")) : SqlStateStore.Postgres(database.ConnectionString);
            await state.MigrateAsync(CancellationToken.None);
            return new TestState(state, database, folder);
        }

        public async ValueTask DisposeAsync()
        {
            await state.DisposeAsync();
            if (database is not null)
            {
                await database.DisposeAsync();
            }

            folder.Dispose();
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task ClaimRange_FourParticipantsClaimingAtOnce_EachRangeIsClaimedOnce_OwnRangesFirst(string provider)
    {
        await using var test = await TestState.OpenAsync(provider);
        var state = test.State;
        await state.JoinRunAsync("job-1", "d", 16, Now, CancellationToken.None);

        var claims = await Task.WhenAll(Enumerable.Range(0, 4).Select(participant => Task.Run(async () =>
        {
            var mine = new List<int>();
            while (await state.ClaimRangeAsync("job-1", RangePhase.Pending, participant, 4, $"p{participant}", Now, Now + Lease, CancellationToken.None) is { } claim)
            {
                mine.Add(claim.Index);
            }

            return mine;
        })));

        claims.SelectMany(c => c).Should().BeEquivalentTo(Enumerable.Range(0, 16), "every range is claimed, and by one participant only");
        for (var participant = 0; participant < 4; participant++)
        {
            var own = claims[participant].TakeWhile(i => i % 4 == participant).ToList();
            claims[participant].Skip(own.Count).Should().NotContain(i => i % 4 == participant, $"participant {participant} claims its own ranges before any other");
        }

        (await state.ClaimRangeAsync("job-1", RangePhase.Pending, 0, 4, "p0", Now, Now + Lease, CancellationToken.None)).Should().BeNull("every lease is live");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task ClaimRange_LeaseRanOut_AnotherTakesItOver_AndTheOldOwnerCanRecordNothing(string provider)
    {
        await using var test = await TestState.OpenAsync(provider);
        var state = test.State;
        await state.JoinRunAsync("job-2", "d", 2, Now, CancellationToken.None);
        var first = await state.ClaimRangeAsync("job-2", RangePhase.Pending, 0, 2, "dead", Now, Now + Lease, CancellationToken.None);
        first!.Index.Should().Be(0);
        first.TakenOver.Should().BeFalse();
        (await state.ClaimRangeAsync("job-2", RangePhase.Pending, 1, 2, "alive", Now, Now + Lease, CancellationToken.None))!.Index.Should().Be(1);
        (await state.RecordPlannedAsync("job-2", 1, "alive", "{}", "{}", Now, CancellationToken.None)).Should().BeTrue();
        (await state.ClaimRangeAsync("job-2", RangePhase.Pending, 1, 2, "alive", Now.AddMinutes(1), Now.AddMinutes(3), CancellationToken.None)).Should().BeNull("range 0's lease is live");

        var later = Now + Lease + TimeSpan.FromSeconds(1);
        var takeover = await state.ClaimRangeAsync("job-2", RangePhase.Pending, 1, 2, "alive", later, later + Lease, CancellationToken.None);

        takeover!.Index.Should().Be(0);
        takeover.TakenOver.Should().BeTrue();
        (await state.RecordPlannedAsync("job-2", 0, "dead", "{}", "{\"by\":\"dead\"}", later, CancellationToken.None)).Should().BeFalse("its lease was taken over");
        (await state.RenewLeasesAsync("job-2", "dead", later + Lease, CancellationToken.None)).Should().Be(0);
        (await state.RecordPlannedAsync("job-2", 0, "alive", "{}", "{}", later, CancellationToken.None)).Should().BeTrue();
        var ranges = await state.ListRangesAsync("job-2", CancellationToken.None);
        ranges.Should().OnlyContain(r => r.Phase == RangePhase.Planned && r.PlannedBy == "alive" && r.Owner == null);
        ranges[0].Takeovers.Should().Be(1);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task RecordVerdict_OnlyOnceEveryRangeIsPlanned_AndOnlyOnce_AndApplyClaimsWaitForAPassingOne(string provider)
    {
        await using var test = await TestState.OpenAsync(provider);
        var state = test.State;
        (await state.JoinRunAsync("job-3", "def-a", 3, Now, CancellationToken.None)).Definition.Should().Be("def-a");
        (await state.JoinRunAsync("job-3", "def-b", 3, Now, CancellationToken.None)).Definition.Should().Be("def-a", "the first participant's run is the one kept");
        for (var i = 0; i < 2; i++)
        {
            var claim = await state.ClaimRangeAsync("job-3", RangePhase.Pending, 0, 1, "p", Now, Now + Lease, CancellationToken.None);
            await state.RecordPlannedAsync("job-3", claim!.Index, "p", "{}", $"plan {claim.Index}", Now, CancellationToken.None);
        }

        (await state.RecordVerdictAsync("job-3", true, "{}", "p", Now, CancellationToken.None)).Should().BeFalse("range 2 is not planned yet");
        (await state.ClaimRangeAsync("job-3", RangePhase.Planned, 0, 1, "p", Now, Now + Lease, CancellationToken.None)).Should().BeNull("no verdict yet");
        var last = await state.ClaimRangeAsync("job-3", RangePhase.Pending, 0, 1, "p", Now, Now + Lease, CancellationToken.None);
        await state.RecordPlannedAsync("job-3", last!.Index, "p", "{}", "plan 2", Now, CancellationToken.None);

        var recorded = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => state.RecordVerdictAsync("job-3", true, $"by {i}", $"p{i}", Now, CancellationToken.None)));

        recorded.Count(r => r).Should().Be(1, "one participant records the verdict");
        var run = await state.GetPartitionedRunAsync("job-3", CancellationToken.None);
        run!.VerdictPassed.Should().BeTrue();
        var apply = await state.ClaimRangeAsync("job-3", RangePhase.Planned, 0, 1, "p", Now, Now + Lease, CancellationToken.None);
        apply!.Plan.Should().Be($"plan {apply.Index}");
        (await state.RecordAppliedAsync("job-3", apply.Index, "other", "run-x", Now, CancellationToken.None)).Should().BeFalse("only the owner records it");
        (await state.RecordAppliedAsync("job-3", apply.Index, "p", "run-1", Now, CancellationToken.None)).Should().BeTrue();
        (await state.RecordAppliedAsync("job-3", apply.Index, "p", "run-1", Now, CancellationToken.None)).Should().BeFalse("a range is applied once");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task ClaimRange_RefusedRun_NoRangeIsClaimedToApply(string provider)
    {
        await using var test = await TestState.OpenAsync(provider);
        var state = test.State;
        await state.JoinRunAsync("job-4", "d", 1, Now, CancellationToken.None);
        await state.ClaimRangeAsync("job-4", RangePhase.Pending, 0, 1, "p", Now, Now + Lease, CancellationToken.None);
        await state.RecordPlannedAsync("job-4", 0, "p", "{}", "plan", Now, CancellationToken.None);
        (await state.RecordVerdictAsync("job-4", false, "{}", "p", Now, CancellationToken.None)).Should().BeTrue();

        (await state.ClaimRangeAsync("job-4", RangePhase.Planned, 0, 1, "p", Now.AddHours(1), Now.AddHours(2), CancellationToken.None)).Should().BeNull();
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task ListOpenRuns_ListsRunsToPlanAndRunsToApply_NotPlanOnlyRefusedFinishedOrOldOnes(string provider)
    {
        await using var test = await TestState.OpenAsync(provider);
        var state = test.State;
        async Task PlanAllAsync(string key)
        {
            while (await state.ClaimRangeAsync(key, RangePhase.Pending, 0, 1, "p", Now, Now + Lease, CancellationToken.None) is { } claim)
            {
                (await state.RecordPlannedAsync(key, claim.Index, "p", "{}", "{}", Now, CancellationToken.None)).Should().BeTrue();
            }
        }

        foreach (var key in new[] { "pending", "plan-only", "to-apply", "refused", "applied", "old", "unrecorded" })
        {
            await state.JoinRunAsync(key, "d", 2, key == "old" ? Now.AddDays(-1) : Now, CancellationToken.None);
            if (key != "unrecorded")
            {
                await state.RecordRequestAsync(key, ["a", "b"], force: key == "to-apply", "schedule:0", apply: key is not ("plan-only" or "pending"), CancellationToken.None);
            }
        }

        foreach (var key in new[] { "plan-only", "to-apply", "refused", "applied" })
        {
            await PlanAllAsync(key);
            (await state.RecordVerdictAsync(key, key != "refused", "{}", "p", Now, CancellationToken.None)).Should().BeTrue();
        }

        while (await state.ClaimRangeAsync("applied", RangePhase.Planned, 0, 1, "p", Now, Now + Lease, CancellationToken.None) is { } claim)
        {
            (await state.RecordAppliedAsync("applied", claim.Index, "p", $"run-{claim.Index}", Now, CancellationToken.None)).Should().BeTrue();
        }

        var open = await state.ListOpenRunsAsync(Now.AddHours(-6), CancellationToken.None);

        open.Select(r => r.RunKey).Should().Equal("pending", "to-apply");
        var toApply = open.Single(r => r.RunKey == "to-apply");
        toApply.Policies.Should().Equal("a", "b");
        toApply.Force.Should().BeTrue();
        toApply.Actor.Should().Be("schedule:0");
        toApply.Apply.Should().BeTrue();
        open.Single(r => r.RunKey == "pending").Apply.Should().BeFalse();
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task RecordRequest_KeepsTheFirstRequest_AndApplyOnceAskedStaysAsked(string provider)
    {
        await using var test = await TestState.OpenAsync(provider);
        var state = test.State;
        await state.JoinRunAsync("job", "d", 1, Now, CancellationToken.None);

        await state.RecordRequestAsync("job", ["first"], force: false, "cli:a", apply: false, CancellationToken.None);
        await state.RecordRequestAsync("job", ["second"], force: true, "cli:b", apply: true, CancellationToken.None);
        await state.RecordRequestAsync("job", ["third"], force: true, "cli:c", apply: false, CancellationToken.None);

        var run = await state.GetPartitionedRunAsync("job", CancellationToken.None);
        run!.Policies.Should().Equal("first");
        run.Force.Should().BeFalse();
        run.Actor.Should().Be("cli:a");
        run.Apply.Should().BeTrue("a sweep asked for it, and a later plan does not take that back");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task RecordSummary_OnlyOnceEveryRangeIsApplied_AndOnlyOnce(string provider)
    {
        await using var test = await TestState.OpenAsync(provider);
        var state = test.State;
        await state.JoinRunAsync("job", "d", 2, Now, CancellationToken.None);
        while (await state.ClaimRangeAsync("job", RangePhase.Pending, 0, 1, "p", Now, Now + Lease, CancellationToken.None) is { } claim)
        {
            await state.RecordPlannedAsync("job", claim.Index, "p", "{}", "{}", Now, CancellationToken.None);
        }

        await state.RecordVerdictAsync("job", true, "{}", "p", Now, CancellationToken.None);
        var first = await state.ClaimRangeAsync("job", RangePhase.Planned, 0, 1, "p", Now, Now + Lease, CancellationToken.None);
        await state.RecordAppliedAsync("job", first!.Index, "p", "run-0", Now, CancellationToken.None);
        (await state.RecordSummaryAsync("job", "early", CancellationToken.None)).Should().BeFalse("a range is still to apply");

        var second = await state.ClaimRangeAsync("job", RangePhase.Planned, 0, 1, "p", Now, Now + Lease, CancellationToken.None);
        await state.RecordAppliedAsync("job", second!.Index, "p", "run-1", Now, CancellationToken.None);
        var writes = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() => state.RecordSummaryAsync("job", $"summary-{i}", CancellationToken.None))));

        writes.Count(w => w).Should().Be(1, "one participant's summary is recorded");
        (await state.GetPartitionedRunAsync("job", CancellationToken.None))!.SummaryRunId.Should().Be($"summary-{Array.IndexOf(writes, true)}");
    }
}
