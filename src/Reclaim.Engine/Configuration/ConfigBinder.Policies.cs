using System.Text.RegularExpressions;
using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using YamlDotNet.RepresentationModel;

namespace Reclaim.Engine.Configuration;

internal sealed partial class ConfigBinder
{
    internal static readonly string[] PolicyTypes = ["orphans", "retention", "records", "queue"];
    private static readonly string[] Actions = ["delete", "quarantine"];
    private static readonly string[] Targets = ["key", "folder"];
    private static readonly string[] QueryKeys = ["catalog", "query"];
    private static readonly string[] CommonPolicyKeys = ["name", "type", "store", "action", "guards"];

    /// <summary>The keys each policy type takes besides <see cref="CommonPolicyKeys"/>.</summary>
    private static readonly Dictionary<string, string[]> PolicyKeys = new(StringComparer.Ordinal)
    {
        ["orphans"] = ["layout", "references", "min_age", "confirm_after"],
        ["retention"] = ["layout", "max_age", "keep", "confirm_after"],
        ["records"] = ["catalog", "query", "objects", "after", "scope"],
        ["queue"] = ["catalog", "table", "target", "folder_depth", "require_prefix", "layout", "references", "poll_interval", "lease", "max_attempts", "retry_delay", "concurrency", "batch_size"],
    };

    /// <summary>The keys of <c>own_queue:</c>.</summary>
    private static readonly string[] OwnQueueKeys = ["poll_interval", "lease", "max_attempts", "retry_delay", "concurrency", "batch_size", "require_prefix"];

    private static readonly string[] AnyPolicyKeys = [.. CommonPolicyKeys.Concat(PolicyKeys.Values.SelectMany(k => k)).Distinct(StringComparer.Ordinal)];

    private (HashSet<string> Declared, List<PolicyConfig> Configs) ReadPolicies(ConfigSection root, Named<StoreConfig> stores, Named<CatalogConfig> catalogs, GuardOptions guards)
    {
        var declared = new HashSet<string>(StringComparer.Ordinal);
        var configs = new List<PolicyConfig>();
        var names = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        var items = root.Value("policies") is { } node
            ? reader.Items(node, "policies", "a list of policies, each starting with '- name: ...'")
            : [];
        for (var i = 0; i < items.Count; i++)
        {
            var errorsBefore = reader.Errors.Count;
            var section = reader.Section(items[i], $"policies[{i}]", items[i]);
            if (section is null)
            {
                continue;
            }

            var name = section.String("name", "a unique name, used by --policy and schedule");
            if (name is not null)
            {
                section.Path = $"policies.{name}";
                declared.Add(name);
                if (!names.TryAdd(name, section.Position("name")))
                {
                    section.Error("name", $"the policy name '{name}' is already used at line {names[name].Start.Line}: policy names must be unique");
                }
            }

            var policy = ReadPolicy(section, name, stores, catalogs, guards);
            if (policy is not null && reader.Errors.Count == errorsBefore)
            {
                configs.Add(policy);
            }
        }

        return (declared, configs);
    }

    private PolicyConfig? ReadPolicy(ConfigSection section, string? name, Named<StoreConfig> stores, Named<CatalogConfig> catalogs, GuardOptions guards)
    {
        var type = section.Choice("type", PolicyTypes, "orphans, retention, records or queue");
        section.CheckKeys(type is null ? AnyPolicyKeys : [.. CommonPolicyKeys, .. PolicyKeys[type]], key => type is null ? null : Misplaced(key, type));

        var store = section.String("store", "the store the policy acts on (a name under stores:)");
        if (store is not null && !stores.Declared.Contains(store))
        {
            section.Error("store", $"unknown store '{store}'{Hint(store, stores.Declared, "stores")}");
        }

        var action = section.Choice("action", Actions) switch
        {
            "delete" => ActionKind.Delete,
            _ => ActionKind.Quarantine,
        };

        if (type is null)
        {
            return null;
        }

        // A policy with a missing name or store is still read through, so every problem is reported; the caller drops
        // it. A required key that is missing has been reported too: the policy is then dropped (null).
        var policyGuards = section.Section("guards") is { } own ? ReadGuards(own, guards, PolicyGuardKeys) : null;
        var common = (Name: name ?? string.Empty, Store: store ?? string.Empty, Action: action, Guards: policyGuards, Location: reader.At(section.Node));
        switch (type)
        {
            case "orphans":
            {
                var layout = ReadLayout(section);
                var references = ReadQueries(section, "references", catalogs,
                    "the catalog query whose rows name the live groups, for example references: {catalog: app, query: \"SELECT org_id AS org, id AS asset FROM media_assets\"}");
                var minAge = section.Duration("min_age", positive: false);
                var confirmAfter = section.Duration("confirm_after", positive: true);
                return layout is null || references is null ? null : new OrphansPolicy
                {
                    Name = common.Name, Store = common.Store, Action = common.Action, Guards = common.Guards, Location = common.Location,
                    Layout = layout,
                    References = references,
                    MinAge = minAge ?? TimeSpan.FromHours(24),
                    ConfirmAfter = confirmAfter,
                };
            }

            case "retention":
            {
                var maxAge = section.Duration("max_age", positive: true);
                if (section.Value("max_age") is null)
                {
                    section.Missing("max_age", "the age past which groups go, for example max_age: 30d");
                }

                var layout = ReadLayout(section);
                var keep = ReadQueries(section, "keep", catalogs, required: null);
                var confirmAfter = section.Duration("confirm_after", positive: true);
                return layout is null || maxAge is null ? null : new RetentionPolicy
                {
                    Name = common.Name, Store = common.Store, Action = common.Action, Guards = common.Guards, Location = common.Location,
                    Layout = layout,
                    MaxAge = maxAge.Value,
                    Keep = keep,
                    ConfirmAfter = confirmAfter,
                };
            }

            case "records":
            {
                var catalog = ReadCatalogName(section, "catalog", catalogs);
                var query = section.String("query", "the SELECT whose rows name what goes");
                var objects = ReadObjectTemplates(section);
                var after = section.String("after");
                var scope = section.String("scope");
                return catalog is null || query is null ? null : new RecordsPolicy
                {
                    Name = common.Name, Store = common.Store, Action = common.Action, Guards = common.Guards, Location = common.Location,
                    Catalog = catalog,
                    Query = query,
                    Objects = objects,
                    After = after,
                    Scope = scope,
                };
            }

            default:
                return ReadQueue(section, common, catalogs);
        }
    }

    /// <summary>Why a key of another policy type does not apply to <paramref name="type"/>, or <see langword="null"/> for an unknown key.</summary>
    private static string? Misplaced(string key, string type)
    {
        var owners = PolicyKeys.Where(p => p.Value.Contains(key, StringComparer.Ordinal)).Select(p => p.Key).ToList();
        return owners.Count == 0 ? null : $"does not apply to {type} policies (it is a setting of {string.Join(" and ", owners)} policies)";
    }

    private QueuePolicy? ReadQueue(ConfigSection section, (string Name, string Store, ActionKind Action, GuardOptions? Guards, ConfigLocation Location) common, Named<CatalogConfig> catalogs)
    {
        var table = section.String("table", "the deletion-request table, for example table: media_cleanup_jobs");
        if (table is not null && !TableName().IsMatch(table))
        {
            section.Error("table", $"'{table}' is not a table name: write name or schema.name (letters, digits and '_', not starting with a digit)");
        }

        var target = section.Choice("target", Targets, "key (delete the request's key) or folder (delete the folder it is in)");
        var depth = section.Integer("folder_depth", 1, 1000);
        if (depth is not null && target == "key")
        {
            section.Error("folder_depth", "applies only with target: folder");
        }

        var requirePrefix = section.String("require_prefix");
        if (requirePrefix is not null)
        {
            CheckFolderPrefix(section, "require_prefix", requirePrefix);
        }

        var layout = section.Value("layout") is null ? null : ReadLayout(section);
        if (layout is { IsFolder: false } && target == "folder")
        {
            section.Error("layout", $"'{layout.Template}' names single objects, but target: folder empties a folder: end the layout in '/' (for example \"orgs/{{org}}/uploads/{{asset}}/\") or use target: key");
        }

        var references = ReadQueries(section, "references", catalogs, required: null);
        if (section.Value("references") is not null && layout is null && section.Value("layout") is null)
        {
            section.Error("references", "needs a layout: the query's columns are named like the layout's variables, for example layout: \"orgs/{org}/uploads/{asset}/\"");
        }

        var worker = ReadWorkerSettings(section);
        var catalog = ReadCatalogName(section, "catalog", catalogs);
        if (catalog is not null && catalogs.Configs.TryGetValue(catalog, out var queueCatalog) && queueCatalog.Provider == "mysql")
        {
            section.Error("catalog", $"catalog '{catalog}' is mysql: a queue policy's table is read on a sqlite or postgres catalog (MySQL catalogs serve references, keep and records queries)");
        }

        if (catalog is null || table is null || target is null)
        {
            return null;
        }

        var defaults = new QueuePolicy { Name = common.Name, Store = common.Store, Catalog = catalog, Table = table, Target = target };
        return defaults with
        {
            Action = common.Action,
            Guards = common.Guards,
            Location = common.Location,
            Layout = layout,
            References = references,
            FolderDepth = (int)(depth ?? defaults.FolderDepth),
            RequirePrefix = requirePrefix,
            PollInterval = worker.PollInterval ?? defaults.PollInterval,
            Lease = worker.Lease ?? defaults.Lease,
            MaxAttempts = worker.MaxAttempts ?? defaults.MaxAttempts,
            RetryDelay = worker.RetryDelay ?? defaults.RetryDelay,
            Concurrency = worker.Concurrency ?? defaults.Concurrency,
            BatchSize = worker.BatchSize,
        };
    }

    /// <summary>The worker settings a queue policy and <c>own_queue:</c> share; <see langword="null"/> where not set.</summary>
    private static (TimeSpan? PollInterval, TimeSpan? Lease, int? MaxAttempts, TimeSpan? RetryDelay, int? Concurrency, int? BatchSize) ReadWorkerSettings(ConfigSection section) =>
        (section.Duration("poll_interval", positive: true),
         section.Duration("lease", positive: true),
         (int?)section.Integer("max_attempts", 1, 100),
         section.Duration("retry_delay", positive: false),
         (int?)section.Integer("concurrency", 1, 256),
         (int?)section.Integer("batch_size", 1, 10000));

    /// <summary>
    /// <c>own_queue:</c>: the own queue's worker settings and <c>require_prefix</c>, a mapping of store names to the
    /// folder requests for that store must be inside.
    /// </summary>
    private OwnQueueConfig ReadOwnQueue(ConfigSection? section, Named<StoreConfig> stores)
    {
        var defaults = new OwnQueueConfig();
        if (section is null)
        {
            return defaults;
        }

        section.CheckKeys(OwnQueueKeys);
        var worker = ReadWorkerSettings(section);
        var prefixes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (section.Value("require_prefix") is { } node && reader.Section(node, section.PathOf("require_prefix"), node, "a mapping of store names to folders, for example require_prefix: {media: \"orgs/\"}") is { } map)
        {
            foreach (var (store, keyNode) in map.Keys)
            {
                if (!stores.Declared.Contains(store))
                {
                    reader.Error(keyNode, $"{map.PathOf(store)}: unknown store '{store}'{Hint(store, stores.Declared, "stores")}");
                }
                else if (map.String(store, "the folder requests for this store must be inside, ending in '/'") is { } prefix)
                {
                    CheckFolderPrefix(map, store, prefix);
                    prefixes[store] = prefix;
                }
            }
        }

        var concurrency = worker.Concurrency ?? defaults.Settings.Concurrency;
        return new OwnQueueConfig
        {
            Settings = new Queue.QueueSettings(worker.PollInterval ?? defaults.Settings.PollInterval, worker.Lease ?? defaults.Settings.Lease,
                worker.MaxAttempts ?? defaults.Settings.MaxAttempts, worker.RetryDelay ?? defaults.Settings.RetryDelay, concurrency, worker.BatchSize ?? concurrency * 4),
            RequirePrefix = prefixes,
        };
    }

    private Layout? ReadLayout(ConfigSection section)
    {
        var template = section.String("layout", "a key template such as \"orgs/{org}/uploads/{asset}/\" ({name} is one segment, {name...} the rest)");
        if (template is null)
        {
            return null;
        }

        if (!Layout.TryParse(template, out var layout, out var error))
        {
            section.Error("layout", $"'{template}' is not a valid layout: {error}");
        }

        return layout;
    }

    /// <summary>
    /// A <c>references:</c> or <c>keep:</c> value: one <c>{catalog, query}</c>, or a list of them (several owners of one
    /// prefix, possibly on different catalogs); an empty list is an error, as is an item that is not a mapping.
    /// </summary>
    private IReadOnlyList<QueryConfig>? ReadQueries(ConfigSection section, string key, Named<CatalogConfig> catalogs, string? required)
    {
        if (section.Value(key) is not YamlSequenceNode list)
        {
            return ReadQuery(section.Section(key, required), catalogs) is { } single ? [single] : null;
        }

        var path = section.PathOf(key);
        var queries = new List<QueryConfig>();
        var items = list.Children;
        for (var i = 0; i < items.Count; i++)
        {
            if (ReadQuery(reader.Section(items[i], $"{path}[{i}]", items[i], "a {catalog, query} mapping"), catalogs) is { } query)
            {
                queries.Add(query);
            }
        }

        if (items.Count == 0)
        {
            section.Error(key, "the list is empty: give one {catalog, query} mapping per application that owns the groups, or leave the key out");
        }

        return queries.Count == 0 ? null : queries;
    }

    private QueryConfig? ReadQuery(ConfigSection? query, Named<CatalogConfig> catalogs)
    {
        if (query is null)
        {
            return null;
        }

        query.CheckKeys(QueryKeys);
        var catalog = ReadCatalogName(query, "catalog", catalogs);
        var select = query.String("query", "the SELECT whose columns are named like the layout's variables");
        return catalog is null || select is null ? null : new QueryConfig(catalog, select);
    }

    private string? ReadCatalogName(ConfigSection section, string key, Named<CatalogConfig> catalogs)
    {
        var catalog = section.String(key, "the catalog to query (a name under catalogs:)");
        if (catalog is not null && !catalogs.Declared.Contains(catalog))
        {
            section.Error(key, $"unknown catalog '{catalog}'{Hint(catalog, catalogs.Declared, "catalogs")}");
        }

        return catalog;
    }

    private IReadOnlyList<string> ReadObjectTemplates(ConfigSection section)
    {
        var templates = section.Strings("objects", "the key template(s) rendered per row, for example objects: \"{file}\" (a value ending in '/' is a folder)");
        foreach (var (template, node) in templates ?? [])
        {
            if (ColumnReference().Replace(template, string.Empty).IndexOfAny(['{', '}']) >= 0)
            {
                reader.Error(node, $"{section.PathOf("objects")}: '{template}' has a brace that is not a column reference: write {{column}} with the column's name");
            }
        }

        return [.. (templates ?? []).Select(t => t.Text)];
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex TableName();

    [GeneratedRegex(@"\{[A-Za-z_][A-Za-z0-9_]*\}", RegexOptions.CultureInvariant)]
    private static partial Regex ColumnReference();
}
