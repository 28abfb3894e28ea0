using System.Text;
using System.Text.Json;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// A records policy and the store's protections, through the real command line on a folder + SQLite and on S3
/// (s3rver) + PostgreSQL: a file another live row still names is not deleted with the row being removed, also when
/// the policy's rows are more than the planner holds in memory.
/// </summary>
public abstract class RecordsProtectionScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private readonly TBackend _backend = new();
    private ManualClock _clock = new();

    public Task InitializeAsync() => _backend.InitializeAsync();

    public Task DisposeAsync() => _backend.DisposeAsync();

    private async Task SetUpAsync(string sessions, params string[] files)
    {
        await _backend.ExecuteSqlAsync("CREATE TABLE sessions (id INTEGER PRIMARY KEY, status TEXT NOT NULL, audio_path TEXT)");
        await _backend.ExecuteSqlAsync($"INSERT INTO sessions (id, status, audio_path) VALUES {sessions}");
        // Every session, failed or not, references its file: the orphans policy's references are the store's protection.
        _backend.WriteConfig("""
              - name: failed-sessions
                type: records
                catalog: app
                query: "SELECT id, audio_path AS file FROM sessions WHERE status = 'failed'"
                store: media
                objects: "u/{file}"
                after: "DELETE FROM sessions WHERE id = @id"
                action: delete
              - name: orphan-audio
                type: orphans
                store: media
                layout: "u/{file}"
                references:
                  catalog: app
                  query: "SELECT audio_path AS file FROM sessions WHERE audio_path IS NOT NULL"
                min_age: 1h
            """, """
            guards:
              max_delete_fraction: 1
            """);
        foreach (var file in files)
        {
            await _backend.PutAsync($"u/{file}", Encoding.UTF8.GetBytes(file));
        }

        _clock = new ManualClock((await _backend.ListAllAsync()).Max(o => o.LastModified) + TimeSpan.FromDays(8));
    }

    private async Task<List<(string Kind, string Key, string Outcome, string? Error)>> ActionsAsync(CliResult sweep)
    {
        var runId = sweep.Json.GetProperty("run").GetProperty("id").GetString()!;
        var shown = await _backend.CliAsync(_clock, "runs", "show", runId);
        return [.. shown.Json.GetProperty("actions").EnumerateArray().Select(a => (a.GetProperty("kind").GetString()!, a.GetProperty("key").GetString()!,
            a.GetProperty("outcome").GetString()!, a.TryGetProperty("error", out var e) && e.ValueKind == System.Text.Json.JsonValueKind.String ? e.GetString() : null))];
    }

    [Fact]
    public async Task Records_AFileSharedWithALiveRecord_IsKeptWithTheFirst_AndGoesWithTheLast()
    {
        await SetUpAsync("(1, 'failed', 'shared.mp3'), (2, 'completed', 'shared.mp3'), (3, 'failed', 'own.mp3')", "shared.mp3", "own.mp3", "other.mp3");

        var first = await _backend.CliAsync(_clock, "sweep", "--yes", "--policy", "failed-sessions");

        first.ExitCode.Should().Be(0, first.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(["u/shared.mp3", "u/other.mp3"], "session 2 still names shared.mp3; own.mp3 was session 3's alone");
        var actions = await ActionsAsync(first);
        actions.Should().ContainSingle(a => a.Key == "u/shared.mp3").Which.Should().Be(("delete", "u/shared.mp3", "skipped",
            (string?)"protected by policy 'orphan-audio' (references): a row of catalog 'app' renders to 'u/shared.mp3'"));
        actions.Where(a => a.Kind == "after").Should().HaveCount(2).And.OnlyContain(a => a.Outcome == "done", "both rows go: only their file is shared");
        (await _backend.QueryAsync("SELECT id FROM sessions")).Select(r => r[0]).Should().Equal("2");

        await _backend.ExecuteSqlAsync("UPDATE sessions SET status = 'failed' WHERE id = 2");
        var last = await _backend.CliAsync(_clock, "sweep", "--yes", "--policy", "failed-sessions");

        last.ExitCode.Should().Be(0, last.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(["u/other.mp3"], "no other row names shared.mp3 now");
    }

    [Fact]
    public async Task Records_TwoRemovedRowsSharingAFile_RemoveIt()
    {
        await SetUpAsync("(4, 'failed', 'both.mp3'), (5, 'failed', 'both.mp3'), (6, 'completed', 'kept.mp3')", "both.mp3", "kept.mp3");

        var sweep = await _backend.CliAsync(_clock, "sweep", "--yes", "--policy", "failed-sessions");

        sweep.ExitCode.Should().Be(0, sweep.ToString());
        (await _backend.KeysAsync()).Should().BeEquivalentTo(["u/kept.mp3"], "every row naming both.mp3 is being removed");
        (await ActionsAsync(sweep)).Should().Contain(a => a.Key == "u/both.mp3" && a.Outcome == "done");
    }

    [Fact]
    public async Task Records_MoreRowsThanTheHeadInMemory_AreEachAppliedOnce_InThePlansOrder_AndASharedFileSurvives()
    {
        // Arrange: 14 failed sessions with a file each, a 15th sharing its file with a completed one; the planner and
        // the plan file's reader hold 3 rows in memory and spool the rest.
        const int head = 3;
        var sessions = Enumerable.Range(1, 14).Select(i => $"({i}, 'failed', 's{i}.mp3')").Append("(15, 'failed', 'shared.mp3'), (16, 'completed', 'shared.mp3')");
        await SetUpAsync(string.Join(", ", sessions), [.. Enumerable.Range(1, 14).Select(i => $"s{i}.mp3"), "shared.mp3", "other.mp3"]);
        var planPath = Path.Combine(_backend.Dir, "plan.json");
        using var rowsInMemory = RecordsPlanner.HoldRowsInMemory(head);

        // Act: plan to a file, read it back as apply does, then apply it.
        var planned = await _backend.CliAsync(_clock, "plan", "--policy", "failed-sessions", "-o", planPath);
        var read = await PlanFile.ReadAsync(planPath, default);
        var apply = await _backend.CliAsync(_clock, "apply", planPath, "--yes");

        // Assert: 15 rows planned, read back with only the head in memory, and written back the same.
        planned.ExitCode.Should().Be(0, planned.ToString());
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(planPath));
        var planOrder = document.RootElement.GetProperty("plan").GetProperty("policies")[0].GetProperty("rows").EnumerateArray()
            .Select(r => "row id=" + r.GetProperty("columns").GetProperty("id").GetString()).ToList();
        planOrder.Should().HaveCount(15);
        var rows = read.Policies[0].Rows;
        rows.InMemory.Should().Be(head);
        rows.Spooled.Should().Be(15 - head);
        var again = Path.Combine(_backend.Dir, "again.json");
        await PlanFile.WriteAsync(read, again, default);
        (await File.ReadAllTextAsync(again)).Should().Be(await File.ReadAllTextAsync(planPath), "the plan file round-trips through the spool");

        // Every row acted on once, in the plan's order; the shared file kept, the others gone.
        apply.ExitCode.Should().Be(0, apply.ToString());
        var actions = await ActionsAsync(apply);
        actions.Where(a => a.Kind == "after").Select(a => a.Key).Should().Equal(planOrder, "each row's after statement ran once, in the plan's order");
        actions.Where(a => a.Kind == "after").Should().OnlyContain(a => a.Outcome == "done");
        actions.Where(a => a.Kind == "delete" && a.Outcome == "done").Select(a => a.Key).Should().BeEquivalentTo(Enumerable.Range(1, 14).Select(i => $"u/s{i}.mp3"));
        actions.Should().ContainSingle(a => a.Key == "u/shared.mp3").Which.Outcome.Should().Be("skipped", "session 16 still names it");
        (await _backend.KeysAsync()).Should().BeEquivalentTo(["u/shared.mp3", "u/other.mp3"]);
        (await _backend.QueryAsync("SELECT id FROM sessions")).Select(r => r[0]).Should().Equal("16");
    }
}

/// <summary>The scenarios on a folder store and a SQLite catalog.</summary>
public sealed class FolderSqliteRecordsProtectionScenarios : RecordsProtectionScenarios<FolderSqliteBackend>;

/// <summary>The scenarios on S3 (s3rver) and a PostgreSQL catalog.</summary>
public sealed class S3PostgresRecordsProtectionScenarios : RecordsProtectionScenarios<S3PostgresBackend>;

/// <summary>The scenarios on a folder store and a MariaDB catalog.</summary>
public sealed class FolderMariaDbRecordsProtectionScenarios : RecordsProtectionScenarios<FolderMariaDbBackend>;
