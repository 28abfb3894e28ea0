using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Partitioning;
using Reclaim.Engine.Runtime;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// Partitioned runs with real <c>reclaim</c> child processes sharing one PostgreSQL state: two participants share a run
/// (each of the 16 ranges applied exactly once, the union of what they planned is the single-process plan, referenced
/// groups survive); a participant SIGKILLed while applying has its ranges finished by the other once its lease runs
/// out; a guard that refuses the whole run's totals makes neither participant delete anything, though each one's
/// share is within it. The references query sleeps a little in PostgreSQL (every plan of a range and every re-check
/// reads it), so that each range takes long enough for both participants to take part and for a kill to land mid-run.
/// </summary>
[Collection(ProcessEnvironmentCollection.Name)]
public sealed class PartitionedRunScenarios : IAsyncLifetime
{
    private readonly FolderPostgresBackend _backend = new();
    private PartitionedUploads? _uploads;

    private IReadOnlySet<string> Referenced => _uploads!.Referenced;

    private IReadOnlySet<string> Orphaned => _uploads!.Orphaned;

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        _uploads = await PartitionedUploads.SeedAsync(Path.Combine(_backend.Dir, "media"), _backend.ExecuteSqlAsync);
        WriteConfig(maxDeleteCount: 100000);
    }

    public Task DisposeAsync() => _backend.DisposeAsync();

    private void WriteConfig(int maxDeleteCount) => _backend.WriteConfig($"""
              - name: orphan-uploads
                type: orphans
                store: media
                layout: "{PartitionedUploads.Layout}"
                references:
                  catalog: app
                  query: "{PartitionedUploads.SlowReferencesQuery}"
                min_age: 1h
                action: quarantine
            """, $"""
            guards:
              max_delete_fraction: 1.0
              max_delete_count: {maxDeleteCount}
            {_backend.StateYaml}
            """);

    [Fact]
    public async Task TwoParticipants_ShareARun_EachRangeAppliedOnce_UnionIsTheSingleProcessPlan_ReferencedGroupsSurvive()
    {
        var single = await _backend.CliAsync(TimeProvider.System, "plan", "--format", "json");
        single.ExitCode.Should().Be(0, single.ToString());
        var singleGroups = PartitionedUploads.GroupKeys(single.Json);
        singleGroups.Should().HaveCount(PartitionedUploads.Orgs * 3);

        await using var first = ReclaimProcess.Start("sweep", "--partition", "0/2", "--run-key", "job-a", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        await using var second = ReclaimProcess.Start("sweep", "--partition", "1/2", "--run-key", "job-a", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        string Logs() => $"participant 0:\n{first}\nparticipant 1:\n{second}";

        // Whichever plans a range first is held (SIGSTOP) until the other has planned one too: both take part however
        // the machine schedules them.
        await TwoParticipants.BothPlanARangeAsync(() => RangesAsync("job-a"), first.Id, second.Id, 120, Logs);
        var codes = await Task.WhenAll(first.WaitForExitAsync(180), second.WaitForExitAsync(180));

        codes.Should().Equal([0, 0], Logs());
        var ranges = await RangesAsync("job-a");
        ranges.Should().HaveCount(16).And.OnlyContain(r => r.Phase == "applied" && r.ApplyRunId != null);
        ranges.Select(r => r.ApplyRunId).Should().OnlyHaveUniqueItems("each range is applied by its own run, once");
        ranges.Select(r => r.PlannedBy).Distinct().Should().HaveCount(2, "both participants planned ranges");
        var planned = ranges.SelectMany(r => PartitionedUploads.GroupKeys(JsonDocument.Parse(r.Plan!).RootElement)).ToList();
        planned.Should().OnlyHaveUniqueItems("no group is planned in two ranges");
        planned.Should().BeEquivalentTo(singleGroups, "the union of what both planned is the single-process plan");
        var applied = JsonDocument.Parse(first.Stdout).RootElement.GetProperty("applied").GetArrayLength() + JsonDocument.Parse(second.Stdout).RootElement.GetProperty("applied").GetArrayLength();
        applied.Should().Be(16, "between them the participants applied the 16 ranges, each once");
        await AssertSweptOnceAsync();
    }

    [Fact]
    public async Task ParticipantKilledWhileApplying_TheOtherTakesItsRangeOverAfterTheLease_AndFinishesTheRun()
    {
        // Arrange: the run planned whole and its verdict recorded (one participant of one).
        var plan = await _backend.CliAsync(TimeProvider.System, "plan", "--partition", "0/1", "--run-key", "job-b", "--format", "json");
        plan.ExitCode.Should().Be(0, plan.ToString());
        plan.Json.GetProperty("verdict").GetProperty("passed").GetBoolean().Should().BeTrue(plan.ToString());

        // Act: participant 0 applies until it has finished two ranges and holds a third, and is SIGKILLed; participant
        // 1 then applies the rest, taking over the range 0 held once its 3-second lease runs out.
        await using var doomed = ReclaimProcess.Start("sweep", "--partition", "0/2", "--run-key", "job-b", "--lease", "3s", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        await FreezeWhenAsync(doomed, async () => (await RangesAsync("job-b")) is var ranges && ranges.Count(r => r.Phase == "applied") >= 2 && ranges.Any(r => r.Phase == "planned" && r.Owner != null && r.ApplyRunId != null),
            "participant 0 to apply two ranges and hold a third");
        doomed.Kill();
        var held = (await RangesAsync("job-b")).Where(r => r.Phase == "planned" && r.Owner != null).Select(r => r.Index).ToList();
        held.Should().NotBeEmpty("participant 0 was killed holding a range");
        await using var survivor = ReclaimProcess.Start("sweep", "--partition", "1/2", "--run-key", "job-b", "--lease", "3s", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        var code = await survivor.WaitForExitAsync(180);

        // Assert
        code.Should().Be(0, survivor.ToString());
        var ranges = await RangesAsync("job-b");
        ranges.Should().HaveCount(16).And.OnlyContain(r => r.Phase == "applied");
        ranges.Where(r => held.Contains(r.Index)).Should().OnlyContain(r => r.Takeovers == 1 && r.AppliedBy != null && r.AppliedBy.EndsWith("#1", StringComparison.Ordinal),
            "the survivor took over what the killed participant held");
        survivor.Stderr.Should().Contain("taken over to apply");
        JsonDocument.Parse(survivor.Stdout).RootElement.GetProperty("applied").EnumerateArray()
            .Where(a => a.GetProperty("taken_over").GetBoolean()).Select(a => a.GetProperty("range").GetInt32()).Should().BeEquivalentTo(held);
        await AssertSweptOnceAsync();
    }

    [Fact]
    public async Task ParticipantKilledWhilePlanning_TheOtherPlansItsRangeAfterTheLease_AndFinishesTheRun()
    {
        (await _backend.CliAsync(TimeProvider.System, "migrate")).ExitCode.Should().Be(0);

        // Act: participant 0 plans until it has planned two ranges and holds a third, and is SIGKILLed; participant 1
        // then plans the rest, takes over the range 0 held once its 3-second lease runs out, and applies the run.
        await using var doomed = ReclaimProcess.Start("sweep", "--partition", "0/2", "--run-key", "job-e", "--lease", "3s", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        await FreezeWhenAsync(doomed, async () => (await RangesAsync("job-e")) is var ranges && ranges.Count(r => r.Phase == "planned") >= 2 && ranges.Any(r => r.Phase == "pending" && r.Owner != null),
            "participant 0 to plan two ranges and hold a third");
        doomed.Kill();
        var held = (await RangesAsync("job-e")).Where(r => r.Phase == "pending" && r.Owner != null).Select(r => r.Index).ToList();
        held.Should().NotBeEmpty("participant 0 was killed holding a range");
        await using var survivor = ReclaimProcess.Start("sweep", "--partition", "1/2", "--run-key", "job-e", "--lease", "3s", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        var code = await survivor.WaitForExitAsync(180);

        // Assert
        code.Should().Be(0, survivor.ToString());
        survivor.Stderr.Should().Contain("taken over to plan");
        var all = await RangesAsync("job-e");
        all.Should().HaveCount(16).And.OnlyContain(r => r.Phase == "applied");
        all.Where(r => held.Contains(r.Index)).Should().OnlyContain(r => r.Takeovers >= 1 && r.PlannedBy != null && r.PlannedBy.EndsWith("#1", StringComparison.Ordinal),
            "the survivor planned what the killed participant held");
        await AssertSweptOnceAsync();
    }

    [Fact]
    public async Task GuardRefusingTheWholeRunsTotals_NeitherParticipantDeletesAnything_ThoughEachShareIsWithinIt()
    {
        // 192 orphaned objects in all, about 96 in each participant's share: max_delete_count 150 refuses the run only.
        WriteConfig(maxDeleteCount: 150);
        var before = await _backend.KeysAsync();

        await using var first = ReclaimProcess.Start("sweep", "--partition", "0/2", "--run-key", "job-c", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        await using var second = ReclaimProcess.Start("sweep", "--partition", "1/2", "--run-key", "job-c", "--yes", "--format", "json", "-c", _backend.ConfigPath);
        var codes = await Task.WhenAll(first.WaitForExitAsync(180), second.WaitForExitAsync(180));

        codes.Should().Equal([3, 3], $"participant 0:\n{first}\nparticipant 1:\n{second}");
        first.Stderr.Should().Contain("max_delete_count").And.Contain("nothing was touched");
        foreach (var participant in new[] { first, second })
        {
            var share = JsonDocument.Parse(participant.Stdout).RootElement.GetProperty("planned").EnumerateArray().Sum(p => p.GetProperty("objects").GetInt64());
            share.Should().BeLessThan(150, "each participant's own share is within the guard");
        }

        (await _backend.KeysAsync()).Should().BeEquivalentTo(before, "nothing was deleted or moved");
        (await _backend.StateQueryAsync("SELECT COUNT(*) FROM reclaim_actions")).Single()[0].Should().Be("0");
        (await _backend.StateQueryAsync("SELECT COUNT(*) FROM reclaim_runs WHERE status = 'refused'")).Single()[0].Should().Be("1", "the refusal is in the history once");
        (await RangesAsync("job-c")).Should().OnlyContain(r => r.Phase == "planned" && r.ApplyRunId == null);
    }

    [Fact]
    public async Task ParticipatingInARunThatEnded_DoesNothingAgain_AndTheRunIsSummedUpOnce()
    {
        // Arrange: a scheduled firing's participation, as a serve replica takes part (participant 0 of 1).
        await using var workspace = new Workspace(ConfigLoader.Load(_backend.ConfigPath), NullLoggerFactory.Instance);
        var engine = new ReclaimEngine(workspace, TimeProvider.System, NullLoggerFactory.Instance);
        await engine.MigrateAsync(CancellationToken.None);
        var request = new PartitionRequest("schedule:orphan-uploads@2026-12-02T03:00:00Z", 0, 1, ["orphan-uploads"], Force: false, TimeSpan.FromSeconds(3), TimeSpan.FromMinutes(5))
        {
            Actor = "schedule:0",
            Apply = true,
        };
        var first = await engine.Partitioned.ParticipateAsync(request, null, CancellationToken.None);
        first.Applied.Should().HaveCount(16);
        first.SummaryRunId.Should().NotBeNull();
        var runs = (await _backend.StateQueryAsync("SELECT COUNT(*) FROM reclaim_runs")).Single()[0];
        var keys = await _backend.KeysAsync();

        // Act: the same firing again (a misfire fired late, another replica's copy of it).
        var again = await engine.Partitioned.ParticipateAsync(request, null, CancellationToken.None);
        var joined = await engine.Partitioned.JoinOpenRunsAsync(TimeSpan.FromSeconds(3), CancellationToken.None);

        // Assert
        again.Planned.Should().BeEmpty();
        again.Applied.Should().BeEmpty();
        again.Verdict.Passed.Should().BeTrue();
        again.SummaryRunId.Should().BeNull("the run was summed up once, by the first");
        joined.Should().Be(0, "an ended run is not open");
        (await _backend.StateQueryAsync("SELECT COUNT(*) FROM reclaim_runs")).Single()[0].Should().Be(runs, "nothing new is in the history");
        (await _backend.KeysAsync()).Should().BeEquivalentTo(keys);
        var summary = (await _backend.StateQueryAsync($"SELECT kind, actor, status, summary FROM reclaim_runs WHERE id = '{first.SummaryRunId}'")).Single();
        summary[0..3].Should().Equal("partitioned", "schedule:0", "succeeded");
        var partitioned = JsonDocument.Parse(summary[3]!).RootElement;
        partitioned.GetProperty("objects_done").GetInt64().Should().Be(Orphaned.Count);
        partitioned.GetProperty("partitioned").GetProperty("ranges").GetArrayLength().Should().Be(16);
        partitioned.GetProperty("partitioned").GetProperty("participants").GetArrayLength().Should().Be(1);
        await AssertSweptOnceAsync();
    }

    [Theory]
    [InlineData("3/2")]
    [InlineData("x")]
    [InlineData("1/0")]
    [InlineData("-1/2")]
    public async Task Partition_BadValue_IsAUsageError_AndNothingIsRecorded(string value)
    {
        var result = await _backend.CliAsync(TimeProvider.System, "sweep", "--partition", value, "--run-key", "job-d", "--yes");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("--partition");
        (await _backend.KeysAsync()).Should().BeEquivalentTo(Referenced.Concat(Orphaned));
    }

    [Fact]
    public async Task Partition_WithoutARunKey_IsAUsageError()
    {
        var result = await _backend.CliAsync(TimeProvider.System, "plan", "--partition", "0/2");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("--run-key");
    }

    /// <summary>Every referenced object is in place; every orphaned one is gone from its key and was quarantined by exactly one done action.</summary>
    private async Task AssertSweptOnceAsync()
    {
        var runs = await _backend.CliAsync(TimeProvider.System, "runs", "--limit", "100", "--format", "json"); // settles the killed participant's run, if any
        runs.ExitCode.Should().Be(0, runs.ToString());
        var keys = await _backend.KeysAsync();
        keys.Should().Contain(Referenced, "referenced groups survive");
        keys.Should().NotContain(Orphaned);
        var done = (await _backend.StateQueryAsync("SELECT key, COUNT(*) FROM reclaim_actions WHERE outcome = 'done' GROUP BY key"))
            .ToDictionary(r => r[0]!, r => int.Parse(r[1]!, CultureInfo.InvariantCulture), StringComparer.Ordinal);
        done.Keys.Should().BeEquivalentTo(Orphaned);
        done.Values.Should().OnlyContain(n => n == 1, "each object was removed once");
        (await _backend.StateQueryAsync("SELECT COUNT(*) FROM reclaim_actions WHERE outcome = 'pending'")).Single()[0].Should().Be("0");
    }

    private Task<List<RangeRow>> RangesAsync(string runKey) => RangeRow.ReadAsync(_backend.StateQueryAsync, runKey);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds and freezes <paramref name="process"/> (SIGSTOP) in that state
    /// (<see cref="Polling.FreezeWhenAsync"/>): a participant seen holding a range can finish it before a kill lands.
    /// </summary>
    private static async Task FreezeWhenAsync(ReclaimProcess process, Func<Task<bool>> condition, string what)
    {
        await Polling.FreezeWhenAsync([process.Id], async () => process.HasExited || await condition(), 120, () => $"{what}\n{process}");
        process.HasExited.Should().BeFalse($"the participant was to be stopped while {what}\n{process}");
    }
}
