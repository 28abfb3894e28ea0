using Microsoft.Data.Sqlite;
using Reclaim.Engine;

namespace Reclaim.Cli;

/// <summary>
/// <c>reclaim demo</c>: builds a realistic example in a fresh folder (the RugbyCodex cleanup worker's layout
/// <c>orgs/{org}/uploads/{asset}/</c> with raw video, HLS segments and a thumbnail; a SQLite
/// <c>media_assets</c> table), then plans it, applies it with quarantine, and shows how to restore.
/// </summary>
internal static class Demo
{
    private const string Marker = ".reclaim-demo";

    public static async Task<int> RunAsync(CliContext context, string dir, CancellationToken cancellationToken)
    {
        Prepare(dir);
        var now = context.Time.GetUtcNow();
        var media = Path.Combine(dir, "media");
        var random = new Random(42);
        var old = now.AddDays(-10);

        var referenced = new List<(string Org, string Asset)>();
        string[] orgs = ["acme", "rugby-club", "north-fc"];
        foreach (var org in orgs)
        {
            for (var i = 0; i < 4; i++)
            {
                referenced.Add((org, Id(random)));
            }
        }

        // A referenced asset whose id is a prefix of an orphan's: 'asset-12' must survive 'asset-123' going.
        referenced.Add(("acme", "asset-12"));
        var orphans = new List<(string Org, string Asset)> { ("acme", "asset-123"), ("rugby-club", Id(random)), ("north-fc", Id(random)) };
        var young = ("acme", Id(random));

        foreach (var (org, asset) in referenced.Concat(orphans))
        {
            WriteAsset(media, org, asset, random, referenced.Contains((org, asset)) ? old : now.AddDays(-3));
        }

        WriteAsset(media, young.Item1, young.Item2, random, now.AddMinutes(-20));
        WriteFile(Path.Combine(media, "orgs/acme/exports/season-report.csv"), random, 2_000, old);
        WriteFile(Path.Combine(media, "orgs/acme/uploads/loose-file.mp4"), random, 40_000, old);
        WriteFile(Path.Combine(media, "tmp/upload-7f3a.part"), random, 10_000, old);

        await WriteCatalogAsync(Path.Combine(dir, "app.db"), referenced, now, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(dir, "reclaim.yaml"), Config, cancellationToken);

        var demoContext = context with { ConfigPath = Path.Combine(dir, "reclaim.yaml") };
        var output = new Output(demoContext);
        if (!context.Json)
        {
            output.Line($"Built a demo in {dir}:");
            output.Line($"  media/       a folder store: {referenced.Count + orphans.Count + 1} upload folders, 3 stray files");
            output.Line("               (an upload folder: raw video, HLS segments, thumbnail)");
            output.Line($"  app.db       a SQLite catalog: media_assets with {referenced.Count} rows");
            output.Line("  reclaim.yaml the config: one 'orphans' policy, min_age 24h, quarantine");
            output.Line(string.Empty);
            output.Line("$ reclaim plan");
        }

        return await demoContext.RunAsync(async engine =>
        {
            var plan = await engine.PlanAsync([], force: false, null, cancellationToken);
            if (!context.Json)
            {
                output.Plan(plan, null);
                output.Line(string.Empty);
                output.Line("$ reclaim sweep --yes");
            }

            var result = await engine.ApplyAsync(plan, CliContext.Actor, dryRun: false, cancellationToken, "sweep");
            var config = Path.GetRelativePath(Environment.CurrentDirectory, demoContext.ConfigPath);
            var launcher = Launcher();
            (string Command, string Does)[] next =
            [
                ($"{launcher} runs show {result.Run.Id} -c {config}", "every action, with its reason"),
                ($"{launcher} restore {result.Run.Id} -c {config}", "put them back, byte-identical"),
                ($"{launcher} trash purge --older-than 1s -c {config}", "delete them for good"),
            ];
            if (context.Json)
            {
                output.Json(new
                {
                    dir,
                    config = demoContext.ConfigPath,
                    plan,
                    run = Output.Shape(result.Run),
                    objects_done = result.Totals.ObjectsDone,
                    bytes_done = result.Totals.BytesDone,
                    trash = $"media/.reclaim-trash/{result.Run.Id}/",
                    next = next.Select(n => new { command = n.Command, does = n.Does }),
                });
            }
            else
            {
                output.Run(result);
                output.Line(string.Empty);
                output.Line($"The orphaned folders are in quarantine under media/.reclaim-trash/{result.Run.Id}/;");
                output.Line("the referenced, young and unmatched ones are untouched.");
                output.Line("Next:");
                foreach (var (command, does) in next)
                {
                    output.Line($"  # {does}");
                    output.Raw($"  {command}");
                }
            }

            return result.Totals.ObjectsFailed > 0 ? ExitCodes.PartiallyFailed : ExitCodes.Ok;
        });
    }

    /// <summary>
    /// How the person ran Reclaim, for the commands to copy: the checkout's <c>./reclaim</c> launcher (relative to
    /// the current folder) when this program was built by it, otherwise <c>reclaim</c> (an installed binary or tool).
    /// </summary>
    private static string Launcher()
    {
        var folder = Path.GetDirectoryName(Environment.ProcessPath);
        if (folder is not null && string.Equals(Path.GetFileName(folder), "cli", StringComparison.Ordinal) &&
            string.Equals(Path.GetFileName(Path.GetDirectoryName(folder)), ".build", StringComparison.Ordinal))
        {
            var launcher = Path.GetFullPath(Path.Combine(folder, "..", "..", "reclaim"));
            if (File.Exists(launcher))
            {
                var relative = Path.GetRelativePath(Environment.CurrentDirectory, launcher);
                return relative.StartsWith("..", StringComparison.Ordinal) ? launcher : relative.Contains('/', StringComparison.Ordinal) ? relative : "./" + relative;
            }
        }

        return "reclaim";
    }

    private static void Prepare(string dir)
    {
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            if (!File.Exists(Path.Combine(dir, Marker)))
            {
                throw new UsageException($"{dir} exists and is not a demo folder; choose another --dir");
            }

            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, Marker), "built by reclaim demo; deleted and rebuilt by the next one\n");
    }

    private static void WriteAsset(string media, string org, string asset, Random random, DateTimeOffset time)
    {
        var folder = Path.Combine(media, "orgs", org, "uploads", asset);
        WriteFile(Path.Combine(folder, "raw", "match.mp4"), random, random.Next(150_000, 400_000), time);
        var segments = random.Next(3, 7);
        var playlist = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n" +
            string.Concat(Enumerable.Range(0, segments).Select(i => $"#EXTINF:6.0,\nseg_{i:000}.ts\n")) + "#EXT-X-ENDLIST\n";
        Directory.CreateDirectory(Path.Combine(folder, "streaming"));
        File.WriteAllText(Path.Combine(folder, "streaming", "index.m3u8"), playlist);
        File.SetLastWriteTimeUtc(Path.Combine(folder, "streaming", "index.m3u8"), time.UtcDateTime);
        for (var i = 0; i < segments; i++)
        {
            WriteFile(Path.Combine(folder, "streaming", $"seg_{i:000}.ts"), random, random.Next(20_000, 60_000), time);
        }

        WriteFile(Path.Combine(folder, "thumbnail.jpg"), random, random.Next(5_000, 15_000), time);
    }

    private static void WriteFile(string path, Random random, int size, DateTimeOffset time)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[size];
        random.NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, time.UtcDateTime);
    }

    private static string Id(Random random) => $"{random.Next():x8}-{random.Next(0x10000):x4}-4{random.Next(0x1000):x3}-a{random.Next(0x1000):x3}-{random.NextInt64(0x1000000000000):x12}";

    private static async Task WriteCatalogAsync(string path, List<(string Org, string Asset)> assets, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE media_assets (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, title TEXT NOT NULL, created_at TEXT NOT NULL)";
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO media_assets (id, org_id, title, created_at) VALUES ($id, $org, $title, $created)";
        var id = insert.Parameters.Add("$id", SqliteType.Text);
        var org = insert.Parameters.Add("$org", SqliteType.Text);
        var title = insert.Parameters.Add("$title", SqliteType.Text);
        var created = insert.Parameters.Add("$created", SqliteType.Text);
        var n = 0;
        foreach (var asset in assets)
        {
            id.Value = asset.Asset;
            org.Value = asset.Org;
            title.Value = $"Match {++n}";
            created.Value = now.AddDays(-10).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private const string Config = """
        # Reclaim demo: the RugbyCodex cleanup worker's media layout on a folder store, with a SQLite catalog.
        version: 1
        stores:
          media:
            type: filesystem
            root: ./media
            price_per_gb_month: 0.0069   # what the bytes cost, for `reclaim usage`
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
            action: quarantine
        guards:
          max_delete_fraction: 0.25
        trash:
          retention: 7d

        """;
}
