using System.Text.Json;
using Reclaim.Cli;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Partitioning;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Runs;

namespace Reclaim.Engine.Tests.Cli;

/// <summary>
/// A partitioned command's JSON (<c>reclaim plan --partition</c>, <c>reclaim sweep --partition</c>) is written streamed
/// to the output, and it is exactly the serializer's string of its document and a line end, as it was when it was
/// built as one string.
/// </summary>
public sealed class PartitionJsonOutputTests
{
    [Fact]
    public void PartitionJson_IsTheSerializersStringOfItsDocument_AcrossManyChunks()
    {
        // Enough ranges for the writer to flush many times, with characters of 2 to 4 UTF-8 bytes that a chunk may split.
        var request = new PartitionRequest("job-\u00e9-\U0001F3AC", 1, 2, ["orphan-uploads"], Force: false, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5));
        var at = new DateTimeOffset(2026, 12, 2, 3, 0, 0, TimeSpan.Zero);
        var ranges = Enumerable.Range(0, 3000).Select(i => new PartitionRange(i, (RangePhase)(i % 3), null, null, null,
            $"h\u00f6st-\u4e2d:{1000 + i}:{at.ToUnixTimeSeconds()}#\U0001F3AC{i % 2}", i % 3 == 2 ? $"run-{i}" : null, i % 3 == 2 ? "host:7:1#0" : null, i % 4)).ToList();
        RangeOutcome[] planned = [new(3, TakenOver: true, Totals: 12, Objects: 36, Bytes: 4096, Run: null)];
        var run = new RunResult(new RunRecord("run-2", "sweep", at, at.AddMinutes(1), RunStatus.Succeeded, "cli", "orphan-uploads", DryRun: false, Summary: null), new GateTotals(), new Dictionary<string, GateTotals>());
        RangeOutcome[] applied = [new(2, TakenOver: false, Totals: 4, Objects: 12, Bytes: 1024, Run: run)];
        var plan = new Plan { CreatedAt = at, ConfigPath = "/srv/reclaim.yaml" };
        plan.Policies.Add(new PolicyPlan
        {
            Policy = "orphan-uploads",
            Type = PolicyKind.Orphans,
            Store = "media",
            Action = ActionKind.Quarantine,
            Layout = "orgs/{org}/uploads/{asset}/",
            Definition = "d",
            Guards = [new GuardVerdict("max_delete_count", false, "192 objects > 150 \u2014 refused")],
        });
        var verdict = new PartitionVerdict(Passed: false, plan, RecordedByThis: true);
        using var stdout = new StringWriter();
        var context = new CliContext("/srv/reclaim.yaml", Json: true, Verbose: false, stdout, TextWriter.Null);

        PartitionCommands.Write(context, request, planned, applied, verdict, ranges);

        var expected = JsonSerializer.Serialize(PartitionCommands.Document(request, planned, applied, verdict, ranges), PlanFile.Options) + Environment.NewLine;
        stdout.ToString().Length.Should().BeGreaterThan(100_000);
        stdout.ToString().Should().Be(expected, "the streamed output is the string it was");
        JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("ranges").GetArrayLength().Should().Be(3000);
    }
}
