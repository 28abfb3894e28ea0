using System.Text;

namespace Reclaim.Testing;

/// <summary>
/// Writes the YAML of a test's <c>reclaim.yaml</c> a section at a time — its state, stores, catalogs, policies and
/// guards — so that a test names only what it is about:
/// <code>
/// new TestConfig().FolderStore().SqliteCatalog().OrphanUploads("min_age: 1s").Guards("max_delete_fraction: 1").Yaml
/// </code>
/// A section's settings are YAML lines (<c>"min_age: 1s"</c>) written in the order given, below what the method itself
/// writes; a section with nothing in it is left out. Every file says <c>version: 1</c>.
/// </summary>
public sealed class TestConfig
{
    /// <summary>The layout of the usual uploads policy: one group a folder <c>orgs/ORG/uploads/ASSET/</c>.</summary>
    public const string UploadsLayout = "orgs/{org}/uploads/{asset}/";

    /// <summary>The references query of the usual uploads policy, over <c>media_assets (org_id, id)</c>.</summary>
    public const string AssetsQuery = "SELECT org_id AS org, id AS asset FROM media_assets";

    private readonly List<string> _state = [];
    private readonly List<string> _stores = [];
    private readonly List<string> _catalogs = [];
    private readonly List<string> _policies = [];
    private readonly List<string> _guards = [];

    /// <summary>The YAML written so far.</summary>
    public string Yaml
    {
        get
        {
            var yaml = new StringBuilder("version: 1\n");
            foreach (var line in _state)
            {
                yaml.Append(line).Append('\n');
            }

            Section(yaml, "stores", _stores);
            Section(yaml, "catalogs", _catalogs);
            Section(yaml, "policies", _policies);
            Section(yaml, "guards", _guards);
            return yaml.ToString();
        }
    }

    /// <summary>State in a SQLite file: <c>state: {provider: sqlite, connection: CONNECTION}</c>.</summary>
    /// <param name="connection">The file, relative to the config's folder (e.g. <c>./state.db</c>).</param>
    /// <returns>This builder.</returns>
    public TestConfig SqliteState(string connection)
    {
        _state.Add($"state: {{provider: sqlite, connection: {connection}}}");
        return this;
    }

    /// <summary>A filesystem store: <c>NAME: {type: filesystem, root: ROOT}</c>.</summary>
    /// <param name="name">The store's name; default <c>media</c>.</param>
    /// <param name="root">Its root, relative to the config's folder; default <c>./media</c>.</param>
    /// <returns>This builder.</returns>
    public TestConfig FolderStore(string name = "media", string root = "./media")
    {
        _stores.Add($"{name}: {{type: filesystem, root: {root}}}");
        return this;
    }

    /// <summary>
    /// An S3 store on the test's s3rver (or a proxy in front of it): its bucket, endpoint, path-style addressing and
    /// s3rver's keys (<see cref="TestEnvironment.S3rverAccessKey"/>), then <paramref name="settings"/>.
    /// </summary>
    /// <param name="bucket">The bucket.</param>
    /// <param name="endpoint">The endpoint (s3rver's, or a <see cref="FaultProxy"/>'s).</param>
    /// <param name="settings">More of the store's settings, one YAML line each (<c>"timeout: 1s"</c>).</param>
    /// <returns>This builder.</returns>
    public TestConfig S3Store(string bucket, Uri endpoint, params string[] settings) => S3Store("media", bucket, endpoint, settings);

    /// <summary>An S3 store named <paramref name="name"/>; see <see cref="S3Store(string, Uri, string[])"/>.</summary>
    /// <param name="name">The store's name.</param>
    /// <param name="bucket">The bucket.</param>
    /// <param name="endpoint">The endpoint.</param>
    /// <param name="settings">More of the store's settings, one YAML line each.</param>
    /// <returns>This builder.</returns>
    public TestConfig S3Store(string name, string bucket, Uri endpoint, params string[] settings)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _stores.Add($"{name}:");
        Indented(_stores, 2,
            [
                "type: s3",
                $"bucket: {bucket}",
                $"endpoint: {endpoint}",
                "force_path_style: true",
                $"access_key: {TestEnvironment.S3rverAccessKey}",
                $"secret_key: {TestEnvironment.S3rverSecretKey}",
                .. settings,
            ]);
        return this;
    }

    /// <summary>A SQLite catalog: <c>NAME: {provider: sqlite, connection: CONNECTION}</c>.</summary>
    /// <param name="name">The catalog's name; default <c>app</c>.</param>
    /// <param name="connection">The file, relative to the config's folder; default <c>./app.db</c>.</param>
    /// <returns>This builder.</returns>
    public TestConfig SqliteCatalog(string name = "app", string connection = "./app.db")
    {
        _catalogs.Add($"{name}: {{provider: sqlite, connection: {connection}}}");
        return this;
    }

    /// <summary>A policy: <c>- name: NAME</c>, <c>type: TYPE</c>, then <paramref name="settings"/>.</summary>
    /// <param name="name">The policy's name.</param>
    /// <param name="type">Its kind: <c>orphans</c>, <c>retention</c>, <c>records</c>, <c>queue</c>.</param>
    /// <param name="settings">Its settings, one YAML line each (<c>"store: media"</c>, <c>"max_age: 5d"</c>).</param>
    /// <returns>This builder.</returns>
    public TestConfig Policy(string name, string type, params string[] settings)
    {
        _policies.Add($"- name: {name}");
        Indented(_policies, 2, [$"type: {type}", .. settings]);
        return this;
    }

    /// <summary>
    /// An orphans policy: groups of <paramref name="layout"/> in <paramref name="store"/> that no row of
    /// <paramref name="query"/> in <paramref name="catalog"/> references, then <paramref name="settings"/>.
    /// </summary>
    /// <param name="name">The policy's name.</param>
    /// <param name="store">Its store.</param>
    /// <param name="layout">Its layout (no double quotes in it).</param>
    /// <param name="catalog">The references query's catalog.</param>
    /// <param name="query">The references query (no double quotes in it).</param>
    /// <param name="settings">More of its settings, one YAML line each (<c>"min_age: 1s"</c>, <c>"action: quarantine"</c>).</param>
    /// <returns>This builder.</returns>
    public TestConfig Orphans(string name, string store, string layout, string catalog, string query, params string[] settings) =>
        Policy(name, "orphans", [$"store: {store}", $"layout: \"{layout}\"", $"references: {{catalog: {catalog}, query: \"{query}\"}}", .. settings]);

    /// <summary>
    /// The usual orphans policy <c>orphan-uploads</c> on store <c>media</c>: layout <see cref="UploadsLayout"/>,
    /// references <see cref="AssetsQuery"/> in catalog <c>app</c>, then <paramref name="settings"/>.
    /// </summary>
    /// <param name="settings">More of its settings, one YAML line each (<c>"min_age: 1s"</c>, <c>"action: quarantine"</c>).</param>
    /// <returns>This builder.</returns>
    public TestConfig OrphanUploads(params string[] settings) => Orphans("orphan-uploads", "media", UploadsLayout, "app", AssetsQuery, settings);

    /// <summary>
    /// The usual retention policy <c>expire-clips</c> on store <c>media</c>: groups of <paramref name="layout"/> older
    /// than <c>max_age: 5d</c>, except those <paramref name="keepQuery"/> in <paramref name="keepCatalog"/> renders to.
    /// </summary>
    /// <param name="keepCatalog">The keep query's catalog.</param>
    /// <param name="keepQuery">The keep query (no double quotes in it).</param>
    /// <param name="layout">The layout; default <c>clips/{clip}</c>.</param>
    /// <returns>This builder.</returns>
    public TestConfig ExpireClips(string keepCatalog, string keepQuery, string layout = "clips/{clip}") =>
        Policy("expire-clips", "retention",
            "store: media", $"layout: \"{layout}\"", "max_age: 5d", $"keep: {{catalog: {keepCatalog}, query: \"{keepQuery}\"}}");

    /// <summary>Guards, one YAML line each (<c>"max_delete_fraction: 1"</c>).</summary>
    /// <param name="settings">The guards' settings.</param>
    /// <returns>This builder.</returns>
    public TestConfig Guards(params string[] settings)
    {
        _guards.AddRange(settings);
        return this;
    }

    /// <summary>Writes <see cref="Yaml"/> to <paramref name="path"/>.</summary>
    /// <param name="path">The file.</param>
    /// <returns><paramref name="path"/>.</returns>
    public async Task<string> WriteAsync(string path)
    {
        await File.WriteAllTextAsync(path, Yaml).ConfigureAwait(false);
        return path;
    }

    /// <inheritdoc/>
    public override string ToString() => Yaml;

    private static void Indented(List<string> lines, int spaces, IEnumerable<string> settings) =>
        lines.AddRange(settings.Select(s => new string(' ', spaces) + s));

    private static void Section(StringBuilder yaml, string name, List<string> lines)
    {
        if (lines.Count == 0)
        {
            return;
        }

        yaml.Append(name).Append(":\n");
        foreach (var line in lines)
        {
            yaml.Append("  ").Append(line).Append('\n');
        }
    }
}
