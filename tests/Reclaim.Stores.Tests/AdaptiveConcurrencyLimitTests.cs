using Reclaim.Stores.S3;

namespace Reclaim.Stores.Tests;

/// <summary>The AIMD limit on requests in flight, driven step by step (no clock involved).</summary>
public sealed class AdaptiveConcurrencyLimitTests
{
    [Fact]
    public async Task Limit_StartsAtOne_AndDoublesPerRoundUntilTheFirstCongestion()
    {
        var limit = new AdaptiveConcurrencyLimit(maxLimit: 16);
        limit.Limit.Should().Be(1);

        var seen = new List<int>();
        for (var round = 0; round < 5; round++)
        {
            seen.Add(limit.Limit);
            await SucceedRoundAsync(limit);
        }

        seen.Should().Equal(1, 2, 4, 8, 16);
        limit.Limit.Should().Be(16, "it never passes its ceiling");
    }

    [Fact]
    public async Task Congestion_HalvesTheLimitOnce_ForEveryRequestOfTheSameRound()
    {
        var limit = new AdaptiveConcurrencyLimit(maxLimit: 8);
        for (var round = 0; round < 3; round++)
        {
            await SucceedRoundAsync(limit);
        }

        limit.Limit.Should().Be(8);
        var leases = new List<AdaptiveConcurrencyLimit.Lease>();
        for (var i = 0; i < 8; i++)
        {
            leases.Add(await limit.AcquireAsync(default));
        }

        // All eight were in flight when the service said SlowDown: one halving, not eight.
        foreach (var lease in leases)
        {
            lease.Congested();
            lease.Dispose();
        }

        limit.Limit.Should().Be(4);
        limit.Decreases.Should().Be(1);

        // A request started after the decrease that is throttled again halves it again.
        using (var later = await limit.AcquireAsync(default))
        {
            later.Congested();
        }

        limit.Limit.Should().Be(2);
        limit.LowestLimitAfterDecrease.Should().Be(2);
    }

    [Fact]
    public async Task AfterCongestion_TheLimitGrowsByOnePerRound()
    {
        var limit = new AdaptiveConcurrencyLimit(maxLimit: 8);
        await SucceedRoundAsync(limit);
        await SucceedRoundAsync(limit);
        using (var throttled = await limit.AcquireAsync(default))
        {
            throttled.Congested();
        }

        limit.Limit.Should().Be(2);

        await SucceedRoundAsync(limit);
        limit.Limit.Should().Be(2, "two successes at 2 add 1/2 + 1/2.5: not yet a whole step");
        await SucceedRoundAsync(limit);
        limit.Limit.Should().Be(3);
    }

    [Fact]
    public async Task Acquire_PastTheLimit_WaitsUntilAPlaceIsReleased_InArrivalOrder()
    {
        var limit = new AdaptiveConcurrencyLimit(maxLimit: 4);
        var first = await limit.AcquireAsync(default);
        var second = limit.AcquireAsync(default).AsTask();
        var third = limit.AcquireAsync(default).AsTask();

        second.IsCompleted.Should().BeFalse("the limit is 1 and one request is in flight");
        first.Succeeded();
        first.Dispose();

        // The success raised the limit to 2 and freed a place: both waiters may go, the earlier one first.
        (await second.WaitAsync(TimeSpan.FromSeconds(10))).Dispose();
        (await third.WaitAsync(TimeSpan.FromSeconds(10))).Dispose();
        limit.PeakInFlight.Should().Be(2);
    }

    [Fact]
    public async Task Acquire_Cancelled_GivesUpItsTurnAndTakesNoPlace()
    {
        var limit = new AdaptiveConcurrencyLimit(maxLimit: 1);
        var held = await limit.AcquireAsync(default);
        using var cancel = new CancellationTokenSource();
        var waiting = limit.AcquireAsync(cancel.Token).AsTask();

        await cancel.CancelAsync();

        await FluentActions.Awaiting(() => waiting).Should().ThrowAsync<OperationCanceledException>();
        held.Dispose();
        using var next = await limit.AcquireAsync(default).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        limit.PeakInFlight.Should().Be(1);
    }

    /// <summary>Runs one round: as many requests at once as the limit allows, each succeeding.</summary>
    private static async Task SucceedRoundAsync(AdaptiveConcurrencyLimit limit)
    {
        var count = limit.Limit;
        var leases = new List<AdaptiveConcurrencyLimit.Lease>();
        for (var i = 0; i < count; i++)
        {
            leases.Add(await limit.AcquireAsync(default));
        }

        foreach (var lease in leases)
        {
            lease.Succeeded();
            lease.Dispose();
        }
    }
}
