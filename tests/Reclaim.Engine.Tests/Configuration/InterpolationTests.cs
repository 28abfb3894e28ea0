using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

public sealed class InterpolationTests
{
    private static readonly Dictionary<string, string> Variables = new()
    {
        ["HOST"] = "db.internal",
        ["EMPTY"] = string.Empty,
        ["PORT"] = "5432",
    };

    private static string? Expand(string text, out string? error) =>
        Interpolation.Expand(text, name => Variables.GetValueOrDefault(name), out error);

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("${HOST}", "db.internal")]
    [InlineData("postgres://${HOST}:${PORT}/app", "postgres://db.internal:5432/app")]
    [InlineData("${MISSING:-fallback}", "fallback")]
    [InlineData("${EMPTY:-fallback}", "fallback")]
    [InlineData("${HOST:-fallback}", "db.internal")]
    [InlineData("${MISSING:-}", "")]
    [InlineData("${EMPTY}", "")]
    [InlineData("${MISSING:-${HOST}}", "db.internal")]
    [InlineData("${MISSING:-a:b/c}", "a:b/c")]
    [InlineData("$${HOST}", "${HOST}")]
    [InlineData("price $5 and $HOST", "price $5 and $HOST")]
    [InlineData("trailing $", "trailing $")]
    public void Expand_ValidText_GivesTheValue(string text, string expected)
    {
        Expand(text, out var error).Should().Be(expected);
        error.Should().BeNull();
    }

    [Theory]
    [InlineData("${MISSING}", "environment variable 'MISSING' is not set")]
    [InlineData("${HOST", "no closing '}'")]
    [InlineData("${MISSING:-abc", "no closing '}'")]
    [InlineData("${}", "is not a variable reference")]
    [InlineData("${1ABC}", "is not a variable reference")]
    [InlineData("${HOST:default}", "is not a variable reference")]
    [InlineData("ok ${HOST} then ${NOPE:-${MISSING}}", "'MISSING' is not set")]
    public void Expand_BadText_SaysWhy(string text, string expected)
    {
        Expand(text, out var error).Should().BeNull();
        error.Should().Contain(expected);
    }
}
