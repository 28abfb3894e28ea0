using System.Text.Json;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Engine.Planning;

namespace Reclaim.Engine.Tests.Planning;

/// <summary>
/// A plan file read as a stream (groups spooled to disk beyond the first few) is the plan the serializer reads whole:
/// written back, it is the same bytes.
/// </summary>
public sealed class PlanFileStreamingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("plan-stream-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(10_000)]
    public async Task StreamedRead_IsTheWholeRead_AndWritesBackTheSameBytes(int groupsInMemory)
    {
        // Arrange: two layout policies of many groups (keys where '-', '.', '/' and non-ASCII interleave), a records
        // policy with rows, guards that passed and refused, warnings, a cost, an age override, a plan guard.
        var plan = SamplePlan();
        var path = Path.Join(_dir, "plan.json");
        await PlanFile.WriteAsync(plan, path, default);
        var written = await File.ReadAllTextAsync(path);

        // Act
        var streamed = await PlanFile.ReadAsync(path, _dir, groupsInMemory, default);
        var whole = await PlanFile.ReadWholeAsync(path, default);

        // Assert
        var again = Path.Join(_dir, "again.json");
        await PlanFile.WriteAsync(streamed, again, default);
        (await File.ReadAllTextAsync(again)).Should().Be(written);
        JsonSerializer.Serialize(streamed, PlanFile.Options).Should().Be(JsonSerializer.Serialize(whole, PlanFile.Options));
        streamed.Policies[0].Groups.Should().HaveCount(500);
        streamed.Policies[0].Groups.Spooled.Should().Be(Math.Max(0, 500 - groupsInMemory), "groups beyond the first ones are on disk, not in memory");
        streamed.Policies[2].Rows.Should().HaveCount(2);
    }

    [Fact]
    public async Task StreamedRead_OfAPlanLargerThanItsBuffer_ReadsEveryGroup()
    {
        // One group of 3000 objects (about 300 KB of JSON): larger than the reader's first buffer.
        var plan = SamplePlan();
        var big = Enumerable.Range(0, 3000).Select(i => new StoredObject($"big/{i:D5}-\u00e9.bin", i, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), $"\"{i:x}\"")).ToArray();
        plan.Policies[1].Groups.Add(new PlannedGroup("big/", ["big"], big, big[^1].LastModified, "orphaned"));
        var path = Path.Join(_dir, "big.json");
        await PlanFile.WriteAsync(plan, path, default);

        var streamed = await PlanFile.ReadAsync(path, _dir, 1, default);

        var again = Path.Join(_dir, "again.json");
        await PlanFile.WriteAsync(streamed, again, default);
        (await File.ReadAllTextAsync(again)).Should().Be(await File.ReadAllTextAsync(path));
        streamed.Policies[1].Groups.Last().Objects.Should().HaveCount(3000);
    }

    [Theory]
    [InlineData("{\"format_version\": 1, \"plan\": {\"created_at\": \"2026-06-01T12:00:00Z\", \"config_path\": \"x\", \"policies\": [{\"policy\": \"p\"")]
    [InlineData("{\"format_version\": 1, \"plan\": {\"created_at\": \"2026-06-01T12:00:00Z\", \"config_path\": \"x\", \"policies\": [], \"guards\": [}}")]
    [InlineData("[1, 2]")]
    public async Task StreamedRead_OfABrokenFile_SaysItIsNotAValidPlan(string text)
    {
        var path = Path.Join(_dir, "broken.json");
        await File.WriteAllTextAsync(path, text);

        var read = () => PlanFile.ReadAsync(path, _dir, 2, default);

        (await read.Should().ThrowAsync<PlanFileException>()).Which.Message.Should().StartWith(path).And.Contain("not a valid plan file");
    }

    private static Plan SamplePlan()
    {
        var at = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        PolicyPlan Layout(string name, int groups)
        {
            var policy = new PolicyPlan
            {
                Policy = name,
                Type = PolicyKind.Orphans,
                Store = "media",
                Action = ActionKind.Quarantine,
                Layout = "orgs/{org}/uploads/{asset}/",
                Definition = "d-" + name,
                MinAge = TimeSpan.FromHours(24),
                MaxAgeOverride = name == "b" ? TimeSpan.FromDays(3) : null,
            };
            foreach (var i in Enumerable.Range(0, groups))
            {
                var asset = (i % 4) switch { 0 => $"a-{i}", 1 => $"a.{i}", 2 => $"a/{i}", _ => $"\u00e4\u00df\U0001F600{i}" };
                var objects = Enumerable.Range(0, (i % 3) + 1)
                    .Select(j => new StoredObject($"orgs/o{i % 7}/uploads/{asset}/f{j}.bin", (i * 10) + j, at.AddDays(-30).AddSeconds(i), j == 1 ? null : $"\"e{i}-{j}\""))
                    .ToArray();
                policy.Groups.Add(new PlannedGroup($"orgs/o{i % 7}/uploads/{asset}/", [$"o{i % 7}", asset], objects, objects[^1].LastModified, i % 5 == 0 ? "no row references \"it\"" : "orphaned"));
            }

            policy.Totals.ObjectsScanned = groups * 3;
            policy.Totals.ObjectsOrphaned = policy.Groups.Sum(g => g.Objects.Count);
            policy.Totals.BytesReclaimable = policy.Groups.Sum(g => g.Bytes);
            policy.Guards.Add(new GuardVerdict("max_delete_fraction", name == "a", name == "a" ? "ok" : "too many"));
            policy.Warnings.Add($"warning of {name}");
            return policy;
        }

        var records = new PolicyPlan { Policy = "rows", Type = PolicyKind.Records, Store = "media", Action = ActionKind.Delete, Layout = "{file}", Definition = "r", FractionGuarded = false };
        records.Rows.Add(new PlannedRow(new Dictionary<string, string?> { ["id"] = "1", ["path"] = null }, ["exports/1.csv"], ["exports/1/"], [new StoredObject("exports/1.csv", 5, at, "\"x\"")], "expired"));
        records.Rows.Add(new PlannedRow(new Dictionary<string, string?> { ["id"] = "2", ["path"] = "p" }, [], [], [], "expired"));
        var plan = new Plan { CreatedAt = at, ConfigPath = "/etc/reclaim/reclaim.yaml", Policies = [Layout("a", 500), Layout("b", 40), records] };
        plan.Guards.Add(new GuardVerdict("max_delete_count", true, "540 of 1000"));
        return plan;
    }
}
