using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json.Nodes;
using Reclaim.Core;
using Reclaim.Core.Planning;
using Reclaim.Core.State;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// The effective config as JSON, safe to show (<c>GET /api/v1/config</c>, <c>reclaim validate --format json</c>):
/// the keys of <c>reclaim.yaml</c>, defaults filled in, paths resolved, durations in the config's notation
/// (<c>1d</c>, <c>1m30s</c>), and secrets replaced by <see cref="ConnectionStrings.Redacted"/>.
/// </summary>
/// <remarks>
/// Redacted: a store's <c>access_key</c> and <c>secret_key</c> (when set), and the password in every connection
/// (URL user info, a <c>password</c> URL parameter, a <c>Password</c>/<c>Pwd</c> keyword). Token <c>sha256</c>
/// values are kept: they are hashes, and an operator needs them to tell keys apart.
/// </remarks>
public static class ConfigRedactor
{
    /// <summary>Renders <paramref name="config"/> as a JSON object with secrets redacted.</summary>
    /// <param name="config">A loaded config.</param>
    /// <returns>A new JSON object; the caller may change it.</returns>
    public static JsonObject ToJson(ReclaimConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var stores = new JsonObject();
        foreach (var store in config.Stores.Values)
        {
            stores[store.Name] = Store(store);
        }

        var catalogs = new JsonObject();
        foreach (var catalog in config.Catalogs.Values)
        {
            catalogs[catalog.Name] = new JsonObject { ["provider"] = catalog.Provider, ["connection"] = ConnectionStrings.Redact(catalog.Connection) };
        }

        return new JsonObject
        {
            ["path"] = config.Path,
            ["version"] = config.Version,
            ["state"] = new JsonObject { ["provider"] = config.State.Provider, ["connection"] = ConnectionStrings.Redact(config.State.Connection) },
            ["stores"] = stores,
            ["catalogs"] = catalogs,
            ["policies"] = new JsonArray([.. config.Policies.Select(Policy)]),
            ["guards"] = new JsonObject
            {
                ["max_delete_fraction"] = config.Guards.MaxDeleteFraction,
                ["min_groups_for_fraction"] = config.Guards.MinGroupsForFraction,
                ["max_delete_count"] = config.Guards.MaxDeleteCount,
                ["refuse_empty_references"] = config.Guards.RefuseEmptyReferences,
                ["refuse_empty_keep"] = config.Guards.RefuseEmptyKeep,
                ["min_age_floor"] = Duration.Format(config.Guards.MinAgeFloor),
            },
            ["trash"] = new JsonObject { ["prefix"] = config.Trash.Prefix, ["retention"] = Duration.Format(config.Trash.EffectiveRetention) },
            ["schedule"] = new JsonArray([.. config.Schedule.Select(s => (JsonNode)new JsonObject
            {
                ["policies"] = new JsonArray([.. s.Policies.Select(p => (JsonNode?)p)]),
                ["cron"] = s.Cron,
                ["timezone"] = s.TimeZone,
                ["run_on_startup"] = s.RunOnStartup,
                ["partitioned"] = s.Partitioned,
            })]),
            ["server"] = new JsonObject
            {
                ["urls"] = config.Server.Urls,
                ["join_partitioned_runs"] = config.Server.JoinPartitionedRuns,
                ["tokens"] = new JsonArray([.. (config.Server.Tokens ?? []).Select(t => (JsonNode)new JsonObject
                {
                    ["name"] = t.Name,
                    ["role"] = t.Role,
                    ["sha256"] = t.Sha256,
                })]),
                ["jwt"] = config.Server.Jwt is not { } jwt ? null : new JsonObject
                {
                    ["secret"] = jwt.Secret is null ? null : ConnectionStrings.Redacted,
                    ["authority"] = jwt.Authority,
                    ["audience"] = jwt.Audience,
                    ["issuer"] = jwt.Issuer,
                    ["role_claim"] = jwt.RoleClaim,
                    ["name_claim"] = jwt.NameClaim,
                    ["role_map"] = jwt.RoleMap is not { } map ? null : new JsonObject([.. map.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))]),
                },
                ["webhook_url"] = config.Server.WebhookUrl is null ? null : RedactUrlPath(config.Server.WebhookUrl),
                ["rate_limit_per_minute"] = config.Server.RateLimitPerMinute,
                ["cluster_checkin_interval"] = Duration.Format(config.Server.ClusterCheckinInterval),
                ["compat"] = Compat(config.Server.Compat),
            },
        };
    }

    private static JsonObject Compat(CompatConfig compat)
    {
        static JsonArray Names(IEnumerable<string> names) => new([.. names.Select(n => (JsonNode?)n)]);
        return new JsonObject
        {
            ["bulk_cleanup"] = compat.BulkCleanup is not { } bulk ? null : new JsonObject
            {
                ["policies"] = Names(bulk.Policies),
                ["retention_days_policies"] = Names(bulk.RetentionDaysPolicies),
                ["min_retention_days"] = bulk.MinRetentionDays,
                ["default_retention_days"] = bulk.DefaultRetentionDays,
                ["wait"] = Duration.Format(bulk.Wait),
            },
            ["admin_cleanup"] = compat.AdminCleanup is not { } admin ? null : new JsonObject
            {
                ["orphaned_files"] = Names(admin.OrphanedFiles),
                ["failed_sessions"] = Names(admin.FailedSessions),
                ["wait"] = Duration.Format(admin.Wait),
            },
        };
    }

    /// <summary>A webhook URL's path is its secret (Slack's <c>/services/T../B../XXXX</c>): keep only the scheme and host.</summary>
    private static string RedactUrlPath(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.GetLeftPart(UriPartial.Authority)}/{ConnectionStrings.Redacted}" : ConnectionStrings.Redacted;

    private static JsonObject Store(StoreConfig store)
    {
        var json = new JsonObject { ["type"] = store.Type };
        if (store.Type == "filesystem")
        {
            json["root"] = store.Root;
        }
        else if (store.S3 is { } s3)
        {
            // Every key the options declare, under its YAML name; secrets (DataType.Password) as ***.
            foreach (var (key, property) in ConfigBinder.S3OptionKeys)
            {
                var value = property.GetValue(s3);
                json[key] = property.GetCustomAttribute<DataTypeAttribute>()?.DataType == DataType.Password
                    ? (value is null ? null : ConnectionStrings.Redacted)
                    : value switch
                    {
                        null => null,
                        TimeSpan duration => Duration.Format(duration),
                        bool flag => flag,
                        int number => number,
                        _ => value.ToString(),
                    };
            }
        }

        json["price_per_gb_month"] = store.PricePerGbMonth;
        if (store.Costs is { } costs)
        {
            json["provider"] = costs.Provider;
            json["min_storage_duration"] = Duration.Format(costs.MinStorageDuration);
            json["request_prices"] = new JsonObject { ["list"] = costs.ListPer1000, ["copy"] = costs.CopyPer1000, ["delete"] = costs.DeletePer1000 };
        }

        return json;
    }

    private static JsonObject Policy(PolicyConfig policy)
    {
        var json = new JsonObject
        {
            ["name"] = policy.Name,
            ["type"] = policy.Kind.Name(),
            ["store"] = policy.Store,
            ["action"] = policy.Action == ActionKind.Delete ? "delete" : "quarantine",
        };
        switch (policy)
        {
            case OrphansPolicy orphans:
                json["layout"] = orphans.Layout.Template;
                json["references"] = Query(orphans.References);
                json["min_age"] = Duration.Format(orphans.MinAge);
                json["confirm_after"] = orphans.ConfirmAfter is { } orphansConfirm ? Duration.Format(orphansConfirm) : null;
                break;
            case RetentionPolicy retention:
                json["layout"] = retention.Layout.Template;
                json["max_age"] = Duration.Format(retention.MaxAge);
                json["keep"] = Query(retention.Keep);
                json["confirm_after"] = retention.ConfirmAfter is { } retentionConfirm ? Duration.Format(retentionConfirm) : null;
                break;
            case RecordsPolicy records:
                json["catalog"] = records.Catalog;
                json["query"] = records.Query;
                json["objects"] = new JsonArray([.. records.Objects.Select(o => (JsonNode?)o)]);
                json["after"] = records.After;
                break;
            case QueuePolicy queue:
                json["catalog"] = queue.Catalog;
                json["table"] = queue.Table;
                json["target"] = queue.Target;
                json["folder_depth"] = queue.FolderDepth;
                json["layout"] = queue.Layout?.Template;
                json["references"] = Query(queue.References);
                json["require_prefix"] = queue.RequirePrefix;
                break;
        }

        return json;
    }

    /// <summary>One query as <c>{catalog, query}</c>, several as a list of them, as the config wrote them.</summary>
    private static JsonNode? Query(IReadOnlyList<QueryConfig>? queries) => queries switch
    {
        null => null,
        [var one] => Query(one),
        _ => new JsonArray([.. queries.Select(q => (JsonNode?)Query(q))]),
    };

    private static JsonObject Query(QueryConfig query) => new() { ["catalog"] = query.Catalog, ["query"] = query.Query };
}
