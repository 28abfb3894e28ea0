using System.Text.Json;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Tests.Support;

namespace Reclaim.Engine.Tests.Cli;

/// <summary>
/// <c>reclaim plan --format json</c> writes its document streamed (no one string of the whole plan), and it is
/// exactly the serializer's string of the plan and a line end, as it was.
/// </summary>
public sealed class PlanJsonOutputTests : IDisposable
{
    private readonly SeededFolderStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task PlanJson_IsThePlanFileText_AndApplyReadsThatFileBack()
    {
        var path = Path.Join(_store.Dir, "plan.json");

        var result = await _store.RunAsync("plan", "--format", "json", "-o", path);

        result.ExitCode.Should().Be(0, result.ToString());
        var whole = await PlanFile.ReadWholeAsync(path, default);
        result.Stdout.Should().Be(JsonSerializer.Serialize(whole, PlanFile.Options) + Environment.NewLine, "the output is the serializer's string of the plan, as it was");
        var plan = await PlanFile.ReadAsync(path, default);
        (JsonSerializer.Serialize(plan, PlanFile.Options) + Environment.NewLine).Should().Be(result.Stdout);
        plan.Policies.Single().Groups.Select(g => g.GroupKey).Should().BeEquivalentTo(SeededFolderStore.Orphans.Select(o => SeededFolderStore.Group(o.Org, o.Asset)));
    }
}
