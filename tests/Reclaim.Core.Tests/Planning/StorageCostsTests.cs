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
    [Fact]
    public void ProviderTable_HasTheDocumentedFigures()
    {
        var p = StorageCosts.Providers;

        p.Keys.Should().BeEquivalentTo("aws", "wasabi", "r2", "b2", "generic");
        p["aws"].Should().Be(new ProviderCosts("aws", 0.023m, TimeSpan.Zero, 0.005m, 0.005m, 0m));
        p["wasabi"].Should().Be(new ProviderCosts("wasabi", 0.0068m, TimeSpan.FromDays(90), 0m, 0m, 0m));
        p["r2"].Should().Be(new ProviderCosts("r2", 0.015m, TimeSpan.Zero, 0.0045m, 0.0045m, 0m, ObjectTagging: false));
        p["b2"].Should().Be(new ProviderCosts("b2", 0.006m, TimeSpan.Zero, 0.004m, 0.004m, 0m, ObjectTagging: false));
        p["generic"].Should().Be(new ProviderCosts("generic", null, TimeSpan.Zero, 0m, 0m, 0m));
        p.Values.Where(c => c.ObjectTagging).Select(c => c.Provider).Should().BeEquivalentTo("aws", "wasabi", "generic");
        p.ContainsKey("AWS").Should().BeFalse("provider names compare ordinal");
        new ProviderCosts("x", 1m, TimeSpan.Zero, 0m, 0m, 0.001m).FreeDeletes.Should().BeFalse();
    }

    [Fact]
    public void AnObjectExactlyAtTheMinimum_SavesNow_OneSecondYounger_SavesFromTheNextSecond()
    {
        var plan = new PolicyPlan { Policy = "p", Type = PolicyKind.Orphans, Store = "wasabi", Action = ActionKind.Delete, Layout = "u/{f}", Definition = "x" };
        var atMinimum = Now - TimeSpan.FromDays(90);
        var younger = atMinimum + TimeSpan.FromSeconds(1);
        plan.Groups.Add(new PlannedGroup("u/a", ["a"], [new StoredObject("u/a", 100, atMinimum)], atMinimum, "orphan"));
        plan.Groups.Add(new PlannedGroup("u/b", ["b"], [new StoredObject("u/b", 7, younger)], younger, "orphan"));

        var cost = StorageCosts.Apply(plan, StorageCosts.Providers["wasabi"], Now);

        (cost.BytesSavingNow, cost.BytesSavingLater).Should().Be((100L, 7L));
        cost.SavesFrom.Should().Be(Now + TimeSpan.FromSeconds(1));
        cost.SavesAllFrom.Should().Be(Now + TimeSpan.FromSeconds(1));
        cost.MinStorageDurationSeconds.Should().Be(7_776_000);
        cost.MinStorageDuration.Should().Be(TimeSpan.FromDays(90));
    }

    [Fact]
    public void YoungerObjectsInAnyOrder_SaveFromTheEarliestDay_AllFromTheLatest()
    {
        var plan = Plan(ActionKind.Delete, 60, 10, 80, 30);

        var cost = StorageCosts.Apply(plan, StorageCosts.Providers["wasabi"], Now);

        cost.SavesFrom.Should().Be(Now + TimeSpan.FromDays(10), "the 80-day-old object reaches 90 days first");
        cost.SavesAllFrom.Should().Be(Now + TimeSpan.FromDays(80), "the 10-day-old one last");
        plan.Warnings.Should().ContainSingle().Which.Should().Be(
            $"{4 * GiB} bytes are of objects younger than wasabi's minimum storage duration 90d: deleting them saves nothing until they reach it (from 2026-12-11 to 2027-02-19); 0 bytes save now");
    }

    [Fact]
    public void ARecordsPolicysRowObjects_AreCosted_AsAGroupsAre()
    {
        var plan = new PolicyPlan { Policy = "p", Type = PolicyKind.Records, Store = "aws", Action = ActionKind.Delete, Layout = "", Definition = "x" };
        plan.Rows.Add(new PlannedRow(new Dictionary<string, string?>(StringComparer.Ordinal) { ["id"] = "1" }, ["a", "b"], [],
            [new StoredObject("a", 3 * GiB, Now), new StoredObject("b", GiB, Now)], "selected"));

        var cost = StorageCosts.Apply(plan, StorageCosts.Providers["aws"], Now);

        cost.BytesSavingNow.Should().Be(4 * GiB);
        cost.SavingNowPerMonth.Should().Be(0.09m, "4 GB at 0.023, rounded to cents");
        cost.DeleteRequests.Should().Be(1);
    }

    [Fact]
    public void RequestsAreCountedPerThousandKeys_AndPricedPerThousandRequests_RoundedToCents()
    {
        var costs = new ProviderCosts("custom", 0.1m, TimeSpan.Zero, ListPer1000: 2m, CopyPer1000: 3m, DeletePer1000: 5m);
        var plan = Plan(ActionKind.Quarantine, 1, 2, 3);
        plan.Totals.ObjectsScanned = 1000;

        var cost = StorageCosts.Apply(plan, costs, Now);

        cost.ListRequests.Should().Be(1 + 1, "1000 keys listed fill one page exactly; the 3 proposed are re-read in one");
        cost.CopyRequests.Should().Be(3);
        cost.DeleteRequests.Should().Be(1);
        cost.TagRequests.Should().Be(0);
        cost.RequestCost.Should().Be(0.02m, "(2 × 2 + 3 × 3 + 1 × 5) / 1000 = 0.018");

        plan.Totals.ObjectsScanned = 1001;
        StorageCosts.Apply(plan, costs, Now).ListRequests.Should().Be(2 + 1, "1001 keys need a second page");
        var nothing = Plan(ActionKind.Delete);
        nothing.Totals.ObjectsScanned = 0;
        StorageCosts.Apply(nothing, costs, Now).Should().Match<PolicyCost>(c => c.ListRequests == 0 && c.DeleteRequests == 0 && c.RequestCost == 0m);
    }

    [Fact]
    public void QuarantineInPlace_TagsEachObject_PricedAsACopy_DeletesNothing_AndStartsNoTrashMinimum()
    {
        var costs = new ProviderCosts("custom", 0.1m, TimeSpan.FromDays(30), ListPer1000: 0m, CopyPer1000: 10m, DeletePer1000: 100m);
        var plan = Plan(ActionKind.Quarantine, 40, 50);
        plan.Totals.ObjectsScanned = 0;

        var cost = StorageCosts.Apply(plan, costs, Now, trashCopies: false);

        cost.TagRequests.Should().Be(2);
        cost.CopyRequests.Should().Be(0);
        cost.DeleteRequests.Should().Be(0);
        cost.RequestCost.Should().Be(0.02m, "2 tag requests at 10 per 1000; no delete");
        cost.TrashMinimumBytes.Should().Be(0);
        plan.Warnings.Should().BeEmpty();
    }

    [Fact]
    public void TagMode_OnADelete_ChangesNothing()
    {
        var costs = new ProviderCosts("custom", 0.1m, TimeSpan.Zero, 0m, 10m, 100m);

        var cost = StorageCosts.Apply(Plan(ActionKind.Delete, 1), costs, Now, trashCopies: false);

        (cost.TagRequests, cost.CopyRequests, cost.DeleteRequests).Should().Be((0L, 0L, 1L));
        cost.RequestCost.Should().Be(0.1m);
    }

    [Fact]
    public void TrashMinimum_IsTheCopiesMonthlyPrice_TimesTheMinimumInThirtyDayMonths()
    {
        var costs = new ProviderCosts("custom", 1m, TimeSpan.FromDays(45), 0m, 0m, 0m);
        var plan = Plan(ActionKind.Quarantine, 100);

        var cost = StorageCosts.Apply(plan, costs, Now);

        cost.TrashMinimumBytes.Should().Be(GiB);
        cost.TrashMinimumCost.Should().Be(1.5m, "1 GB at 1 a month, for 45 days = 1.5 months");
        plan.Warnings.Should().ContainSingle().Which.Should().Be(
            $"action quarantine on custom copies each object into the trash, and each copy starts a new 45d minimum: the trash copies of {GiB} bytes are billed for 45d even if purged sooner (about 1.50); action: delete avoids it");
    }

    [Fact]
    public void AnUnpricedProvider_HasNoSavingsFigures_AndItsTrashWarningNamesNoAmount()
    {
        var costs = new ProviderCosts("generic", null, TimeSpan.FromDays(30), 0m, 0m, 0m);
        var plan = Plan(ActionKind.Quarantine, 100);

        var cost = StorageCosts.Apply(plan, costs, Now);

        cost.SavingNowPerMonth.Should().BeNull();
        cost.SavingLaterPerMonth.Should().BeNull();
        cost.TrashMinimumCost.Should().BeNull();
        cost.BytesSavingNow.Should().Be(GiB);
        plan.Warnings.Should().ContainSingle().Which.Should().EndWith("billed for 30d even if purged sooner; action: delete avoids it");
    }

    [Fact]
    public void SavingsPerMonth_AreBytesInGibibytesTimesThePrice_RoundedToCents()
    {
        var costs = new ProviderCosts("custom", 0.5m, TimeSpan.FromDays(10), 0m, 0m, 0m);
        var plan = Plan(ActionKind.Delete, 20, 5, 6);

        var cost = StorageCosts.Apply(plan, costs, Now);

        cost.SavingNowPerMonth.Should().Be(0.5m);
        cost.SavingLaterPerMonth.Should().Be(1m);
    }

    [Fact]
    public void NullArguments_AreRefused()
    {
        FluentActions.Invoking(() => StorageCosts.Apply(null!, StorageCosts.Providers["aws"], Now)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => StorageCosts.Apply(Plan(ActionKind.Delete), null!, Now)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => StorageCosts.Warnings(null!)).Should().Throw<ArgumentNullException>();
    }
}
