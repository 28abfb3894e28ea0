using System.Text.Json;
using Reclaim.Core.Planning;

namespace Reclaim.Core.Tests.Planning;

public sealed class PolicyKindTests
{
    [Theory]
    [InlineData(PolicyKind.Orphans, "orphans")]
    [InlineData(PolicyKind.Retention, "retention")]
    [InlineData(PolicyKind.Records, "records")]
    [InlineData(PolicyKind.Queue, "queue")]
    public void EachKind_IsNamedAsTheConfigSpellsIt_InCodeAndInJson(PolicyKind kind, string name)
    {
        kind.Name().Should().Be(name);
        JsonSerializer.Serialize(kind).Should().Be($"\"{name}\"");
        JsonSerializer.Deserialize<PolicyKind>($"\"{name}\"").Should().Be(kind);
    }

    [Fact]
    public void AValueThatIsNoKind_HasNoName()
    {
        FluentActions.Invoking(() => ((PolicyKind)42).Name()).Should().Throw<ArgumentOutOfRangeException>().WithMessage("not a policy kind*");
    }
}
