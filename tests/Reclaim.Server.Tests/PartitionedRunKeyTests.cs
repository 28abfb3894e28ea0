using Quartz;
using Reclaim.Server.Scheduling;

namespace Reclaim.Server.Tests;

/// <summary>
/// The key of a partitioned schedule entry's run: what every replica computes alike from its config and Quartz's
/// scheduled fire time, so that they all join one run per firing, and no two firings share a run.
/// </summary>
public sealed class PartitionedRunKeyTests
{
    private static readonly TimeZoneInfo Tbilisi = TimeZoneInfo.FindSystemTimeZoneById("Asia/Tbilisi");

    [Fact]
    public void RunKey_ReplicasLookingAtDifferentMoments_ComputeTheSameKeyForTheSameFiring()
    {
        // Arrange: Quartz's own parser, as the scheduler fires the entry ("0 3 * * *" in Tbilisi, UTC+4).
        var cron = TriggerBuilder.Create()
            .WithCronSchedule(CronExpressions.ToQuartz("0 3 * * *"), c => c.InTimeZone(Tbilisi))
            .StartAt(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
            .Build();
        var seenByA = cron.GetFireTimeAfter(new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero))!.Value;
        var seenByB = cron.GetFireTimeAfter(new DateTimeOffset(2026, 12, 2, 22, 59, 59, TimeSpan.Zero))!.Value;
        var next = cron.GetFireTimeAfter(seenByA)!.Value;

        // Act
        var a = ScheduledRunJob.RunKey(["orphan-uploads", "expire-clips"], seenByA);
        var b = ScheduledRunJob.RunKey(["orphan-uploads", "expire-clips"], seenByB);

        // Assert: one key for the firing, in UTC, and another for the next one.
        a.Should().Be("schedule:orphan-uploads,expire-clips@2026-12-02T23:00:00Z").And.Be(b);
        ScheduledRunJob.RunKey(["orphan-uploads", "expire-clips"], next).Should().Be("schedule:orphan-uploads,expire-clips@2026-12-03T23:00:00Z");
    }

    [Fact]
    public void RunKey_IsTheScheduledTimeInUtc_WhateverOffsetItIsGivenIn()
    {
        var utc = new DateTimeOffset(2026, 12, 2, 23, 0, 0, TimeSpan.Zero);

        ScheduledRunJob.RunKey(["p"], utc.ToOffset(TimeSpan.FromHours(4))).Should().Be(ScheduledRunJob.RunKey(["p"], utc));
        ScheduledRunJob.RunKey(["p"], utc.AddSeconds(1)).Should().NotBe(ScheduledRunJob.RunKey(["p"], utc), "each firing is its own run");
        ScheduledRunJob.RunKey(["p", "q"], utc).Should().NotBe(ScheduledRunJob.RunKey(["p"], utc), "two entries at the same time are two runs");
    }

    [Fact]
    public void RunKey_ManyLongPolicyNames_IsHashed_AndStaysWithin200Characters()
    {
        var policies = Enumerable.Range(0, 20).Select(i => $"a-rather-long-policy-name-{i}").ToList();
        var at = new DateTimeOffset(2026, 12, 2, 23, 0, 0, TimeSpan.Zero);

        var key = ScheduledRunJob.RunKey(policies, at);

        key.Length.Should().BeLessThanOrEqualTo(200);
        key.Should().MatchRegex("^schedule:[0-9a-f]{16}@2026-12-02T23:00:00Z$");
        ScheduledRunJob.RunKey([.. policies.Take(19)], at).Should().NotBe(key);
    }
}
