using System.Globalization;
using System.Text;
using CsvHelper;
using Reclaim.Engine.Tests.Support;
using Reclaim.Testing;

namespace Reclaim.Engine.Tests.Scenarios;

/// <summary>
/// <c>reclaim plan --export orphans.csv</c> end to end: the proposed objects as RFC 4180 CSV with their layout's
/// values, on a folder + SQLite and on S3 (s3rver) + PostgreSQL.
/// </summary>
public abstract class PlanExportScenarios<TBackend> : IAsyncLifetime
    where TBackend : Backend, new()
{
    private readonly TBackend _backend = new();

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        await _backend.ExecuteSqlAsync($"CREATE TABLE media_assets (id {_backend.KeyText} NOT NULL, org_id {_backend.KeyText} NOT NULL)");
        await _backend.ExecuteSqlAsync("INSERT INTO media_assets (id, org_id) VALUES ('a1', 'o1'), ('a2', 'o2')");
        _backend.WriteConfig("""
              - name: orphan-uploads
                type: orphans
                store: media
                layout: "orgs/{org}/uploads/{asset}/"
                references:
                  catalog: app
                  query: "SELECT org_id AS org, id AS asset FROM media_assets"
                min_age: 24h
            """, """
            guards:
              max_delete_fraction: 0.9
            """);
    }

    public Task DisposeAsync() => _backend.DisposeAsync();

    [Fact]
    public async Task PlanExport_WritesEveryProposedObject_WithItsLayoutValues_AsRfc4180Csv()
    {
        string[] referenced = ["orgs/o1/uploads/a1/raw.mp4", "orgs/o2/uploads/a2/raw.mp4"];
        string[] orphaned = ["orgs/o1/uploads/gone, \"quoted\"/raw.mp4", "orgs/o1/uploads/gone, \"quoted\"/thumb.jpg", "orgs/o3/uploads/caf\u00e9/raw.mp4"];
        foreach (var key in referenced.Concat(orphaned).Append("exports/loose.csv"))
        {
            await _backend.PutAsync(key, Encoding.UTF8.GetBytes("bytes of " + key));
        }

        var listed = (await _backend.ListAllAsync()).ToDictionary(o => o.Key, StringComparer.Ordinal);
        var clock = new ManualClock(listed.Values.Max(o => o.LastModified) + TimeSpan.FromDays(2));
        var csvPath = Path.Combine(_backend.Dir, "out", "orphans.csv");

        var result = await _backend.CliAsync(clock, "plan", "--export", csvPath);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stderr.Should().Contain("exported 3 objects to");
        var text = await File.ReadAllTextAsync(csvPath);
        text.Should().StartWith("policy,store,group,key,size,last_modified,org,asset\r\n");
        text.Should().Contain("\"orgs/o1/uploads/gone, \"\"quoted\"\"/raw.mp4\"", "a field with a comma or a quote is quoted, its quotes doubled");
        text.Replace("\r\n", string.Empty, StringComparison.Ordinal).Should().NotContain("\n", "every line ends in CRLF");

        using var reader = new CsvReader(new StringReader(text), CultureInfo.InvariantCulture);
        var rows = new List<Dictionary<string, string>>();
        await reader.ReadAsync();
        reader.ReadHeader();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.HeaderRecord!.ToDictionary(h => h, h => reader.GetField(h)!, StringComparer.Ordinal));
        }

        rows.Select(r => r["key"]).Should().Equal(orphaned.Order(StringComparer.Ordinal));
        foreach (var row in rows)
        {
            var stored = listed[row["key"]];
            row["policy"].Should().Be("orphan-uploads");
            row["store"].Should().Be("media");
            row["size"].Should().Be(stored.Size.ToString(CultureInfo.InvariantCulture));
            DateTimeOffset.Parse(row["last_modified"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).Should().Be(stored.LastModified);
            row["last_modified"].Should().EndWith("Z");
            row["group"].Should().Be($"orgs/{row["org"]}/uploads/{row["asset"]}/");
        }

        rows.Select(r => (r["org"], r["asset"])).Distinct().Should().BeEquivalentTo([("o1", "gone, \"quoted\""), ("o3", "caf\u00e9")]);
    }

    [Fact]
    public async Task PlanExport_WithNothingProposed_WritesTheHeaderOnly()
    {
        await _backend.PutAsync("orgs/o1/uploads/a1/raw.mp4", [1, 2, 3]);
        var clock = new ManualClock((await _backend.ListAllAsync()).Max(o => o.LastModified) + TimeSpan.FromDays(2));
        var csvPath = Path.Combine(_backend.Dir, "orphans.csv");

        var result = await _backend.CliAsync(clock, "plan", "--export", csvPath);

        result.ExitCode.Should().Be(0, result.ToString());
        (await File.ReadAllTextAsync(csvPath)).Should().Be("policy,store,group,key,size,last_modified,org,asset\r\n");
    }
}

public sealed class FolderSqlitePlanExportScenarios : PlanExportScenarios<FolderSqliteBackend>;

public sealed class S3PostgresPlanExportScenarios : PlanExportScenarios<S3PostgresBackend>;
