using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reclaim.Engine.Tests.Runs;

/// <summary>The recorded run summary's JSON: its keys, their order, and what is left out.</summary>
public sealed class RunSummaryTests
{
    private static readonly RunSummary Summary = new()
    {
        ObjectsDone = 1,
        BytesDone = 2,
        ObjectsSkipped = 3,
        GroupsSkipped = 4,
        ObjectsFailed = 5,
        NotStarted = 6,
        Parts = new Dictionary<string, RunPartSummary>(StringComparer.Ordinal)
        {
            ["orphan-uploads"] = new() { ObjectsDone = 7, BytesDone = 8, ObjectsSkipped = 9, ObjectsFailed = 10 },
        },
    };

    private const string Json =
        "{\"objects_done\":1,\"bytes_done\":2,\"objects_skipped\":3,\"groups_skipped\":4,\"objects_failed\":5,\"sample_errors\":[],\"not_started\":6," +
        "\"parts\":{\"orphan-uploads\":{\"objects_done\":7,\"bytes_done\":8,\"objects_skipped\":9,\"objects_failed\":10}}}";

    [Fact]
    public void ToJson_WritesTheCountersFirst_InTheDocumentedOrder_AndLeavesNullMembersOut()
    {
        Summary.ToJson().Should().Be(Json);
    }

    [Fact]
    public void Parse_ReadsWhatToJsonWrote()
    {
        var parsed = RunSummary.Parse(Json)!;

        parsed.ToJson().Should().Be(Json);
        (parsed.ObjectsDone, parsed.GroupsSkipped, parsed.ObjectsFailed, parsed.NotStarted).Should().Be((1L, 4L, 5L, 6L));
        parsed.Parts["orphan-uploads"].ObjectsFailed.Should().Be(10);
    }

    [Fact]
    public void EmbeddedInTheServersJson_TheSummaryHasTheSameKeys_AndStillLeavesNullMembersOut()
    {
        // The HTTP API writes every member (DefaultIgnoreCondition Never) in snake_case; a summary's own null members stay out.
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

        JsonSerializer.Serialize(Summary, options).Should().Be(Json);
    }
}
