using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

public sealed class ConnectionStringsTests
{
    [Theory]
    [InlineData("postgres://reclaim:secret@db.internal:5433/app", "Username=reclaim;Password=secret;Host=db.internal;Port=5433;Database=app")]
    [InlineData("postgresql://reclaim@db/app", "Username=reclaim;Host=db;Database=app")]
    [InlineData("POSTGRES://db", "Host=db")]
    [InlineData("postgres://u:p%40ss%3Bword@db/my%20db", "Username=u;Password=\"p@ss;word\";Host=db;Database=\"my db\"")]
    [InlineData("postgres://u@db/app?sslmode=verify-full&application_name=reclaim&connect_timeout=10", "Username=u;Host=db;Database=app;SSL Mode=VerifyFull;Application Name=reclaim;Timeout=10")]
    [InlineData("postgres://u@db/app?sslmode=require&Pooling=false", "Username=u;Host=db;Database=app;SSL Mode=Require;Pooling=false")]
    [InlineData("postgres://u@a:5432,b:5433/app?target_session_attrs=primary", "Username=u;Host=a:5432,b:5433;Database=app;Target Session Attributes=primary")]
    [InlineData("postgres://%2Fvar%2Frun%2Fpostgresql/app", "Host=/var/run/postgresql;Database=app")]
    [InlineData("postgres://u@[::1]:5432/app", "Username=u;Host=::1;Port=5432;Database=app")]
    [InlineData("postgres:///app?host=/tmp", "Database=app;Host=/tmp")]
    public void ToNpgsql_Url_GivesKeywords(string url, string expected)
    {
        ConnectionStrings.ToNpgsql(url).Should().Be(expected);
    }

    [Fact]
    public void ToNpgsql_KeywordString_IsReturnedUnchanged()
    {
        ConnectionStrings.ToNpgsql("Host=db;Username=u;Password=p").Should().Be("Host=db;Username=u;Password=p");
    }

    [Theory]
    [InlineData("postgres://u@db:port/app", "port")]
    [InlineData("postgres://u@db:70000/app", "1 to 65535")]
    [InlineData("postgres://u:p%zz@db/app", "percent-escape")]
    [InlineData("postgres://u@[::1/app", "'['")]
    [InlineData("postgres://u@db/app?sslmode", "no value")]
    public void ToNpgsql_MalformedUrl_ThrowsFormatExceptionSayingWhere(string url, string expected)
    {
        var convert = () => ConnectionStrings.ToNpgsql(url);

        convert.Should().Throw<FormatException>().WithMessage($"*{expected}*");
    }

    [Theory]
    [InlineData("postgres://reclaim:secret@db:5432/app?sslmode=require", "postgres://reclaim:***@db:5432/app?sslmode=require")]
    [InlineData("postgres://reclaim@db/app?password=secret&sslmode=require", "postgres://reclaim@db/app?password=***&sslmode=require")]
    [InlineData("Host=db;Username=u;Password=secret", "Host=db;Username=u;Password=***")]
    [InlineData("Data Source=app.db;Pwd=secret", "Data Source=app.db;Pwd=***")]
    [InlineData("Host=db; password = \"se;cr\"\"et\" ;Port=5432", "Host=db; password=*** ;Port=5432")]
    [InlineData("/var/lib/app.db", "/var/lib/app.db")]
    [InlineData("Host=db;Password='unterminated", "***")]
    public void Redact_Connection_HidesOnlyPasswords(string connection, string expected)
    {
        ConnectionStrings.Redact(connection).Should().Be(expected);
    }
}
