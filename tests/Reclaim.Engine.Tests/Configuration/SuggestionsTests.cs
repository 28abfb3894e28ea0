using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

public sealed class SuggestionsTests
{
    private static readonly string[] Keys = ["root", "region", "max_attempts", "min_age", "policies"];

    [Theory]
    [InlineData("rooot", "root")]
    [InlineData("regoin", "region")]
    [InlineData("max-attempts", "max_attempts")]
    [InlineData("minAge", "min_age")]
    [InlineData("Policies", "policies")]
    [InlineData("polices", "policies")]
    public void Closest_NearMiss_IsSuggested(string written, string expected)
    {
        Suggestions.Closest(written, Keys).Should().Be(expected);
    }

    [Theory]
    [InlineData("colour")]
    [InlineData("r")]
    [InlineData("ro")]
    [InlineData("maximum_attempts")]
    public void Closest_NothingNear_SuggestsNothing(string written)
    {
        Suggestions.Closest(written, Keys).Should().BeNull();
    }
}
