using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;

namespace Reclaim.Core.Tests.Planning;

/// <summary>Cost-aware plans: what deleting saves now and later on a provider with a minimum storage duration.</summary>
public sealed class StorageCostsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private const long GiB = 1L << 30;

    private static PolicyPlan Plan(ActionKind action, params int[] ageDays)
    {
        var plan = new PolicyPlan { Policy = "orphan-uploads", Type = PolicyKind.Orphans, Store = "wasabi", Action = action, Layout = "uploads/{asset}/", Definition = "x" };
        foreach (var days in ageDays)
        {
            var modified = Now - TimeSpan.FromDays(days);
            var key = $"uploads/d{days}/video.mp4";
            plan.Groups.Add(new PlannedGroup($"uploads/d{days}/", [$"d{days}"], [new StoredObject(key, GiB, modified, null)], modified, "orphan"));
        }

        plan.Totals.ObjectsScanned = 2500;
        return plan;
    }

    [Fact]
    public void Wasabi_ObjectsTenSixtyAndOneHundredTwentyDaysOld_OnlyTheOldestSavesNow_TheOthersFromDayNinety()
    {
        var plan = Plan(ActionKind.Delete, 10, 60, 120);

        var cost = StorageCosts.Apply(plan, StorageCosts.Providers["wasabi"], Now);

        cost.BytesSavingNow.Should().Be(GiB, "the 120-day-old object is past Wasabi's 90 days");
        cost.BytesSavingLater.Should().Be(2 * GiB, "the 10- and 60-day-old objects are billed until day 90 whatever is done");
        cost.SavingNowPerMonth.Should().Be(0.01m);
        cost.SavesFrom.Should().Be(Now + TimeSpan.FromDays(30), "the 60-day-old object reaches 90 days in 30");
        cost.SavesAllFrom.Should().Be(Now + TimeSpan.FromDays(80), "the 10-day-old one in 80 (an object deleted on day 10 is billed for 80 more)");
        cost.CopyRequests.Should().Be(0);
        cost.TrashMinimumBytes.Should().Be(0, "a delete leaves no trash copy");
        cost.RequestCost.Should().Be(0m, "Wasabi charges no requests");
        plan.Warnings.Should().ContainSingle().Which.Should().Contain("minimum storage duration 90d").And.Contain("saves nothing until");
    }

    [Fact]
    public void Wasabi_Quarantine_WarnsThatEachTrashCopyStartsANewMinimum()
    {
        var plan = Plan(ActionKind.Quarantine, 10, 60, 120);

        var cost = StorageCosts.Apply(plan, StorageCosts.Providers["wasabi"], Now);

        cost.CopyRequests.Should().Be(3);
        cost.TrashMinimumBytes.Should().Be(3 * GiB);
        cost.TrashMinimumCost.Should().Be(Math.Round(Math.Round(3 * 0.0068m, 2) * 3m, 2), "three months of the copies' bytes");
        plan.Warnings.Should().Contain(w => w.Contains("each copy starts a new 90d minimum", StringComparison.Ordinal));
    }

    [Fact]
    public void Aws_NoMinimum_EverythingSavesNow_AndTheSweepsRequestsArePriced()
    {
        var plan = Plan(ActionKind.Quarantine, 10, 60, 120);

        var cost = StorageCosts.Apply(plan, StorageCosts.Providers["aws"], Now);

        cost.BytesSavingNow.Should().Be(3 * GiB);
        cost.BytesSavingLater.Should().Be(0);
        cost.SavesFrom.Should().BeNull();
        cost.ListRequests.Should().Be(3 + 1, "2500 keys scanned in 3 pages, the 3 proposed re-read in 1");
        cost.DeleteRequests.Should().Be(1);
        cost.RequestCost.Should().Be(Math.Round((4 * 0.005m / 1000m) + (3 * 0.005m / 1000m), 2));
        plan.Warnings.Should().BeEmpty("no minimum, so neither a wait nor a trash minimum");
    }

    [Fact]
    public void B2_CopyObject_IsAClassCTransaction_PricedAsAList()
    {
        // Backblaze's transaction pricing lists CopyObject (Put Object Copy) with ListObjectsV2 in class C, $0.004 per 1000.
        var b2 = StorageCosts.Providers["b2"];

        b2.CopyPer1000.Should().Be(0.004m);
        b2.CopyPer1000.Should().Be(b2.ListPer1000);
        b2.FreeDeletes.Should().BeTrue("DeleteObjects is a class A transaction, free");
    }
}
