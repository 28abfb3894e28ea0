using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// Helpers for the connection values a config holds: PostgreSQL and MySQL URLs (as Heroku, Render, Supabase,
/// PlanetScale and <c>DATABASE_URL</c> conventions write them) turned into Npgsql or MySqlConnector keyword strings,
/// SQLite paths resolved against the config folder, and passwords redacted for display.
/// </summary>
public static partial class ConnectionStrings
{
    /// <summary>What a redacted secret is shown as.</summary>
    public const string Redacted = "***";

    private static readonly string[] PasswordKeywords = ["password", "pwd", "ssl password", "sslpassword"];

    private static readonly string[] SqliteFileKeywords = ["data source", "datasource", "filename"];

    /// <summary>libpq URL parameters and the Npgsql keywords they become (PostgreSQL docs §34.1.2 "Parameter Key Words").</summary>
    private static readonly Dictionary<string, string> LibpqToNpgsql = new(StringComparer.OrdinalIgnoreCase)
    {
        ["host"] = "Host",
        ["port"] = "Port",
        ["user"] = "Username",
        ["password"] = "Password",
        ["dbname"] = "Database",
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["options"] = "Options",
        ["target_session_attrs"] = "Target Session Attributes",
        ["channel_binding"] = "Channel Binding",
        ["search_path"] = "Search Path",
    };

    /// <summary>
    /// MySQL client options (<c>mysql --help</c>; <c>_</c> written as <c>-</c>), the spellings other URL conventions use
    /// for them, and the MySqlConnector keywords they become.
    /// </summary>
    private static readonly Dictionary<string, string> MySqlOptions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ssl-mode"] = "SslMode",
        ["sslmode"] = "SslMode",
        ["sslaccept"] = "SslMode",
        ["ssl-ca"] = "SslCa",
        ["sslca"] = "SslCa",
        ["sslrootcert"] = "SslCa",
        ["ssl-cert"] = "SslCert",
        ["sslcert"] = "SslCert",
        ["ssl-key"] = "SslKey",
        ["sslkey"] = "SslKey",
        ["connect-timeout"] = "Connection Timeout",
        ["connecttimeout"] = "Connection Timeout",
        ["charset"] = "CharacterSet",
        ["user"] = "User ID",
        ["username"] = "User ID",
        ["host"] = "Server",
        ["dbname"] = "Database",
    };

    /// <summary>The MySQL client's <c>--ssl-mode</c> values (and libpq's, which some URLs carry) and MySqlConnector's spelling of them.</summary>
    private static readonly Dictionary<string, string> MySqlSslModes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["disabled"] = "None",
        ["disable"] = "None",
        ["preferred"] = "Preferred",
        ["prefer"] = "Preferred",
        ["required"] = "Required",
        ["require"] = "Required",
        ["verify_ca"] = "VerifyCA",
        ["verify-ca"] = "VerifyCA",
        ["verify_identity"] = "VerifyFull",
        ["verify-full"] = "VerifyFull",
    };

    /// <summary>libpq <c>sslmode</c>/<c>channel_binding</c> values and Npgsql's spelling of them.</summary>
    private static readonly Dictionary<string, string> LibpqValues = new(StringComparer.OrdinalIgnoreCase)
    {
        ["disable"] = "Disable",
        ["allow"] = "Allow",
        ["prefer"] = "Prefer",
        ["require"] = "Require",
        ["verify-ca"] = "VerifyCA",
        ["verify-full"] = "VerifyFull",
    };

    /// <summary>Whether <paramref name="connection"/> is a <c>postgres://</c> or <c>postgresql://</c> URL.</summary>
    /// <param name="connection">A connection value from the config.</param>
    /// <returns><see langword="true"/> for a URL (scheme compared case-insensitively).</returns>
    public static bool IsPostgresUrl(string connection) =>
        connection.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ||
        connection.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Converts a libpq connection URL, <c>postgres[ql]://[user[:password]@][host[:port][,host[:port]...]][/database][?param=value&amp;...]</c>,
    /// to an Npgsql keyword connection string (<c>Host=...;Port=...;Username=...;Password=...;Database=...</c>).
    /// Percent-escapes are decoded (so <c>%2Fvar%2Frun%2Fpostgresql</c> is a Unix socket folder); several hosts
    /// become Npgsql's <c>Host=a:5432,b:5433</c>; an IPv6 host is written in brackets (<c>[::1]:5432</c>). URL
    /// parameters with a libpq name (<c>sslmode</c>, <c>application_name</c>, <c>connect_timeout</c>, <c>options</c>,
    /// <c>target_session_attrs</c>, <c>sslrootcert</c>, ...) become their Npgsql keyword, and <c>sslmode</c> values
    /// their Npgsql spelling (<c>verify-full</c> → <c>VerifyFull</c>); any other parameter is passed through as an
    /// Npgsql keyword (<c>?Pooling=false</c>). A value that is not a URL is returned unchanged: it is already a
    /// keyword string.
    /// </summary>
    /// <param name="connection">A URL or a keyword string.</param>
    /// <returns>An Npgsql keyword connection string.</returns>
    /// <exception cref="FormatException">The URL is malformed (a bad port, a bad escape, an unclosed IPv6 bracket); the message says where.</exception>
    public static string ToNpgsql(string connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (!IsPostgresUrl(connection))
        {
            return connection;
        }

        var url = ParseUrl(connection);
        var parts = new List<KeyValuePair<string, string>>();
        AddUser(url, "Username", "Password", parts);
        if (url.Hosts.Count == 1)
        {
            parts.Add(new("Host", url.Hosts[0].Host.Trim('[', ']')));
            if (url.Hosts[0].Port is { } port)
            {
                parts.Add(new("Port", port));
            }
        }
        else if (url.Hosts.Count > 1)
        {
            parts.Add(new("Host", string.Join(',', url.Hosts.Select(h => h.Port is null ? h.Host : $"{h.Host}:{h.Port}"))));
        }

        if (url.Database.Length > 0)
        {
            parts.Add(new("Database", url.Database));
        }

        foreach (var (parameter, text) in url.Parameters)
        {
            var name = parameter;
            var value = text;
            if (LibpqToNpgsql.TryGetValue(name, out var keyword))
            {
                name = keyword;
                if (keyword is "SSL Mode" or "Channel Binding" && LibpqValues.TryGetValue(value, out var spelled))
                {
                    value = spelled;
                }
            }

            Set(parts, name, value);
        }

        return Join(parts);
    }

    /// <summary>Whether <paramref name="connection"/> is a <c>mysql://</c>, <c>mariadb://</c> or <c>mysql2://</c> (Rails) URL.</summary>
    /// <param name="connection">A connection value from the config.</param>
    /// <returns><see langword="true"/> for a URL (scheme compared case-insensitively).</returns>
    public static bool IsMySqlUrl(string connection) =>
        connection.StartsWith("mysql://", StringComparison.OrdinalIgnoreCase) ||
        connection.StartsWith("mariadb://", StringComparison.OrdinalIgnoreCase) ||
        connection.StartsWith("mysql2://", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Converts a MySQL connection URL, <c>mysql://[user[:password]@][host[:port][,host...]][/database][?param=value&amp;...]</c>
    /// (also <c>mariadb://</c>, and <c>mysql2://</c> as Rails writes it), to a MySqlConnector keyword connection string
    /// (<c>Server=...;Port=...;User ID=...;Password=...;Database=...</c>). Percent-escapes are decoded, so
    /// <c>%2Frun%2Fmysqld%2Fmysqld.sock</c> is a Unix socket; several hosts become MySqlConnector's
    /// <c>Server=a,b</c> (one port for all, as MySqlConnector takes it); an IPv6 host is written in brackets.
    /// The MySQL client's option names become their MySqlConnector keywords: <c>ssl-mode</c> (also <c>sslmode</c>,
    /// <c>ssl_mode</c>; <c>DISABLED</c>, <c>PREFERRED</c>, <c>REQUIRED</c>, <c>VERIFY_CA</c>, <c>VERIFY_IDENTITY</c>
    /// become <c>None</c>, <c>Preferred</c>, <c>Required</c>, <c>VerifyCA</c>, <c>VerifyFull</c>), <c>ssl-ca</c>,
    /// <c>ssl-cert</c>, <c>ssl-key</c>, <c>connect-timeout</c> (seconds) and <c>charset</c>; Prisma's and
    /// PlanetScale's <c>sslaccept=strict</c> is <c>SslMode=VerifyFull</c>. Any other parameter is passed through as a
    /// MySqlConnector keyword (<c>?Pooling=false</c>). A value that is not a URL is returned unchanged: it is already a
    /// keyword string.
    /// </summary>
    /// <param name="connection">A URL or a keyword string.</param>
    /// <returns>A MySqlConnector keyword connection string.</returns>
    /// <exception cref="FormatException">The URL is malformed (a bad port, a bad escape, hosts on different ports); the message says where.</exception>
    public static string ToMySql(string connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (!IsMySqlUrl(connection))
        {
            return connection;
        }

        var url = ParseUrl(connection);
        var parts = new List<KeyValuePair<string, string>>();
        if (url.Hosts.Count > 0)
        {
            var ports = url.Hosts.Select(h => h.Port).Where(p => p is not null).Distinct(StringComparer.Ordinal).ToList();
            if (ports.Count > 1)
            {
                throw new FormatException($"the hosts are on different ports ({string.Join(", ", ports)}): MySqlConnector takes one port for all its servers");
            }

            parts.Add(new("Server", string.Join(',', url.Hosts.Select(h => h.Host.Trim('[', ']')))));
            if (ports.Count == 1)
            {
                parts.Add(new("Port", ports[0]!));
            }
        }

        AddUser(url, "User ID", "Password", parts);
        if (url.Database.Length > 0)
        {
            parts.Add(new("Database", url.Database));
        }

        foreach (var (name, value) in url.Parameters)
        {
            var (keyword, spelled) = MySqlParameter(name, value);
            Set(parts, keyword, spelled);
        }

        return Join(parts);
    }

    /// <summary>
    /// Hides passwords in a connection value for display: the password of a URL's user info and any
    /// <c>password</c> URL parameter, or the <c>Password</c>/<c>Pwd</c>/<c>SSL Password</c> keywords of a keyword
    /// string, become <see cref="Redacted"/>. A value that is neither (a SQLite path) is returned unchanged; a
    /// keyword string that cannot be parsed is redacted whole, since its secrets cannot be found.
    /// </summary>
    /// <param name="connection">A connection value.</param>
    /// <returns>The value with its secrets replaced.</returns>
    public static string Redact(string connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var scheme = connection.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0 && !connection[..scheme].Contains('=', StringComparison.Ordinal))
        {
            return RedactUrl(connection, scheme + 3);
        }

        if (!connection.Contains('=', StringComparison.Ordinal))
        {
            return connection;
        }

        return IsKeywordString(connection, out _) ? ReplaceValues(connection, PasswordKeywords, _ => Redacted) : Redacted;
    }

    /// <summary>
    /// Resolves a SQLite connection value against <paramref name="directory"/>: a bare path (no <c>=</c>) becomes
    /// absolute; in a keyword string, a relative <c>Data Source</c>/<c>DataSource</c>/<c>Filename</c> does.
    /// <c>:memory:</c> and <c>file:</c> URIs are left as they are.
    /// </summary>
    /// <param name="connection">A path or a Microsoft.Data.Sqlite connection string.</param>
    /// <param name="directory">The config file's folder.</param>
    /// <param name="error">Why the keyword string cannot be parsed, when it cannot.</param>
    /// <returns>The resolved value; the input when <paramref name="error"/> is set.</returns>
    internal static string ResolveSqlite(string connection, string directory, out string? error)
    {
        error = null;
        if (!connection.Contains('=', StringComparison.Ordinal))
        {
            return ResolveSqlitePath(connection, directory);
        }

        if (!IsKeywordString(connection, out var problem))
        {
            error = $"not a valid connection string ({problem}); write a file path or 'Data Source=PATH;...'";
            return connection;
        }

        return ReplaceValues(connection, SqliteFileKeywords, value => ResolveSqlitePath(value, directory));
    }

    /// <summary>Resolves a path written in the config: <c>~/</c> is the home folder, a relative path is under <paramref name="directory"/>.</summary>
    internal static string ResolvePath(string path, string directory)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            path = Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[1..].TrimStart('/'));
        }

        return Path.GetFullPath(path, directory);
    }

    private static string ResolveSqlitePath(string path, string directory) =>
        path.Length == 0 || path == ":memory:" || path.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            ? path
            : ResolvePath(path, directory);

    /// <summary>The parts of a <c>scheme://[user[:password]@][host[:port][,...]][/database][?name=value&amp;...]</c> URL, decoded.</summary>
    private sealed record ConnectionUrl(string? User, string? Password, List<(string Host, string? Port)> Hosts, string Database, List<(string Name, string Value)> Parameters);

    private static ConnectionUrl ParseUrl(string connection)
    {
        var rest = connection[(connection.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var fragment = rest.IndexOf('#', StringComparison.Ordinal);
        if (fragment >= 0)
        {
            rest = rest[..fragment];
        }

        var query = string.Empty;
        var questionMark = rest.IndexOf('?', StringComparison.Ordinal);
        if (questionMark >= 0)
        {
            query = rest[(questionMark + 1)..];
            rest = rest[..questionMark];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash >= 0 ? rest[..slash] : rest;
        var database = slash >= 0 ? Decode(rest[(slash + 1)..]) : string.Empty;

        string? user = null;
        string? password = null;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            user = Decode(colon >= 0 ? userInfo[..colon] : userInfo);
            password = colon >= 0 ? Decode(userInfo[(colon + 1)..]) : null;
        }

        var parameters = new List<(string Name, string Value)>();
        foreach (var parameter in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = parameter.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"the URL parameter '{parameter}' has no value: write name=value");
            }

            parameters.Add((Decode(parameter[..equals]), Decode(parameter[(equals + 1)..])));
        }

        return new ConnectionUrl(user, password, ParseHosts(authority), database, parameters);
    }

    private static List<(string Host, string? Port)> ParseHosts(string authority)
    {
        var hosts = new List<(string Host, string? Port)>();
        if (authority.Length == 0)
        {
            return hosts;
        }

        foreach (var entry in authority.Split(','))
        {
            string host;
            string? port = null;
            if (entry.StartsWith('['))
            {
                var close = entry.IndexOf(']', StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new FormatException($"the host '{entry}' opens '[' without closing it");
                }

                host = entry[..(close + 1)];
                if (close + 1 < entry.Length)
                {
                    port = entry[(close + 1)..].StartsWith(':') ? entry[(close + 2)..] : throw new FormatException($"unexpected text after the IPv6 host '{host}'");
                }
            }
            else
            {
                var colon = entry.LastIndexOf(':');
                host = Decode(colon >= 0 ? entry[..colon] : entry);
                port = colon >= 0 ? entry[(colon + 1)..] : null;
            }

            if (port is not null && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535))
            {
                throw new FormatException($"the port '{port}' is not a number from 1 to 65535");
            }

            hosts.Add((host, port));
        }

        return hosts;
    }

    private static void AddUser(ConnectionUrl url, string userKeyword, string passwordKeyword, List<KeyValuePair<string, string>> parts)
    {
        if (url.User is { Length: > 0 } user)
        {
            parts.Add(new(userKeyword, user));
        }

        if (url.Password is { } password)
        {
            parts.Add(new(passwordKeyword, password));
        }
    }

    /// <summary>Sets a keyword, replacing an earlier value of it (keywords compare case-insensitively).</summary>
    private static void Set(List<KeyValuePair<string, string>> parts, string keyword, string value)
    {
        parts.RemoveAll(p => string.Equals(p.Key, keyword, StringComparison.OrdinalIgnoreCase));
        parts.Add(new(keyword, value));
    }

    /// <summary>A MySQL client option (<c>ssl-mode</c>, <c>ssl_ca</c>, ...) as a MySqlConnector keyword and value; other names pass through.</summary>
    private static (string Keyword, string Value) MySqlParameter(string name, string value)
    {
        var option = name.Replace('_', '-');
        if (!MySqlOptions.TryGetValue(option, out var keyword))
        {
            return (name, value);
        }

        if (keyword != "SslMode")
        {
            return (keyword, value);
        }

        if (string.Equals(option, "sslaccept", StringComparison.OrdinalIgnoreCase))
        {
            return (keyword, string.Equals(value, "strict", StringComparison.OrdinalIgnoreCase) ? "VerifyFull" : "Required");
        }

        return (keyword, MySqlSslModes.TryGetValue(value, out var mode) ? mode : value);
    }

    private static string RedactUrl(string url, int authorityStart)
    {
        var end = url.IndexOfAny(['/', '?', '#'], authorityStart);
        var authority = end < 0 ? url[authorityStart..] : url[authorityStart..end];
        var at = authority.LastIndexOf('@');
        var colon = at < 0 ? -1 : authority.IndexOf(':', StringComparison.Ordinal);
        var builder = new StringBuilder(url.Length);
        builder.Append(url, 0, authorityStart);
        builder.Append(colon >= 0 && colon < at ? $"{authority[..(colon + 1)]}{Redacted}{authority[at..]}" : authority);
        if (end >= 0)
        {
            var tail = url[end..];
            var question = tail.IndexOf('?', StringComparison.Ordinal);
            builder.Append(question < 0 ? tail : tail[..(question + 1)] + RedactQuery(tail[(question + 1)..]));
        }

        return builder.ToString();
    }

    private static string RedactQuery(string query) => string.Join('&', query.Split('&').Select(parameter =>
    {
        var equals = parameter.IndexOf('=', StringComparison.Ordinal);
        return equals > 0 && PasswordKeywords.Contains(Uri.UnescapeDataString(parameter[..equals]), StringComparer.OrdinalIgnoreCase)
            ? $"{parameter[..(equals + 1)]}{Redacted}"
            : parameter;
    }));

    private static string Decode(string text)
    {
        for (var i = text.IndexOf('%', StringComparison.Ordinal); i >= 0; i = text.IndexOf('%', i + 1))
        {
            if (i + 2 >= text.Length || !char.IsAsciiHexDigit(text[i + 1]) || !char.IsAsciiHexDigit(text[i + 2]))
            {
                throw new FormatException($"'{text}' has a malformed percent-escape: write %XX with two hex digits (%25 for '%' itself)");
            }
        }

        return Uri.UnescapeDataString(text);
    }

    private static bool IsKeywordString(string connection, out string? problem)
    {
        try
        {
            _ = new DbConnectionStringBuilder { ConnectionString = connection };
            problem = null;
            return true;
        }
        catch (ArgumentException e)
        {
            problem = e.Message;
            return false;
        }
    }

    /// <summary>
    /// Replaces the values of <paramref name="keywords"/> in a keyword string, keeping the rest of the text as the
    /// user wrote it (DbConnectionStringBuilder would lower-case every keyword).
    /// </summary>
    private static string ReplaceValues(string connection, string[] keywords, Func<string, string> replace) =>
        KeywordValue().Replace(connection, match =>
        {
            var key = match.Groups["key"].Value;
            if (!keywords.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                return match.Value;
            }

            // AppendKeyValuePair quotes the value as needed, and adds a ';' of its own when the builder is not empty.
            var pair = new StringBuilder();
            DbConnectionStringBuilder.AppendKeyValuePair(pair, key, replace(Unquote(match.Groups["value"].Value)));
            return match.Groups["lead"].Value + pair;
        });

    private static string Unquote(string value)
    {
        value = value.Trim();
        if (value.Length >= 2 && value[0] is '"' or '\'' && value[^1] == value[0])
        {
            return value[1..^1].Replace($"{value[0]}{value[0]}", value[0].ToString(), StringComparison.Ordinal);
        }

        return value;
    }

    [GeneratedRegex(@"(?<lead>(?:^|;)\s*)(?<key>[^;=]+?)\s*=\s*(?<value>""(?:[^""]|"""")*""|'(?:[^']|'')*'|[^;]*)", RegexOptions.CultureInvariant)]
    private static partial Regex KeywordValue();

    private static string Join(IEnumerable<KeyValuePair<string, string>> parts)
    {
        var builder = new StringBuilder();
        foreach (var (key, value) in parts)
        {
            DbConnectionStringBuilder.AppendKeyValuePair(builder, key, value);
        }

        return builder.ToString();
    }
}
