using System.Text.RegularExpressions;
using Reclaim.Core.Planning;
using Reclaim.Core.Storage;
using Reclaim.Data.Catalogs;
using YamlDotNet.RepresentationModel;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// Maps a parsed <c>reclaim.yaml</c> to <see cref="ReclaimConfig"/>, section by section, validating as it goes.
/// Sections that others refer to (stores, catalogs, policies) are read first, whatever their order in the file,
/// so every reference can be checked in one pass.
/// </summary>
/// <param name="reader">Collects the errors.</param>
/// <param name="path">The config file's absolute path.</param>
internal sealed partial class ConfigBinder(ConfigReader reader, string path)
{
    internal static readonly string[] RootKeys = ["version", "state", "stores", "catalogs", "policies", "guards", "trash", "schedule", "server", "own_queue"];
    internal static readonly string[] StoreTypes = ["filesystem", "s3"];
    internal static readonly string[] Providers = ["sqlite", "postgres"];

    internal static readonly string[] CatalogProviders = ["sqlite", "postgres", "mysql"];
    private static readonly string[] StateKeys = ["provider", "connection"];
    private static readonly string[] CatalogKeys = ["provider", "connection"];
    private static readonly string[] FilesystemKeys = ["type", "root", "price_per_gb_month"];
    private static readonly string[] S3Keys =
        ["type", .. S3OptionKeys.Select(o => o.Key), "inventory", "price_per_gb_month", "provider", "min_storage_duration", "request_prices"];
    private static readonly string[] AnyStoreKeys = [.. FilesystemKeys.Union(S3Keys, StringComparer.Ordinal)];
    private static readonly string[] GuardKeys =
        ["max_delete_fraction", "min_groups_for_fraction", "max_delete_count", "refuse_empty_references", "refuse_empty_keep", "min_age_floor"];

    /// <summary>The guards a policy may set for itself; <c>max_delete_count</c> stays per plan.</summary>
    private static readonly string[] PolicyGuardKeys =
        ["max_delete_fraction", "min_groups_for_fraction", "refuse_empty_references", "refuse_empty_keep", "min_age_floor"];
    private static readonly string[] TrashKeys = ["prefix", "retention"];
    private static readonly string[] ScheduleKeys = ["policies", "cron", "timezone", "run_on_startup", "partitioned"];
    private static readonly string[] ServerKeys = ["urls", "tokens", "jwt", "webhook_url", "rate_limit_per_minute", "cluster_checkin_interval", "join_partitioned_runs", "compat"];
    private static readonly string[] JwtKeys = ["secret", "authority", "audience", "issuer", "role_claim", "name_claim", "role_map"];
    private static readonly string[] TokenKeys = ["name", "role", "sha256"];
    private static readonly string[] Roles = ["viewer", "operator", "admin"];

    private readonly string _directory = Path.GetDirectoryName(path)!;

    /// <summary>Binds the document's root node.</summary>
    /// <returns>The config, or <see langword="null"/> when <see cref="ConfigReader.Errors"/> is not empty.</returns>
    public ReclaimConfig? Bind(YamlNode root)
    {
        var section = reader.Section(root, string.Empty, root, "a mapping of sections at the top level (version:, stores:, catalogs:, policies:, ...)");
        if (section is null)
        {
            return null;
        }

        section.CheckKeys(RootKeys);
        var version = (int)(section.Integer("version", 0, int.MaxValue) ?? 1);
        if (version != 1)
        {
            section.Error("version", $"version {version} is not supported: this Reclaim reads version 1 (write version: 1)");
        }

        var state = ReadState(section.Section("state"));
        var stores = ReadStores(section);
        var catalogs = ReadCatalogs(section);
        var guards = ReadGuards(section.Section("guards"), GuardOptions.Default, GuardKeys);
        var policies = ReadPolicies(section, stores, catalogs, guards);
        var trash = ReadTrash(section.Section("trash"));
        var schedule = ReadSchedule(section, policies.Declared, policies.Configs, state);
        var server = ReadServer(section.Section("server"), policies.Configs);
        var ownQueue = ReadOwnQueue(section.Section("own_queue"), stores);
        if (reader.Errors.Count > 0)
        {
            return null;
        }

        return new ReclaimConfig
        {
            Path = path,
            Version = version,
            State = state!,
            Stores = stores.Configs,
            Catalogs = catalogs.Configs,
            Policies = policies.Configs,
            Guards = guards,
            Trash = trash,
            Schedule = schedule,
            Server = server,
            OwnQueue = ownQueue,
        };
    }

    /// <summary>Named entries of a section (stores, catalogs, policies): every name declared, and the configs that were valid.</summary>
    private sealed class Named<T>
    {
        public HashSet<string> Declared { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, T> Configs { get; } = new(StringComparer.Ordinal);
    }

    private StateConfig? ReadState(ConfigSection? section)
    {
        var defaultPath = StateConfig.DefaultSqlitePath(reader.Variable(StateConfig.StateDirectoryVariable));
        if (section is null)
        {
            return new StateConfig(Connection: ResolvePath(defaultPath));
        }

        section.CheckKeys(StateKeys);
        var provider = section.Choice("provider", Providers) ?? (section.Value("provider") is null ? "sqlite" : null);
        var connection = section.String("connection", provider == "postgres" ? "the PostgreSQL connection string or postgres:// URL of Reclaim's state database" : null);
        if (provider is null || (connection is null && provider == "postgres"))
        {
            return null;
        }

        connection = ReadConnection(section, provider, connection ?? defaultPath);
        return connection is null ? null : new StateConfig(provider, connection) { ConnectionAt = reader.At(section.Value("connection") ?? section.Anchor) };
    }

    private Named<StoreConfig> ReadStores(ConfigSection root) =>
        ReadNamed(root, "stores", "a store needs 'type' (filesystem or s3) and its settings", ReadStore);

    /// <summary>Reads a mapping of named entries (<c>stores:</c>, <c>catalogs:</c>), declaring every name even when its entry is invalid.</summary>
    private Named<T> ReadNamed<T>(ConfigSection root, string key, string needs, Func<string, ConfigSection, T?> read)
        where T : class
    {
        var named = new Named<T>();
        var section = root.Section(key);
        foreach (var (name, keyNode) in section?.Keys ?? [])
        {
            named.Declared.Add(name);
            if (section!.Value(name) is not { } node)
            {
                reader.Error(keyNode, $"{section.PathOf(name)}: {needs}");
            }
            else if (reader.Section(node, section.PathOf(name), keyNode) is { } entry && read(name, entry) is { } config)
            {
                named.Configs[name] = config;
            }
        }

        return named;
    }

    private StoreConfig? ReadStore(string name, ConfigSection section)
    {
        var type = section.Choice("type", StoreTypes, "filesystem (a folder) or s3 (a bucket)");
        var allowed = type switch
        {
            "filesystem" => FilesystemKeys,
            "s3" => S3Keys,
            _ => AnyStoreKeys,
        };
        section.CheckKeys(allowed, key => type is not null && AnyStoreKeys.Contains(key, StringComparer.Ordinal)
            ? $"does not apply to {type} stores (it is a setting of {(type == "s3" ? "filesystem" : "s3")} stores)"
            : null);

        var price = section.Number("price_per_gb_month", "a price per GB-month such as 0.0059");
        if (price < 0)
        {
            section.Error("price_per_gb_month", $"must be zero or more, found {price}");
        }

        if (type == "filesystem")
        {
            var root = section.String("root", "the folder that holds the store's objects, for example root: ./media");
            return root is null ? null : new StoreConfig { Name = name, Type = type, Root = ResolvePath(root), PricePerGbMonth = price };
        }

        if (type != "s3")
        {
            return null;
        }

        var options = ReadS3Options(name, section);
        var costs = ReadProviderCosts(section, price);
        if (options?.QuarantineMode == Stores.S3.S3StoreOptions.TagQuarantineMode && costs is { ObjectTagging: false })
        {
            section.Error("quarantine_mode", $"tag needs object tagging, which provider {costs.Provider}'s S3 API does not have (no PutObjectTagging): use quarantine_mode: copy, or action: delete");
        }

        return options is null ? null : new StoreConfig { Name = name, Type = type, S3 = options, PricePerGbMonth = price ?? costs?.PricePerGbMonth, Costs = costs };
    }

    private static readonly string[] RequestPriceKeys = ["list", "copy", "delete"];

    /// <summary>
    /// An s3 store's <c>provider</c> (the documented table, <see cref="StorageCosts.Providers"/>) with the config's
    /// overrides: <c>price_per_gb_month</c>, <c>min_storage_duration</c>, <c>request_prices: {list, copy, delete}</c> (per
    /// 1000 requests). <see langword="null"/> when none of them is given.
    /// </summary>
    private ProviderCosts? ReadProviderCosts(ConfigSection section, decimal? price)
    {
        var provider = section.Choice("provider", [.. StorageCosts.Providers.Keys]);
        var minimum = section.Duration("min_storage_duration", positive: false);
        var requests = section.Section("request_prices");
        if (provider is null && minimum is null && requests is null)
        {
            return null;
        }

        var costs = StorageCosts.Providers[provider ?? "generic"];
        decimal? Price(string key)
        {
            var value = requests?.Number(key, "a price per 1000 requests such as 0.005");
            if (value < 0)
            {
                requests!.Error(key, $"must be zero or more, found {value}");
            }

            return value;
        }

        requests?.CheckKeys(RequestPriceKeys);
        return costs with
        {
            PricePerGbMonth = price ?? costs.PricePerGbMonth,
            MinStorageDuration = minimum ?? costs.MinStorageDuration,
            ListPer1000 = Price("list") ?? costs.ListPer1000,
            CopyPer1000 = Price("copy") ?? costs.CopyPer1000,
            DeletePer1000 = Price("delete") ?? costs.DeletePer1000,
        };
    }

    /// <summary>A duration from 1 second to 1 hour, such as a compat route's <c>wait</c>.</summary>
    private static TimeSpan? ReadTimeout(ConfigSection section, string key = "timeout")
    {
        var timeout = section.Duration(key, positive: true);
        if (timeout is { } value && (value < TimeSpan.FromSeconds(1) || value > TimeSpan.FromHours(1)))
        {
            section.Error(key, $"must be from 1s to 1h, found '{section.String(key)}'");
            return null;
        }

        return timeout;
    }

    private Named<CatalogConfig> ReadCatalogs(ConfigSection root) =>
        ReadNamed(root, "catalogs", "a catalog needs 'provider' (sqlite, postgres or mysql) and 'connection'", ReadCatalog);

    private CatalogConfig? ReadCatalog(string name, ConfigSection section)
    {
        section.CheckKeys(CatalogKeys);
        var provider = section.Choice("provider", CatalogProviders, "sqlite, postgres or mysql (MySQL and MariaDB)");
        var connection = section.String("connection", "a SQLite file path or connection string, a PostgreSQL connection string or postgres:// URL, or a MySQL connection string or mysql:// URL");
        return provider is not null && connection is not null && ReadConnection(section, provider, connection) is { } resolved
            ? new CatalogConfig(name, provider, resolved)
            : null;
    }

    /// <summary>Resolves a SQLite connection against the config folder, or checks a PostgreSQL URL converts.</summary>
    private string? ReadConnection(ConfigSection section, string provider, string connection)
    {
        string? error;
        if (provider == "sqlite")
        {
            var resolved = ConnectionStrings.ResolveSqlite(connection, _directory, out error);
            if (error is null)
            {
                return resolved;
            }
        }
        else if (provider == "mysql")
        {
            error = MySqlConnectionError(connection);
            if (error is null)
            {
                return connection;
            }
        }
        else
        {
            try
            {
                ConnectionStrings.ToNpgsql(connection);
                return connection;
            }
            catch (FormatException e)
            {
                error = $"not a valid PostgreSQL URL: {e.Message}";
            }
        }

        section.Error("connection", error);
        return null;
    }

    /// <summary>Why a MySQL connection value is unusable (a malformed URL, a keyword MySqlConnector does not know), or <see langword="null"/>.</summary>
    private static string? MySqlConnectionError(string connection)
    {
        var url = ConnectionStrings.IsMySqlUrl(connection);
        try
        {
            MySqlCatalog.CheckConnectionString(ConnectionStrings.ToMySql(connection));
            return null;
        }
        catch (FormatException e)
        {
            return $"not a valid MySQL URL: {e.Message}";
        }
        catch (ArgumentException e)
        {
            return url
                ? $"not a valid MySQL URL: {e.Message} (a URL parameter that is not a MySQL client option must be a MySqlConnector keyword)"
                : $"not a valid MySQL connection string ({e.Message}); write a mysql://user:password@host:port/database URL or 'Server=...;User ID=...;Database=...'";
        }
    }

    /// <summary>Reads a <c>guards:</c> section (the top-level one, or a policy's override of it).</summary>
    private GuardOptions ReadGuards(ConfigSection? section, GuardOptions defaults, string[] keys)
    {
        if (section is null)
        {
            return defaults;
        }

        section.CheckKeys(keys);
        var fraction = section.Number("max_delete_fraction", "a share greater than 0 and at most 1, such as 0.10");
        if (fraction is <= 0 or > 1)
        {
            section.Error("max_delete_fraction", $"{fraction} is out of range: expected a share greater than 0 and at most 1 (0.10 is 10 %)");
        }

        return new GuardOptions(
            (double)(fraction ?? (decimal)defaults.MaxDeleteFraction),
            section.Integer("max_delete_count", 1) ?? defaults.MaxDeleteCount,
            section.Bool("refuse_empty_references") ?? defaults.RefuseEmptyReferences,
            section.Duration("min_age_floor", positive: false) ?? defaults.MinAgeFloor,
            section.Integer("min_groups_for_fraction", 1) ?? defaults.MinGroupsForFraction,
            section.Bool("refuse_empty_keep") ?? defaults.RefuseEmptyKeep);
    }

    private TrashConfig ReadTrash(ConfigSection? section)
    {
        var defaults = new TrashConfig();
        if (section is null)
        {
            return defaults;
        }

        section.CheckKeys(TrashKeys);
        var prefix = section.String("prefix") ?? defaults.Prefix;
        CheckFolderPrefix(section, "prefix", prefix);
        return new TrashConfig(prefix, section.Duration("retention", positive: true) ?? defaults.Retention);
    }

    /// <summary>Checks that a prefix is a relative key folder: valid as a key and ending in <c>/</c>.</summary>
    private static void CheckFolderPrefix(ConfigSection section, string key, string prefix)
    {
        if (ObjectKey.Validate(prefix) is { } problem)
        {
            section.Error(key, $"'{ObjectKey.Printable(prefix)}' is not a valid key prefix: {problem.Replace("the key", "it", StringComparison.Ordinal)}");
        }
        else if (!prefix.EndsWith('/'))
        {
            section.Error(key, $"'{ObjectKey.Printable(prefix)}' must end with '/' so it names a folder (write '{ObjectKey.Printable(prefix)}/')");
        }
    }

    private List<ScheduleConfig> ReadSchedule(ConfigSection root, HashSet<string> policies, IReadOnlyList<PolicyConfig> configs, StateConfig? state)
    {
        var schedule = new List<ScheduleConfig>();
        if (root.Value("schedule") is not { } node)
        {
            return schedule;
        }

        var items = reader.Items(node, "schedule", "a list of entries, each '- policies: [...]' with 'cron:'");
        for (var i = 0; i < items.Count; i++)
        {
            var entry = reader.Section(items[i], $"schedule[{i}]", items[i]);
            if (entry is null)
            {
                continue;
            }

            entry.CheckKeys(ScheduleKeys);
            var names = entry.Strings("policies", "the policies to run, for example policies: [orphan-uploads]");
            foreach (var (name, nameNode) in names ?? [])
            {
                if (!policies.Contains(name))
                {
                    reader.Error(nameNode, $"{entry.PathOf("policies")}: unknown policy '{name}'{Hint(name, policies, "policies")}");
                }
            }

            var cron = entry.String("cron", "when to run, for example cron: \"0 3 * * *\" (minute hour day month weekday)");
            if (cron is not null && CronSchedule.Problem(cron) is { } problem)
            {
                // Read by the scheduler's own parser (Quartz), so what passes here is what serve schedules.
                entry.Error("cron", $"'{cron}' is not a valid schedule: {problem}");
                cron = null;
            }

            var zone = ReadTimeZone(entry);
            var onStartup = entry.Bool("run_on_startup") ?? false;
            var partitioned = entry.Bool("partitioned") ?? false;
            if (partitioned)
            {
                CheckPartitioned(entry, names ?? [], configs, state);
            }

            if (names is { Count: > 0 } && cron is not null && zone is not null)
            {
                schedule.Add(new ScheduleConfig([.. names.Select(n => n.Text)], cron, zone) { RunOnStartup = onStartup, Partitioned = partitioned });
            }
        }

        return schedule;
    }

    /// <summary>
    /// A <c>partitioned: true</c> entry is one run shared by every replica, through the state database: it needs
    /// PostgreSQL state, and policies a partitioned run can plan (<c>orphans</c> and <c>retention</c>, without
    /// <c>confirm_after</c>, whose sightings are kept per whole plan).
    /// </summary>
    private void CheckPartitioned(ConfigSection entry, IReadOnlyList<(string Text, YamlNode Node)> names, IReadOnlyList<PolicyConfig> configs, StateConfig? state)
    {
        if (state is not null && state.Provider != "postgres")
        {
            entry.Error("partitioned", "a partitioned schedule entry is shared by every replica through the state database: set state.provider: postgres (state is sqlite here)");
        }

        foreach (var (name, node) in names)
        {
            var policy = configs.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.Ordinal));
            if (policy is not null and not LayoutPolicy)
            {
                reader.Error(node, $"{entry.PathOf("policies")}: policy '{name}' ({PolicyKinds.Name(policy.Kind)}) cannot be partitioned: a partitioned run plans orphans and retention policies; give it its own entry without 'partitioned'");
            }
            else if (policy is LayoutPolicy { ConfirmAfter: not null })
            {
                reader.Error(node, $"{entry.PathOf("policies")}: policy '{name}' has confirm_after, whose sightings are kept per whole plan: it cannot be partitioned; give it its own entry without 'partitioned'");
            }
        }
    }

    /// <summary>
    /// An IANA zone id. One whose region is wrong but whose city names exactly one zone (<c>Europe/Tbilisi</c> for
    /// <c>Asia/Tbilisi</c>) is taken as that zone; on a system without a time zone database any id is accepted.
    /// </summary>
    private static string? ReadTimeZone(ConfigSection entry)
    {
        var zone = entry.String("timezone");
        if (zone is null)
        {
            return "UTC";
        }

        if (TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _))
        {
            return zone;
        }

        var known = TimeZoneInfo.GetSystemTimeZones().Select(z => z.Id).ToList();
        if (known.Count == 0)
        {
            return zone;
        }

        var city = zone[(zone.LastIndexOf('/') + 1)..];
        var sameCity = known.Where(id => id.EndsWith($"/{city}", StringComparison.OrdinalIgnoreCase)).ToList();
        if (sameCity.Count == 1)
        {
            return sameCity[0];
        }

        entry.Error("timezone", $"unknown time zone '{zone}'{Hint(zone, known, "zones", listAll: false)}: write an IANA id such as Europe/Berlin or UTC");
        return null;
    }

    private ServerConfig ReadServer(ConfigSection? section, IReadOnlyList<PolicyConfig> policies)
    {
        var defaults = new ServerConfig();
        if (section is null)
        {
            return defaults;
        }

        section.CheckKeys(ServerKeys);
        var urls = section.String("urls") ?? defaults.Urls;
        var tokens = new List<TokenConfig>();
        var names = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        var items = section.Value("tokens") is { } node ? reader.Items(node, "server.tokens", "a list of tokens, each '- {name: ..., role: ..., sha256: ...}'") : [];
        for (var i = 0; i < items.Count; i++)
        {
            var token = reader.Section(items[i], $"server.tokens[{i}]", items[i]);
            if (token is null)
            {
                continue;
            }

            token.CheckKeys(TokenKeys);
            var name = token.String("name", "who holds the token, recorded as the actor of what it does");
            if (name is not null && !names.TryAdd(name, token.Position("name")))
            {
                token.Error("name", $"the token name '{name}' is already used at line {names[name].Start.Line}: names must be unique");
            }

            var role = token.Choice("role", Roles, "viewer, operator or admin");
            var sha256 = token.String("sha256", "the SHA-256 hex of the key, as printed by 'reclaim token create'");
            if (sha256 is not null && !Sha256Hex().IsMatch(sha256))
            {
                token.Error("sha256", Sha256Hex().IsMatch(sha256.ToLowerInvariant())
                    ? "write the SHA-256 in lower-case hex"
                    : $"expected 64 lower-case hex digits (the SHA-256 of the key), found {sha256.Length} characters");
            }

            if (name is not null && role is not null && sha256 is not null)
            {
                tokens.Add(new TokenConfig(name, role, sha256));
            }
        }

        var webhook = section.String("webhook_url");
        if (webhook is not null && !(Uri.TryCreate(webhook, UriKind.Absolute, out var hook) && hook.Scheme is "http" or "https"))
        {
            section.Error("webhook_url", $"'{webhook}' is not an http(s) URL");
        }

        // Durations are whole seconds at least, which is also the least Quartz accepts for its polling.
        var checkin = section.Duration("cluster_checkin_interval", positive: true);
        return new ServerConfig(urls, tokens)
        {
            JoinPartitionedRuns = section.Bool("join_partitioned_runs") ?? defaults.JoinPartitionedRuns,
            ClusterCheckinInterval = checkin ?? defaults.ClusterCheckinInterval,
            Jwt = ReadJwt(section.Section("jwt")),
            Compat = ReadCompat(section.Section("compat"), policies),
            WebhookUrl = webhook,
            RateLimitPerMinute = (int)(section.Integer("rate_limit_per_minute", 1, 100_000) ?? defaults.RateLimitPerMinute),
        };
    }

    private static JwtConfig? ReadJwt(ConfigSection? section)
    {
        if (section is null)
        {
            return null;
        }

        section.CheckKeys(JwtKeys);
        var secret = section.String("secret");
        var authority = section.String("authority");
        if ((secret is null) == (authority is null))
        {
            section.Reader.Error(section.Anchor, $"{section.Path}: set either 'secret' (HS256) or 'authority' (an OIDC issuer URL), not {(secret is null ? "neither" : "both")}");
        }
        else if (secret is { Length: < 32 })
        {
            section.Error("secret", "an HS256 secret must be at least 32 characters (256 bits)");
        }

        if (authority is not null && !(Uri.TryCreate(authority, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            section.Error("authority", $"'{authority}' is not an http(s) URL");
        }

        return new JwtConfig(secret, authority, section.String("audience"), section.String("issuer"))
        {
            RoleClaim = section.String("role_claim") ?? "role",
            NameClaim = section.String("name_claim") ?? "sub",
            RoleMap = ReadRoleMap(section),
        };
    }

    /// <summary>"; did you mean 'x'?" or "; defined stores: a, b" (or that none are defined) for a reference to an unknown name.</summary>
    private static string Hint(string name, IReadOnlyCollection<string> defined, string what, bool listAll = true)
    {
        if (Suggestions.Closest(name, defined) is { } suggestion)
        {
            return $"; did you mean '{suggestion}'?";
        }

        if (!listAll)
        {
            return string.Empty;
        }

        return defined.Count == 0 ? $"; no {what} are defined" : $"; defined {what}: {string.Join(", ", defined)}";
    }

    private string ResolvePath(string value) => ConnectionStrings.ResolvePath(value, _directory);

    [GeneratedRegex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Hex();
}
