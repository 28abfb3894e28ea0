using System.Globalization;
using System.Text.Json;

namespace Reclaim.Testing;

/// <summary>
/// The store and catalog that partitioned-run tests share: <see cref="Orgs"/> orgs whose ids (<c>00org</c>,
/// <c>08org</c> … <c>f8org</c>) put two in each of the 16 key ranges (by their first hex digit), each with 3 referenced
/// and 3 orphaned assets of 2 objects (<c>raw.mp4</c>, <c>thumb.jpg</c>) under <see cref="Layout"/>, 2 hours old; the
/// referenced assets are the rows of the catalog's <c>media_assets (id, org_id)</c>. 192 objects are orphaned in all.
/// </summary>
public sealed class PartitionedUploads
{
    /// <summary>How many orgs: 32, two per key range.</summary>
    public const int Orgs = 32;

    /// <summary>The layout of the uploads: one group per asset folder.</summary>
    public const string Layout = "orgs/{org}/uploads/{asset}/";

    /// <summary>
    /// The references query on PostgreSQL, slowed by 0.25 s a read (<c>pg_sleep</c>): every plan of a range and every
    /// re-check reads it, so that a run takes long enough for several participants to take part in it.
    /// </summary>
    public const string SlowReferencesQuery = "SELECT org_id AS org, id AS asset FROM media_assets CROSS JOIN pg_sleep(0.25) AS s";

    private PartitionedUploads(HashSet<string> referenced, HashSet<string> orphaned)
    {
        Referenced = referenced;
        Orphaned = orphaned;
    }

    /// <summary>The keys of the referenced assets' objects (192).</summary>
    public IReadOnlySet<string> Referenced { get; }

    /// <summary>The keys of the orphaned assets' objects (192).</summary>
    public IReadOnlySet<string> Orphaned { get; }

    /// <summary>Writes the objects under <paramref name="mediaRoot"/> and creates and fills <c>media_assets</c>.</summary>
    /// <param name="mediaRoot">The folder store's root (created when missing).</param>
    /// <param name="executeSql">Runs statements on the catalog.</param>
    /// <returns>The keys written, referenced and orphaned.</returns>
    public static async Task<PartitionedUploads> SeedAsync(string mediaRoot, Func<string, Task> executeSql)
    {
        ArgumentNullException.ThrowIfNull(executeSql);
        await executeSql("CREATE TABLE media_assets (id TEXT NOT NULL, org_id TEXT NOT NULL, PRIMARY KEY (org_id, id))").ConfigureAwait(false);
        var old = DateTime.UtcNow.AddHours(-2);
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        var orphaned = new HashSet<string>(StringComparer.Ordinal);
        var values = new List<string>();
        for (var i = 0; i < Orgs; i++)
        {
            var org = (i * 8).ToString("x2", CultureInfo.InvariantCulture) + "org";
            for (var asset = 0; asset < 6; asset++)
            {
                var live = asset < 3;
                foreach (var file in new[] { "raw.mp4", "thumb.jpg" })
                {
                    var key = $"orgs/{org}/uploads/a{asset}/{file}";
                    var path = Path.Combine(mediaRoot, key);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await File.WriteAllTextAsync(path, key).ConfigureAwait(false);
                    File.SetLastWriteTimeUtc(path, old);
                    (live ? referenced : orphaned).Add(key);
                }

                if (live)
                {
                    values.Add($"('a{asset}', '{org}')");
                }
            }
        }

        await executeSql($"INSERT INTO media_assets (id, org_id) VALUES {string.Join(", ", values)}").ConfigureAwait(false);
        return new PartitionedUploads(referenced, orphaned);
    }

    /// <summary>The group keys a plan proposes, policy by policy: the JSON of <c>reclaim plan --format json</c>, of a
    /// partitioned command (its <c>plan</c>), or a range's stored plan.</summary>
    /// <param name="plan">The plan's JSON.</param>
    /// <returns>Every group key, in the plan's order.</returns>
    public static List<string> GroupKeys(JsonElement plan) =>
        [.. (plan.TryGetProperty("plan", out var inner) ? inner : plan).GetProperty("policies").EnumerateArray()
            .SelectMany(p => p.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("group_key").GetString()!))];
}
