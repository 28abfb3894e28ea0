using Reclaim.Engine.Gate;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// <see cref="GateTotals"/>, the numbers a run reports: the re-check window's median and maximum, and how one
/// sub-batch's totals add into the run's (counts summed, a stop kept, samples capped at ten, the first kept).
/// </summary>
public sealed class GateModelTests
{
    [Fact]
    public void NoSubBatchReChecked_HasNoWindowToReport()
    {
        var totals = new GateTotals();

        (totals.RecheckWindowMedianMs, totals.RecheckWindowMaxMs).Should().Be(((double?)null, (double?)null));
    }

    [Theory]
    [InlineData(new[] { 7.0 }, 7.0, 7.0)]
    [InlineData(new[] { 5.0, 1.0, 3.0 }, 3.0, 5.0)] // the middle of the sorted windows, not of the order they finished in
    [InlineData(new[] { 4.0, 1.0, 3.0, 2.0 }, 2.5, 4.0)] // an even count: the mean of the two in the middle
    [InlineData(new[] { 10.0, 30.0 }, 20.0, 30.0)]
    public void TheWindow_IsReportedAsTheMedianAndTheLargestOfTheSubBatches(double[] windows, double median, double max)
    {
        var totals = new GateTotals();
        foreach (var window in windows)
        {
            totals.AddRecheckWindow(window);
        }

        totals.RecheckWindowsMs.Should().Equal(windows);
        totals.RecheckWindowMedianMs.Should().Be(median);
        totals.RecheckWindowMaxMs.Should().Be(max);
    }

    [Fact]
    public void Adding_SumsEveryCount_AndKeepsEveryWindow()
    {
        var run = Totals(1);
        var batch = Totals(10);

        run.Add(batch);

        (run.ObjectsDone, run.BytesDone, run.ObjectsSkipped, run.GroupsSkipped, run.ObjectsFailed, run.ObjectsProtected, run.ObjectsPending, run.GroupsNotStarted)
            .Should().Be((11L, 22L, 33L, 44L, 55L, 66L, 77L, 88L));
        run.RecheckWindowsMs.Should().Equal(1.0, 10.0);
        run.RecheckWindowMaxMs.Should().Be(10.0);
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(false, true, true)]
    [InlineData(true, false, true)]
    [InlineData(true, true, true)]
    public void Adding_KeepsAStop_FromEitherSide(bool runStopped, bool batchStopped, bool stopped)
    {
        var run = new GateTotals { Stopped = runStopped };

        run.Add(new GateTotals { Stopped = batchStopped });

        run.Stopped.Should().Be(stopped);
    }

    [Fact]
    public void Adding_KeepsAtMostTenSampleErrorsAndProtectedObjects_TheFirstOnes()
    {
        var run = new GateTotals();
        var by = new ProtectedBy("orphans", "references", "app", "g/");
        for (var i = 0; i < 9; i++)
        {
            run.SampleErrors.Add($"run {i}");
            run.SampleProtected.Add(($"run {i}", by));
        }

        var batch = new GateTotals();
        for (var i = 0; i < 5; i++)
        {
            batch.SampleErrors.Add($"batch {i}");
            batch.SampleProtected.Add(($"batch {i}", by));
        }

        run.Add(batch);

        run.SampleErrors.Should().HaveCount(10).And.EndWith("batch 0");
        run.SampleProtected.Select(p => p.Key).Should().HaveCount(10).And.EndWith("batch 0");
    }

    private static GateTotals Totals(long unit)
    {
        var totals = new GateTotals
        {
            ObjectsDone = unit, BytesDone = 2 * unit, ObjectsSkipped = 3 * unit, GroupsSkipped = 4 * unit, ObjectsFailed = 5 * unit,
            ObjectsProtected = 6 * unit, ObjectsPending = 7 * unit, GroupsNotStarted = 8 * unit,
        };
        totals.AddRecheckWindow(unit);
        return totals;
    }
}
