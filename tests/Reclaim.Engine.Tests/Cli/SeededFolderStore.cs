using System.Security.Cryptography;
using System.Text;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Cli;

/// <summary>
/// A folder store and a SQLite catalog seeded so that a wrong code path would destroy something: referenced
/// groups, old orphaned groups, a young group and unmatched keys, all old enough to matter, under a config whose
/// policy deletes (not quarantines) its orphans and whose guards let the orphans through.
/// </summary>
/// <remarks>
/// Object times are set on the files (no waiting): old objects are 30 days old and the young group 10 minutes old
/// by <see cref="Clock"/>. <see cref="Snapshot"/> reads the folder itself, not through the product's store, so it
/// sees links and names the store never lists.
/// </remarks>
internal sealed class SeededFolderStore : IDisposable
{
    /// <summary>The config every case starts from; cases edit one line of it with <see cref="EditConfig"/>.</summary>
    public const string BaseConfig = """
        version: 1
        stores:
          media:
            type: filesystem
            root: ./media
        catalogs:
          app:
            provider: sqlite
            connection: ./app.db
        policies:
          - name: orphan-uploads
            type: orphans
            store: media
            layout: "orgs/{org}/uploads/{asset}/"
            references:
              catalog: app
              query: "SELECT org_id AS org, id AS asset FROM media_assets"
            min_age: 24h
            action: delete
        guards:
          max_delete_fraction: 0.5

        """;

    /// <summary>Groups a catalog row references: (org, asset).</summary>
    public static readonly (string Org, string Asset)[] Referenced =
        [("o1", "a1"), ("o1", "a2"), ("o2", "b1"), ("o2", "b2"), ("o3", "c1"), ("o3", "c2")];

    /// <summary>Old groups no row references.</summary>
    public static readonly (string Org, string Asset)[] Orphans = [("o1", "gone1"), ("o2", "gone2")];

    /// <summary>Keys the layout does not match.</summary>
    public static readonly string[] Unmatched = ["orgs/o1/exports/r.csv", "tmp/x.part", "orgs/o1/uploads/loose.mp4"];

    private readonly TemporaryFolder _folder = new("bad-input");
    private readonly SqliteDatabase _catalog;

    public SeededFolderStore()
    {
        _catalog = new SqliteDatabase(Database);
        Directory.CreateDirectory(Root);
        foreach (var (org, asset) in Referenced.Concat(Orphans))
        {
            foreach (var key in Files(org, asset))
            {
                Put(key, OldTime);
            }
        }

        foreach (var key in Unmatched)
        {
            Put(key, OldTime);
        }

        foreach (var key in Files("o1", "fresh"))
        {
            Put(key, YoungTime);
        }

        Sql("CREATE TABLE media_assets (id TEXT NOT NULL, org_id TEXT NOT NULL, PRIMARY KEY (org_id, id))");
        foreach (var (org, asset) in Referenced)
        {
            Sql($"INSERT INTO media_assets (id, org_id) VALUES ('{asset}', '{org}')");
        }

        WriteConfig(BaseConfig);
    }

    /// <summary>The clock every command sees.</summary>
    public ManualClock Clock { get; } = new();

    /// <summary>When the old objects were last written: 30 days before <see cref="Clock"/>.</summary>
    public DateTime OldTime => Clock.GetUtcNow().UtcDateTime.AddDays(-30);

    /// <summary>When the young group was written: 10 minutes before <see cref="Clock"/>.</summary>
    public DateTime YoungTime => Clock.GetUtcNow().UtcDateTime.AddMinutes(-10);

    /// <summary>The folder holding the config, the catalog, the store's root and anything a case adds.</summary>
    public string Dir => _folder.Path;

    /// <summary>The store's root folder.</summary>
    public string Root => _folder.Combine("media");

    /// <summary>The catalog's database file.</summary>
    public string Database => _folder.Combine("app.db");

    /// <summary>The config file.</summary>
    public string ConfigPath => _folder.Combine("reclaim.yaml");

    /// <summary>The config as last written.</summary>
    public string Config { get; private set; } = string.Empty;

    /// <summary>Every file of the orphaned groups: what a correct sweep removes, and nothing else.</summary>
    public static IReadOnlyList<string> OrphanFiles => [.. Orphans.SelectMany(o => Files(o.Org, o.Asset))];

    /// <summary>A group's key.</summary>
    public static string Group(string org, string asset) => $"orgs/{org}/uploads/{asset}/";

    /// <summary>The files of a group.</summary>
    public static string[] Files(string org, string asset) =>
        [$"{Group(org, asset)}raw/v.mp4", $"{Group(org, asset)}streaming/seg_000.ts", $"{Group(org, asset)}thumbnail.jpg"];

    /// <summary>Writes a file into the store's folder with a given last write time; the content depends on the key.</summary>
    public void Put(string key, DateTime modifiedUtc)
    {
        var path = Path.Join(Root, key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $"content of {key}");
        File.SetLastWriteTimeUtc(path, modifiedUtc);
    }

    /// <summary>Runs SQL on the catalog.</summary>
    public void Sql(string sql) => _catalog.Execute(sql);

    /// <summary>Runs a query returning one number on the catalog.</summary>
    public long Count(string sql) => _catalog.Count(sql);

    /// <summary>Writes <paramref name="yaml"/> as the config.</summary>
    public void WriteConfig(string yaml)
    {
        Config = yaml;
        File.WriteAllText(ConfigPath, yaml);
    }

    /// <summary>Rewrites the config with one piece of text replaced (it must be there exactly once).</summary>
    /// <returns>The new config.</returns>
    public string EditConfig(string find, string replacement)
    {
        var first = Config.IndexOf(find, StringComparison.Ordinal);
        if (first < 0 || Config.IndexOf(find, first + 1, StringComparison.Ordinal) >= 0)
        {
            throw new ArgumentException($"'{find}' is not in the config exactly once", nameof(find));
        }

        WriteConfig(Config.Replace(find, replacement, StringComparison.Ordinal));
        return Config;
    }

    /// <summary>Where <paramref name="text"/> first stands in the config, as the product names a place: <c>file:line:column</c>, 1-based.</summary>
    public string At(string text)
    {
        var index = Config.IndexOf(text, StringComparison.Ordinal);
        if (index < 0)
        {
            throw new ArgumentException($"'{text}' is not in the config", nameof(text));
        }

        var line = Config.AsSpan(0, index).Count('\n') + 1;
        var lineStart = index == 0 ? 0 : Config.LastIndexOf('\n', index - 1) + 1;
        return $"{ConfigPath}:{line}:{index - lineStart + 1}";
    }

    /// <summary>Runs <c>reclaim ARGS -c CONFIG</c> in-process.</summary>
    public Task<CliResult> RunAsync(params string[] args) => CliRun.RunAsync(Clock, [.. args, "-c", ConfigPath]);

    /// <summary>Everything under the store's root, read from the filesystem (links recorded, never followed).</summary>
    public IReadOnlyList<FolderEntry> Snapshot() => FolderEntry.Read(Root);

    /// <summary>
    /// The snapshot <paramref name="before"/> without the given files and the folders they leave empty: what must
    /// remain after a correct sweep that deletes them.
    /// </summary>
    public static IReadOnlyList<FolderEntry> Without(IReadOnlyList<FolderEntry> before, IEnumerable<string> removed)
    {
        var gone = removed.ToHashSet(StringComparer.Ordinal);
        var kept = before.Where(e => e.Kind != "folder" && !gone.Contains(e.Path)).ToList();

        // The store removes the folders a delete leaves empty.
        bool Emptied(FolderEntry folder) =>
            gone.Any(g => g.StartsWith(folder.Path, StringComparison.Ordinal)) && !kept.Any(k => k.Path.StartsWith(folder.Path, StringComparison.Ordinal));
        return [.. before.Where(e => e.Kind == "folder" ? !Emptied(e) : !gone.Contains(e.Path))];
    }

    public void Dispose() => _folder.Dispose();
}

/// <summary>One entry of a folder tree as the filesystem has it.</summary>
/// <param name="Path">The path relative to the tree's root, <c>/</c>-separated.</param>
/// <param name="Kind"><c>file</c>, <c>folder</c> or <c>link</c>.</param>
/// <param name="Size">A file's length in bytes; 0 otherwise.</param>
/// <param name="Modified">A file's last write time, UTC; default otherwise (a folder's changes with its entries).</param>
/// <param name="Sha256">A file's content hash; a link's target; empty for a folder.</param>
internal readonly record struct FolderEntry(string Path, string Kind, long Size, DateTime Modified, string Sha256)
{
    /// <summary>Reads a tree, in ordinal path order, never following a link.</summary>
    public static IReadOnlyList<FolderEntry> Read(string root)
    {
        var entries = new List<FolderEntry>();
        Walk(new DirectoryInfo(root), string.Empty, entries);
        entries.Sort((x, y) => string.CompareOrdinal(x.Path, y.Path));
        return entries;
    }

    private static void Walk(DirectoryInfo folder, string prefix, List<FolderEntry> entries)
    {
        foreach (var info in folder.EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0 }))
        {
            var path = prefix + info.Name;
            if (info.LinkTarget is { } target)
            {
                entries.Add(new FolderEntry(path, "link", 0, default, target));
            }
            else if (info is DirectoryInfo sub)
            {
                entries.Add(new FolderEntry(path + "/", "folder", 0, default, string.Empty));
                Walk(sub, path + "/", entries);
            }
            else
            {
                var file = (FileInfo)info;
                var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file.FullName)));
                entries.Add(new FolderEntry(path, "file", file.Length, file.LastWriteTimeUtc, hash));
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Kind == "file"
        ? $"{Path.Replace("\n", "\\n", StringComparison.Ordinal)} ({Size} B, {Modified:O})"
        : $"{Path.Replace("\n", "\\n", StringComparison.Ordinal)} ({Kind}{(Sha256.Length > 0 ? " -> " + Sha256 : string.Empty)})";
}
