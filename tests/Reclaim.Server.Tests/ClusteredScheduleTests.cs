using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>
/// Real <c>reclaim serve</c> processes on one real PostgreSQL state database, with a schedule entry firing every one
/// or two seconds and a 1 s cluster check-in: the clustered Quartz store runs each firing once, a killed replica's
/// schedule goes on in the survivor, and firings missed while no replica ran run once. In one class, so the
/// processes of the two tests do not compete for the machine.
/// </summary>
public sealed class ClusteredScheduleTests
{
    [Fact]
    public async Task TwoReplicas_RunEachFiringOnce_AndTheSurvivorKeepsFiringAfterOneIsKilled()
    {
        await using var state = await PostgresDatabase.CreateAsync();
        using var folder = new TemporaryFolder("reclaim-cluster");
        var config = await ServeProcess.WriteClusterConfigAsync(folder, state, "*/2 * * * * ?");

        // Started together on an empty database: both provision Quartz's tables at once.
        var started = await Task.WhenAll(ServeProcess.StartAsync("a", config), ServeProcess.StartAsync("b", config));
        await using var a = started[0];
        await using var b = started[1];
        IReadOnlyList<LoggedFiring> Firings() => [.. a.Firings.Concat(b.Firings).OrderBy(f => f.DueAt)];
        string Logs() => $"replica a:\n{a.Output}\nreplica b:\n{b.Output}";

        await Polling.WaitForAsync(() => Task.FromResult(Firings().Count >= 4), 40, () => $"4 scheduled runs\n{Logs()}");

        // Kill the replica that ran the latest firing (it holds the next one), once that run is recorded as ended.
        var latest = Firings()[^1];
        await Polling.WaitForAsync(
            async () => (await ServeProcess.ScheduledRunsAsync(state)).Any(r => r.Id == latest.RunId && r.Status != "running"), 60, () => $"run {latest.RunId} to end");
        var (victim, survivor) = latest.Replica == a.Name ? (a, b) : (b, a);
        victim.Kill();
        var killedAt = DateTimeOffset.UtcNow;
        var before = Firings();

        await Polling.WaitForAsync(
            () => Task.FromResult(survivor.Firings.Count(f => f.DueAt > killedAt) >= 3), 40, () => $"3 firings in the survivor after the kill\n{Logs()}");
        (await survivor.StopAsync()).Should().Be(0);

        var firings = Firings();
        var runs = await ServeProcess.ScheduledRunsAsync(state);
        firings.Should().OnlyHaveUniqueItems(f => f.DueAt, "each firing runs on one replica only\n{0}", Logs());
        firings.Should().OnlyHaveUniqueItems(f => f.RunId);

        // The history holds exactly the runs the firings started: none twice, none from elsewhere. A firing the victim
        // took after its latest one may have died with it before reaching the history.
        var mayBeMissing = before.Where(f => f.Replica == victim.Name && f.DueAt > latest.DueAt).Select(f => f.RunId).ToHashSet(StringComparer.Ordinal);
        runs.Select(r => r.Id).Should().OnlyHaveUniqueItems().And.BeSubsetOf(firings.Select(f => f.RunId));
        firings.Select(f => f.RunId).Where(id => !mayBeMissing.Contains(id)).Should().BeSubsetOf(runs.Select(r => r.Id));
        runs.Should().OnlyContain(r => r.Actor == "schedule:0");

        var afterKill = survivor.Firings.Where(f => f.DueAt > killedAt).ToList();
        runs.Where(r => afterKill.Any(f => f.RunId == r.Id)).Should().HaveCount(afterKill.Count).And.OnlyContain(r => r.Status == "succeeded");
        File.Exists(folder.Combine("media/uploads/gone0/video.mp4")).Should().BeFalse("the first scheduled run quarantined the orphan");
    }

    [Fact]
    public async Task FiringsMissedWhileNoReplicaRan_RunOnceWhenOneStartsAgain()
    {
        await using var state = await PostgresDatabase.CreateAsync();
        using var folder = new TemporaryFolder("reclaim-misfire");
        var config = await ServeProcess.WriteClusterConfigAsync(folder, state, "* * * * * ?");

        await using (var first = await ServeProcess.StartAsync("first", config))
        {
            await Polling.WaitForAsync(() => Task.FromResult(first.Firings.Count >= 1), 30, () => $"a scheduled run\n{first.Output}");
            (await first.StopAsync()).Should().Be(0);
            var lastBefore = first.Firings.Max(f => f.DueAt);

            // Down for several firings (deliberate downtime, not a wait for a result).
            await Task.Delay(TimeSpan.FromSeconds(5));
            var restartedAt = DateTimeOffset.UtcNow;
            await using var second = await ServeProcess.StartAsync("second", config);
            await Polling.WaitForAsync(
                () => Task.FromResult(second.Firings.Count(f => f.DueAt > restartedAt) >= 2), 30, () => $"2 regular firings after the restart\n{second.Output}");
            (await second.StopAsync()).Should().Be(0);

            var missed = (int)Math.Floor((restartedAt - lastBefore).TotalSeconds);
            missed.Should().BeGreaterThanOrEqualTo(4, "the schedule fires every second and no replica ran for over 5 s");
            var catchUp = second.Firings.Where(f => f.DueAt < restartedAt).ToList();
            catchUp.Should().ContainSingle($"the {missed} firings missed while down run once, not once each\n{second.Output}")
                .Which.DueAt.Should().BeAfter(lastBefore);

            var runs = await ServeProcess.ScheduledRunsAsync(state);
            runs.Select(r => r.Id).Should().BeEquivalentTo(first.Firings.Concat(second.Firings).Select(f => f.RunId));
            runs.Should().OnlyContain(r => r.Status == "succeeded");
        }
    }
}
