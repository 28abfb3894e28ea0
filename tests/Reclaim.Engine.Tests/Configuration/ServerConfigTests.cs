using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

public sealed class ServerConfigTests : IDisposable
{
    private const string Secret = "0123456789abcdef0123456789abcdef";
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Load_ServerJwtWebhookAndRateLimit_AreRead()
    {
        var config = _folder.Load($"""
            server:
              jwt:
                secret: {Secret}
                audience: authenticated
                role_claim: app_role
              webhook_url: https://hooks.slack.com/services/T0/B0/XYZ
              rate_limit_per_minute: 5
            """);

        config.Server.Jwt.Should().Be(new JwtConfig(Secret, null, "authenticated", null, "app_role", "sub"));
        config.Server.WebhookUrl.Should().Be("https://hooks.slack.com/services/T0/B0/XYZ");
        config.Server.RateLimitPerMinute.Should().Be(5);
    }

    [Fact]
    public void Load_NoServerSection_HasDefaults()
    {
        var config = _folder.Load("version: 1\n");

        config.Server.Jwt.Should().BeNull();
        config.Server.WebhookUrl.Should().BeNull();
        config.Server.RateLimitPerMinute.Should().Be(30);
    }

    [Fact]
    public void Load_JwtWithBothSecretAndAuthority_IsAnError()
    {
        _folder.SingleError($"server:\n  jwt:\n    secret: {Secret}\n    authority: https://id.example.com\n", 2, 3)
            .Message.Should().Contain("either 'secret'");
    }

    [Fact]
    public void Load_JwtSecretTooShort_IsAnError()
    {
        _folder.SingleError("server:\n  jwt:\n    secret: short\n", 3, 13).Message.Should().Contain("at least 32");
    }

    [Fact]
    public void Load_WebhookThatIsNotAUrl_IsAnError()
    {
        _folder.SingleError("server:\n  webhook_url: slack\n", 2, 16).Message.Should().Contain("not an http(s) URL");
    }

    [Fact]
    public void Load_UnknownServerKey_NamesTheKnownOnes()
    {
        _folder.Errors("server:\n  webhook: https://x\n").Should().ContainSingle()
            .Which.Message.Should().Contain("webhook_url");
    }

    [Fact]
    public void ToJson_JwtSecretAndWebhookPath_AreRedacted()
    {
        var config = _folder.Load($"server:\n  jwt:\n    secret: {Secret}\n  webhook_url: https://hooks.slack.com/services/T0/B0/XYZ\n");

        var text = ConfigRedactor.ToJson(config).ToJsonString();

        text.Should().NotContain(Secret).And.NotContain("XYZ").And.Contain("https://hooks.slack.com/***");
    }
}
