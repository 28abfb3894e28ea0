namespace Reclaim.Core.Tests;

public sealed class DurationTests
{
    public static TheoryData<string, TimeSpan> ValidDurations => new()
    {
        { "90s", TimeSpan.FromSeconds(90) },
        { "15m", TimeSpan.FromMinutes(15) },
        { "24h", TimeSpan.FromHours(24) },
        { "7d", TimeSpan.FromDays(7) },
        { "0s", TimeSpan.Zero },
        { "1h30m", TimeSpan.FromMinutes(90) },
        { "1d2h3m4s", new TimeSpan(1, 2, 3, 4) },
        { "30m1h", TimeSpan.FromMinutes(90) },
        { " 24h ", TimeSpan.FromHours(24) },
        { "007d", TimeSpan.FromDays(7) },
    };

    [Theory]
    [MemberData(nameof(ValidDurations))]
    public void TryParse_NumberAndUnit_GivesTheDuration(string text, TimeSpan expected)
    {
        Duration.TryParse(text, out var value).Should().BeTrue();
        value.Should().Be(expected);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("24")]
    [InlineData("h")]
    [InlineData("24H")]
    [InlineData("24 h")]
    [InlineData("1h 30m")]
    [InlineData("1h-30m")]
    [InlineData("-5m")]
    [InlineData("5w")]
    [InlineData("1.5h")]
    [InlineData("x24h")]
    [InlineData("24hx")]
    public void TryParse_NotANumberAndUnit_IsRefusedWithZero(string? text)
    {
        Duration.TryParse(text, out var value).Should().BeFalse();
        value.Should().Be(TimeSpan.Zero);
    }

    [Theory]
    [InlineData("99999999999999999999s")]
    [InlineData("9999999999999d")]
    [InlineData("10675199d10675199d")]
    public void TryParse_TooLargeForATimeSpan_IsRefused(string text)
    {
        Duration.TryParse(text, out _).Should().BeFalse();
    }

    [Theory]
    [InlineData(0, 0, 0, 90, "1m30s")]
    [InlineData(1, 2, 0, 0, "1d2h")]
    [InlineData(1, 2, 3, 4, "1d2h3m4s")]
    [InlineData(0, 0, 15, 0, "15m")]
    [InlineData(0, 24, 0, 0, "1d")]
    [InlineData(0, 0, 0, 1, "1s")]
    [InlineData(0, 1, 0, 1, "1h1s")]
    [InlineData(40, 0, 0, 0, "40d")]
    public void Format_LargestUnitsFirst_SkippingZeroUnits(int days, int hours, int minutes, int seconds, string expected)
    {
        var value = TimeSpan.FromDays(days) + TimeSpan.FromHours(hours) + TimeSpan.FromMinutes(minutes) + TimeSpan.FromSeconds(seconds);
        Duration.Format(value).Should().Be(expected);
    }

    [Fact]
    public void Format_ZeroNegativeOrUnderASecond_IsZeroSeconds()
    {
        Duration.Format(TimeSpan.Zero).Should().Be("0s");
        Duration.Format(TimeSpan.FromHours(-1)).Should().Be("0s");
        Duration.Format(TimeSpan.FromMilliseconds(999)).Should().Be("0s");
        Duration.Format(TimeSpan.FromMilliseconds(1500)).Should().Be("1s", "fractions of a second are dropped");
    }

    [Theory]
    [InlineData("90s")]
    [InlineData("1d2h3m4s")]
    [InlineData("7d")]
    public void Format_ThenTryParse_GivesTheSameDuration(string text)
    {
        Duration.TryParse(text, out var value).Should().BeTrue();
        Duration.TryParse(Duration.Format(value), out var again).Should().BeTrue();
        again.Should().Be(value);
    }
}
