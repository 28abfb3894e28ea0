using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary>MySQL catalogs in the config: URLs and keyword strings, and what is refused with file, line and column.</summary>
public sealed class MySqlConfigTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("mysql://reclaim:secret@db.internal:3307/app", "Server=db.internal;Port=3307;User ID=reclaim;Password=secret;Database=app")]
    [InlineData("mariadb://reclaim@db/app", "Server=db;User ID=reclaim;Database=app")]
    [InlineData("mysql2://u:p%40ss%3Bword@db/my%20db", "Server=db;User ID=u;Password=\"p@ss;word\";Database=\"my db\"")]
    [InlineData("MYSQL://db", "Server=db")]
    [InlineData("mysql://u@db/app?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ca.pem&connect_timeout=10", "Server=db;User ID=u;Database=app;SslMode=VerifyFull;SslCa=/etc/ca.pem;Connection Timeout=10")]
    [InlineData("mysql://u@db/app?sslaccept=strict", "Server=db;User ID=u;Database=app;SslMode=VerifyFull")]
    [InlineData("mysql://u@db/app?ssl_mode=disabled&Pooling=false", "Server=db;User ID=u;Database=app;SslMode=None;Pooling=false")]
    [InlineData("mysql://u@a:3306,b:3306/app", "Server=a,b;Port=3306;User ID=u;Database=app")]
    [InlineData("mysql://u@%2Frun%2Fmysqld%2Fmysqld.sock/app", "Server=/run/mysqld/mysqld.sock;User ID=u;Database=app")]
    [InlineData("mysql://u@[::1]:3306/app", "Server=::1;Port=3306;User ID=u;Database=app")]
    public void ToMySql_Url_GivesMySqlConnectorKeywords(string url, string expected)
    {
        ConnectionStrings.ToMySql(url).Should().Be(expected);
    }

    [Fact]
    public void ToMySql_KeywordString_IsReturnedUnchanged()
    {
        ConnectionStrings.ToMySql("Server=db;User ID=u;Password=p").Should().Be("Server=db;User ID=u;Password=p");
    }

    [Theory]
    [InlineData("mysql://u@db:port/app", "port")]
    [InlineData("mysql://u@a:3306,b:3307/app", "different ports")]
    [InlineData("mysql://u:p%zz@db/app", "percent-escape")]
    [InlineData("mysql://u@db/app?ssl-mode", "no value")]
    public void ToMySql_MalformedUrl_ThrowsFormatExceptionSayingWhere(string url, string expected)
    {
        var convert = () => ConnectionStrings.ToMySql(url);

        convert.Should().Throw<FormatException>().WithMessage($"*{expected}*");
    }

    [Theory]
    [InlineData("mysql://reclaim:secret@db:3306/app", "mysql://reclaim:***@db:3306/app")]
    [InlineData("Server=db;User ID=u;Password=secret", "Server=db;User ID=u;Password=***")]
    [InlineData("Server=db;User ID=u;pwd=secret", "Server=db;User ID=u;pwd=***")]
    public void Redact_MySqlConnection_HidesThePassword(string connection, string expected)
    {
        ConnectionStrings.Redact(connection).Should().Be(expected);
    }

    [Fact]
    public void Load_MySqlCatalog_KeepsTheConnectionAsWritten()
    {
        var config = _folder.Load("""
            catalogs:
              app: {provider: mysql, connection: "mysql://app:pw@db/app?ssl-mode=REQUIRED"}
              legacy: {provider: mysql, connection: "Server=db2;User ID=app;Database=legacy"}
            """);

        config.Catalogs["app"].Should().Be(new CatalogConfig("app", "mysql", "mysql://app:pw@db/app?ssl-mode=REQUIRED"));
        config.Catalogs["legacy"].Connection.Should().Be("Server=db2;User ID=app;Database=legacy");
    }

    [Fact]
    public void Load_MySqlUrlWithBadPort_IsReportedAtTheConnection()
    {
        _folder.SingleError("catalogs:\n  app: {provider: mysql, connection: \"mysql://u@db:99999/app\"}\n", 2, 38)
            .Message.Should().Contain("not a valid MySQL URL").And.Contain("1 to 65535");
    }

    [Fact]
    public void Load_MySqlKeywordMySqlConnectorDoesNotKnow_IsNamed()
    {
        _folder.SingleError("catalogs:\n  app: {provider: mysql, connection: \"Server=db;Colour=blue\"}\n", 2, 38)
            .Message.Should().Contain("not a valid MySQL connection string").And.Contain("colour");
    }

    [Fact]
    public void Load_MySqlUrlParameterThatIsNoOption_IsNamed()
    {
        _folder.SingleError("catalogs:\n  app: {provider: mysql, connection: \"mysql://u@db/app?colour=blue\"}\n", 2, 38)
            .Message.Should().Contain("not a valid MySQL URL").And.Contain("colour");
    }

    [Fact]
    public void Load_StateOnMySql_IsRefused_StateIsSqliteOrPostgres()
    {
        _folder.SingleError("state: {provider: mysql, connection: \"mysql://u@db/reclaim\"}\n", 1, 19)
            .Message.Should().Contain("'mysql' is not one of sqlite | postgres");
    }

    [Fact]
    public void Load_QueuePolicyOnAMySqlCatalog_IsRefusedAtItsCatalog()
    {
        var error = _folder.SingleError("""
            stores:
              s: {type: filesystem, root: ./media}
            catalogs:
              app: {provider: mysql, connection: "mysql://u@db/app"}
            policies:
              - name: requests
                type: queue
                store: s
                catalog: app
                table: media_cleanup_jobs
                target: key
            """, 9, 14);

        error.Message.Should().Contain("catalog 'app' is mysql").And.Contain("sqlite or postgres");
    }
}
