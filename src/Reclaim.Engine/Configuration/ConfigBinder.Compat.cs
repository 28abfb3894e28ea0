using Reclaim.Core.Planning;

namespace Reclaim.Engine.Configuration;

/// <summary>The <c>server.compat</c> section and <c>server.jwt.role_map</c>.</summary>
internal sealed partial class ConfigBinder
{
    private static readonly string[] CompatKeys = ["bulk_cleanup", "admin_cleanup"];
    private static readonly string[] BulkCleanupKeys = ["policies", "retention_days_policies", "min_retention_days", "default_retention_days", "wait"];
    private static readonly string[] AdminCleanupKeys = ["orphaned_files", "failed_sessions", "wait"];
    private static readonly string[] MappedRoles = ["viewer", "operator", "admin", JwtConfig.NoRole];

    /// <summary>The policy kinds a compat route may run: those <c>reclaim sweep</c> runs.</summary>
    private static readonly PolicyKind[] RunnableKinds = [PolicyKind.Orphans, PolicyKind.Retention, PolicyKind.Records];

    /// <summary>Most days a retention request may name: ten years.</summary>
    private const int MaxRetentionDays = 3650;

    /// <summary><c>server.jwt.role_map</c>: application role to <c>viewer</c>, <c>operator</c>, <c>admin</c> or <c>none</c>.</summary>
    private static Dictionary<string, string>? ReadRoleMap(ConfigSection jwt)
    {
        if (jwt.Value("role_map") is null)
        {
            return null;
        }

        var section = jwt.Section("role_map");
        if (section is null)
        {
            return null;
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, _) in section.Keys)
        {
            if (section.Choice(name, MappedRoles, "the Reclaim role this application role gets: viewer, operator, admin or none") is { } role)
            {
                map[name] = role;
            }
        }

        if (map.Count == 0 && !section.Keys.Any())
        {
            jwt.Error("role_map", "the map is empty: map each application role to viewer, operator, admin or none, for example {therapist: operator, admin: admin, patient: none}");
        }

        return map;
    }

    private CompatConfig ReadCompat(ConfigSection? section, IReadOnlyList<PolicyConfig> policies)
    {
        if (section is null)
        {
            return new CompatConfig();
        }

        section.CheckKeys(CompatKeys);
        return new CompatConfig
        {
            BulkCleanup = ReadBulkCleanup(section.Section("bulk_cleanup"), policies),
            AdminCleanup = ReadAdminCleanup(section.Section("admin_cleanup"), policies),
        };
    }

    private BulkCleanupConfig? ReadBulkCleanup(ConfigSection? section, IReadOnlyList<PolicyConfig> policies)
    {
        if (section is null)
        {
            return null;
        }

        section.CheckKeys(BulkCleanupKeys);
        var run = CompatPolicies(section, "policies", policies, RunnableKinds, "the policies a bulk cleanup runs, for example policies: [expire-clips]") ?? [];
        var retention = CompatPolicies(section, "retention_days_policies", policies, [PolicyKind.Retention], null) ?? [];
        foreach (var name in retention.Where(n => !run.Contains(n, StringComparer.Ordinal)))
        {
            section.Error("retention_days_policies", $"'{name}' is not in {section.PathOf("policies")}: list it there too, so a request runs it");
        }

        var floor = (int)(section.Integer("min_retention_days", 1, MaxRetentionDays) ?? 1);
        var fallback = (int)(section.Integer("default_retention_days", 1, MaxRetentionDays) ?? BulkCleanupConfig.SeedRetentionDays);
        if (fallback < floor)
        {
            section.Error(section.Value("default_retention_days") is null ? "min_retention_days" : "default_retention_days",
                $"default_retention_days ({fallback}) is below min_retention_days ({floor}): a request without retention_days would be refused");
        }

        return new BulkCleanupConfig
        {
            Policies = run,
            RetentionDaysPolicies = retention,
            MinRetentionDays = floor,
            DefaultRetentionDays = fallback,
            Wait = ReadTimeout(section, "wait") ?? TimeSpan.FromMinutes(5),
        };
    }

    private AdminCleanupConfig? ReadAdminCleanup(ConfigSection? section, IReadOnlyList<PolicyConfig> policies)
    {
        if (section is null)
        {
            return null;
        }

        section.CheckKeys(AdminCleanupKeys);
        var orphaned = CompatPolicies(section, "orphaned_files", policies, [PolicyKind.Orphans], null) ?? [];
        var failed = CompatPolicies(section, "failed_sessions", policies, [PolicyKind.Records], null) ?? [];
        if (section.Value("orphaned_files") is null && section.Value("failed_sessions") is null)
        {
            section.Reader.Error(section.Anchor, $"{section.Path}: name the policies of at least one of 'orphaned_files' (orphans policies) and 'failed_sessions' (records policies)");
        }

        return new AdminCleanupConfig { OrphanedFiles = orphaned, FailedSessions = failed, Wait = ReadTimeout(section, "wait") ?? TimeSpan.FromMinutes(5) };
    }

    /// <summary>A list of policy names that must exist and be of one of <paramref name="kinds"/>.</summary>
    private List<string>? CompatPolicies(ConfigSection section, string key, IReadOnlyList<PolicyConfig> policies, PolicyKind[] kinds, string? required)
    {
        var names = section.Strings(key, required);
        if (names is null)
        {
            return null;
        }

        var list = new List<string>();
        foreach (var (name, node) in names)
        {
            var policy = policies.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.Ordinal));
            if (policy is null)
            {
                reader.Error(node, $"{section.PathOf(key)}: unknown policy '{name}'{Hint(name, [.. policies.Select(p => p.Name)], "policies")}");
            }
            else if (!kinds.Contains(policy.Kind))
            {
                reader.Error(node, $"{section.PathOf(key)}: policy '{name}' is of type {policy.Kind.Name()}; this list takes {string.Join(" or ", kinds.Select(k => k.Name()))} policies");
            }
            else if (!list.Contains(name, StringComparer.Ordinal))
            {
                list.Add(name);
            }
        }

        return list;
    }
}
