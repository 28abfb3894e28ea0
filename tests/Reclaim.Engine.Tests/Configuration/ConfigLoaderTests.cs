using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine.Configuration;
using Reclaim.Stores.S3;

namespace Reclaim.Engine.Tests.Configuration;

public sealed class ConfigLoaderTests : IDisposable
{
    /// <summary>The README's example config.</summary>
    internal const string SpecExample = """
        version: 1
        state:                     # optional; default sqlite at .reclaim/state.db
          provider: sqlite         # sqlite | postgres
          connection: .reclaim/state.db
        stores:
          media:
            type: filesystem
            root: ./media
          wasabi:
            type: s3
            bucket: rugbycodex-media
            endpoint: https://s3.us-east-1.wasabisys.com   # optional (AWS when absent)
            region: us-east-1
            force_path_style: false
            access_key: ${WASABI_KEY}       # optional: the SDK's default credential chain otherwise
            secret_key: ${WASABI_SECRET}
        catalogs:
          app:
            provider: postgres     # postgres | sqlite
            connection: ${DATABASE_URL}
        policies:
          - name: orphan-uploads
            type: orphans          # groups in the store that no reference renders to
            store: wasabi
            layout: "orgs/{org}/uploads/{asset}/"
            references:
              catalog: app
              query: "SELECT org_id AS org, id AS asset FROM media_assets"
            min_age: 24h
            action: quarantine     # delete | quarantine (default quarantine)
          - name: expire-clips
            type: retention        # groups older than max_age, except those the keep query renders to
            store: wasabi
            layout: "clips/{clip...}"
            max_age: 5d
            keep:
              catalog: app
              query: "SELECT key AS clip FROM clips WHERE status = 'completed' AND created_at > now() - interval '5 days'"
            action: delete
          - name: failed-sessions
            type: records          # rows selected by a query; their objects go, then the row
            catalog: app
            query: "SELECT id, audio_path AS file FROM sessions WHERE status = 'failed' AND created_at < now() - interval '7 days'"
            store: media
            objects: "{file}"      # rendered per row; a value ending in '/' means the whole prefix
            after: "DELETE FROM sessions WHERE id = @id"   # optional; runs per row once its objects are gone
          - name: deletion-requests
            type: queue            # the application's own deletion-request table (see the RugbyCodex cleanup worker)
            catalog: app
            table: media_cleanup_jobs
            store: wasabi
            target: folder         # key | folder: folder deletes the prefix left after dropping the
            folder_depth: 2        #   last folder_depth segments (orgs/1/uploads/2/raw/a.mp4 -> orgs/1/uploads/2/)
            require_prefix: "orgs/"  # a request outside it is failed with an error, never executed
        guards:
          max_delete_fraction: 0.10   # per policy: refuse when the plan removes more than this share of scanned groups
          max_delete_count: 100000    # per plan
          refuse_empty_references: true  # a references/keep query that returns no rows refuses the policy
          min_age_floor: 1h           # min_age below this needs --force
        trash:
          prefix: ".reclaim-trash/"   # inside each store; never listed as a candidate
          retention: 7d
        schedule:
          - policies: [orphan-uploads, expire-clips]
            cron: "0 3 * * *"
            timezone: Europe/Tbilisi
        server:
          urls: http://127.0.0.1:8080
          tokens:                  # API keys, stored as SHA-256 hex of the key (`reclaim token create --role R`)
            - {name: ops-bot, role: operator, sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}
        """;

    internal static readonly Dictionary<string, string?> SpecVariables = new()
    {
        ["WASABI_KEY"] = "AKIAEXAMPLE",
        ["WASABI_SECRET"] = "s3cr3t",
        ["DATABASE_URL"] = "postgres://reclaim:pa55@db.internal:5432/app?sslmode=require",
    };

    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Load_SpecExample_ReadsEveryValue()
    {
        var config = _folder.Load(SpecExample, SpecVariables);

        config.Path.Should().Be(_folder.ConfigPath);
        config.Version.Should().Be(1);
        config.State.Should().Be(new StateConfig("sqlite", Path.Join(_folder.Path, ".reclaim", "state.db")));

        config.Stores.Keys.Should().Equal("media", "wasabi");
        config.Stores["media"].Should().BeEquivalentTo(new { Name = "media", Type = "filesystem", Root = Path.Join(_folder.Path, "media") });
        config.Stores["wasabi"].Type.Should().Be("s3");
        config.Stores["wasabi"].S3.Should().BeEquivalentTo(new
        {
            Bucket = "rugbycodex-media",
            Prefix = string.Empty,
            Endpoint = "https://s3.us-east-1.wasabisys.com",
            Region = "us-east-1",
            ForcePathStyle = false,
            AccessKey = "AKIAEXAMPLE",
            SecretKey = "s3cr3t",
            UseChunkEncoding = true,
            MaxAttempts = 5,
        });

        config.Catalogs["app"].Should().Be(new CatalogConfig("app", "postgres", "postgres://reclaim:pa55@db.internal:5432/app?sslmode=require"));

        config.Policies.Select(p => p.Name).Should().Equal("orphan-uploads", "expire-clips", "failed-sessions", "deletion-requests");
        var orphans = config.Policies[0].Should().BeOfType<OrphansPolicy>().Which;
        orphans.Kind.Should().Be(PolicyKind.Orphans);
        orphans.Store.Should().Be("wasabi");
        orphans.Layout.Template.Should().Be("orgs/{org}/uploads/{asset}/");
        orphans.References.Should().Equal(new QueryConfig("app", "SELECT org_id AS org, id AS asset FROM media_assets"));
        orphans.MinAge.Should().Be(TimeSpan.FromHours(24));
        orphans.Action.Should().Be(ActionKind.Quarantine);
        orphans.Location.Should().Be(new ConfigLocation(_folder.ConfigPath, 22, 5));

        var retention = config.Policies[1].Should().BeOfType<RetentionPolicy>().Which;
        retention.Layout.Variables.Should().Equal("clip");
        retention.MaxAge.Should().Be(TimeSpan.FromDays(5));
        retention.Keep!.Single().Catalog.Should().Be("app");
        retention.Action.Should().Be(ActionKind.Delete);

        var records = config.Policies[2].Should().BeOfType<RecordsPolicy>().Which;
        records.Catalog.Should().Be("app");
        records.Store.Should().Be("media");
        records.Objects.Should().Equal("{file}");
        records.After.Should().Be("DELETE FROM sessions WHERE id = @id");

        var queue = config.Policies[3].Should().BeOfType<QueuePolicy>().Which;
        queue.Should().BeEquivalentTo(new { Catalog = "app", Table = "media_cleanup_jobs", Store = "wasabi", Target = "folder", FolderDepth = 2, RequirePrefix = "orgs/" });
        queue.Should().BeEquivalentTo(new { PollInterval = TimeSpan.FromSeconds(30), Lease = TimeSpan.FromMinutes(5), MaxAttempts = 5, Concurrency = 8, BatchSize = (int?)null }, "the worker's defaults");

        config.Guards.Should().Be(new GuardOptions(0.10, 100_000, true, TimeSpan.FromHours(1)));
        config.Trash.Prefix.Should().Be(".reclaim-trash/");
        config.Trash.EffectiveRetention.Should().Be(TimeSpan.FromDays(7));
        config.Schedule.Should().ContainSingle();
        config.Schedule[0].Policies.Should().Equal("orphan-uploads", "expire-clips");
        config.Schedule[0].Cron.Should().Be("0 3 * * *");
        config.Server.Urls.Should().Be("http://127.0.0.1:8080");
        config.Server.Tokens.Should().Equal(new TokenConfig("ops-bot", "operator", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"));
    }

    [Fact]
    public void Load_TimeZoneWithWrongRegionButKnownCity_IsNormalisedToTheIanaId()
    {
        // The example writes Europe/Tbilisi; the IANA id is Asia/Tbilisi.
        var config = _folder.Load(SpecExample, SpecVariables);

        config.Schedule[0].TimeZone.Should().Be("Asia/Tbilisi");
    }

    [Fact]
    public void Load_MinimalConfig_FillsDefaults()
    {
        var config = _folder.Load("""
            version: 1
            stores:
              media: {type: filesystem, root: media}
            catalogs:
              app: {provider: sqlite, connection: app.db}
            policies:
              - name: orphans
                type: orphans
                store: media
                layout: "uploads/{asset}/"
                references: {catalog: app, query: "SELECT id AS asset FROM assets"}
            """);

        var policy = config.Policies.Should().ContainSingle().Which.Should().BeOfType<OrphansPolicy>().Which;
        policy.Action.Should().Be(ActionKind.Quarantine);
        policy.MinAge.Should().Be(TimeSpan.FromHours(24));
        config.Guards.Should().Be(GuardOptions.Default);
        config.Trash.Should().Be(new TrashConfig());
        config.Schedule.Should().BeEmpty();
        config.Server.Urls.Should().Be("http://127.0.0.1:8080");
        config.State.Connection.Should().Be(Path.Join(_folder.Path, ".reclaim", "state.db"));
    }

    [Fact]
    public void Load_WithoutVersion_ReadsVersionOne()
    {
        var config = _folder.Load("stores: {}\n");

        config.Version.Should().Be(1);
        config.Policies.Should().BeEmpty();
    }

    [Fact]
    public void Load_RelativeRoot_ResolvesAgainstTheConfigFolder()
    {
        var config = _folder.Load("""
            stores:
              here: {type: filesystem, root: ./media}
              sibling: {type: filesystem, root: ../shared/media}
              absolute: {type: filesystem, root: /srv/media}
            """);

        config.Stores["here"].Root.Should().Be(Path.Join(_folder.Path, "media"));
        config.Stores["sibling"].Root.Should().Be(Path.GetFullPath(Path.Join(_folder.Path, "..", "shared", "media")));
        config.Stores["absolute"].Root.Should().Be("/srv/media");
    }

    [Fact]
    public void Load_LoadedFromAnotherWorkingFolder_StillResolvesAgainstTheConfigFolder()
    {
        _folder.Write("reclaim.yaml", "stores:\n  media: {type: filesystem, root: media}\n");
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, _folder.ConfigPath);

        var config = ConfigLoader.Load(relative, new Dictionary<string, string?>());

        config.Path.Should().Be(_folder.ConfigPath);
        config.Stores["media"].Root.Should().Be(Path.Join(_folder.Path, "media"));
    }

    [Fact]
    public void Load_SqliteConnections_ResolveRelativePathsAndDataSources()
    {
        var config = _folder.Load("""
            state: {provider: sqlite, connection: "Data Source=state/reclaim.db;Cache=Shared"}
            catalogs:
              path: {provider: sqlite, connection: data/app.db}
              keywords: {provider: sqlite, connection: "Data Source=app.db;Mode=ReadOnly"}
              absolute: {provider: sqlite, connection: /var/lib/app.db}
              memory: {provider: sqlite, connection: ":memory:"}
            """);

        config.Catalogs["path"].Connection.Should().Be(Path.Join(_folder.Path, "data", "app.db"));
        config.Catalogs["keywords"].Connection.Should().Be($"Data Source={Path.Join(_folder.Path, "app.db")};Mode=ReadOnly");
        config.Catalogs["absolute"].Connection.Should().Be("/var/lib/app.db");
        config.Catalogs["memory"].Connection.Should().Be(":memory:");
        config.State.Connection.Should().Be($"Data Source={Path.Join(_folder.Path, "state", "reclaim.db")};Cache=Shared");
    }

    [Fact]
    public void Load_PostgresConnections_AreKeptAsWritten()
    {
        var config = _folder.Load("""
            state: {provider: postgres, connection: "Host=db;Database=reclaim"}
            catalogs:
              app: {provider: postgres, connection: "postgresql://app@db/app"}
            """);

        config.State.Should().Be(new StateConfig("postgres", "Host=db;Database=reclaim"));
        config.Catalogs["app"].Connection.Should().Be("postgresql://app@db/app");
    }

    [Fact]
    public void Load_VariableWithDefault_UsesTheDefaultOnlyWhenUnsetOrEmpty()
    {
        var yaml = """
            stores:
              a: {type: s3, bucket: "${BUCKET:-fallback-bucket}", region: "${REGION:-eu-central-1}", max_attempts: "${ATTEMPTS:-7}"}
            """;

        var config = _folder.Load(yaml, new Dictionary<string, string?> { ["REGION"] = "us-west-2", ["BUCKET"] = string.Empty });

        config.Stores["a"].Bucket.Should().Be("fallback-bucket");
        config.Stores["a"].S3!.Region.Should().Be("us-west-2");
        config.Stores["a"].S3!.MaxAttempts.Should().Be(7);
    }

    [Fact]
    public void Load_DoubleDollarBrace_IsALiteralDollarBrace()
    {
        var config = _folder.Load("""
            catalogs:
              app: {provider: postgres, connection: "Host=db;Password=a$${b}c"}
            """);

        config.Catalogs["app"].Connection.Should().Be("Host=db;Password=a${b}c");
    }

    [Fact]
    public void Load_EnvFileBesideTheConfig_SuppliesVariablesBeneathTheGivenOnes()
    {
        _folder.Write(".env", "BUCKET=from-dotenv\nREGION=from-dotenv\n# a comment\nexport PREFIX=\"media/\"\n");

        var config = _folder.Load(
            "stores:\n  a: {type: s3, bucket: \"${BUCKET}\", region: \"${REGION}\", prefix: \"${PREFIX}\"}\n",
            new Dictionary<string, string?> { ["REGION"] = "from-environment" });

        config.Stores["a"].Bucket.Should().Be("from-dotenv");
        config.Stores["a"].S3!.Region.Should().Be("from-environment");
        config.Stores["a"].S3!.Prefix.Should().Be("media/");
    }

    [Fact]
    public void Load_WithoutGivenVariables_LoadsEnvFileIntoTheProcessWithoutOverwriting()
    {
        var fromFile = $"RECLAIM_TEST_FROM_FILE_{Guid.NewGuid():N}";
        var alreadySet = $"RECLAIM_TEST_ALREADY_SET_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(alreadySet, "from-process");
        try
        {
            _folder.Write(".env", $"{fromFile}=file-bucket\n{alreadySet}=file-region\n");
            _folder.Write("reclaim.yaml", $"stores:\n  a: {{type: s3, bucket: \"${{{fromFile}}}\", region: \"${{{alreadySet}}}\"}}\n");

            var config = ConfigLoader.Load(_folder.ConfigPath);

            config.Stores["a"].Bucket.Should().Be("file-bucket");
            config.Stores["a"].S3!.Region.Should().Be("from-process");
            Environment.GetEnvironmentVariable(fromFile).Should().Be("file-bucket");
        }
        finally
        {
            Environment.SetEnvironmentVariable(fromFile, null);
            Environment.SetEnvironmentVariable(alreadySet, null);
        }
    }

    [Fact]
    public void Load_S3StoreOptions_AreRead()
    {
        var config = _folder.Load("""
            stores:
              minio:
                type: s3
                bucket: media
                prefix: tenant-1/
                endpoint: http://127.0.0.1:9000
                force_path_style: true
                use_chunk_encoding: false
                max_attempts: 20
                timeout: 30s
                list_concurrency: 16
                delete_concurrency: 4
                price_per_gb_month: 0.0059
            """);

        config.Stores["minio"].PricePerGbMonth.Should().Be(0.0059m);
        config.Stores["minio"].S3.Should().BeEquivalentTo(new
        {
            Name = "minio",
            Bucket = "media",
            Prefix = "tenant-1/",
            Endpoint = "http://127.0.0.1:9000",
            ForcePathStyle = true,
            UseChunkEncoding = false,
            MaxAttempts = 20,
            Timeout = TimeSpan.FromSeconds(30),
            ListConcurrency = 16,
            DeleteConcurrency = 4,
            AccessKey = (string?)null,
        });
    }

    [Fact]
    public void Load_S3StoreWithoutConcurrencySettings_GetsTheSafeDefaults()
    {
        var s3 = _folder.Load("stores:\n  s: {type: s3, bucket: b}\n").Stores["s"].S3!;

        s3.ListConcurrency.Should().Be(8);
        s3.DeleteConcurrency.Should().Be(8);
        s3.MaxConnections.Should().Be((2 * 8) + 8 + S3StoreOptions.OtherRequestConnections);
    }

    [Fact]
    public void Load_RecordsObjectsAsAList_KeepsEveryTemplate()
    {
        var config = _folder.Load("""
            stores: {media: {type: filesystem, root: media}}
            catalogs: {app: {provider: sqlite, connection: app.db}}
            policies:
              - name: sessions
                type: records
                store: media
                catalog: app
                query: SELECT id, audio, hls FROM sessions
                objects: ["{audio}", "hls/{hls}/"]
            """);

        var records = config.Policies[0].Should().BeOfType<RecordsPolicy>().Which;
        records.Objects.Should().Equal("{audio}", "hls/{hls}/");
        records.After.Should().BeNull();
    }

    [Fact]
    public void Load_AnchorsAndAliases_AreFollowed()
    {
        var config = _folder.Load("""
            catalogs:
              app: &sqlite {provider: sqlite, connection: app.db}
              copy: *sqlite
            """);

        config.Catalogs["copy"].Connection.Should().Be(Path.Join(_folder.Path, "app.db"));
    }
}
