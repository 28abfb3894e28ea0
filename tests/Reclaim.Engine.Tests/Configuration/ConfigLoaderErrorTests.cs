using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary>Each bad input is reported at its line and column with a message that says what would be right.</summary>
public sealed class ConfigLoaderErrorTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Load_MissingFile_ReportsTheFileAndHowToFixIt()
    {
        var path = Path.Join(_folder.Path, "nope.yaml");

        var load = () => ConfigLoader.Load(path, new Dictionary<string, string?>());

        var error = load.Should().Throw<ConfigException>().Which.Errors.Should().ContainSingle().Which;
        error.Location.Should().Be(new ConfigLocation(path, 0, 0));
        error.Message.Should().Contain("not found").And.Contain("-c");
    }

    [Fact]
    public void Load_EmptyFile_SaysWhatToStartWith()
    {
        var error = _folder.SingleError("# nothing yet\n", 1, 1);

        error.Message.Should().Contain("empty").And.Contain("version: 1");
    }

    [Fact]
    public void Load_UnknownKey_SuggestsTheClosestKnownKey()
    {
        var error = _folder.SingleError("""
            stores:
              wasabi:
                type: s3
                bucket: media
                regoin: us-east-1
            """, 5, 5);

        error.Message.Should().Be("stores.wasabi: unknown key 'regoin'; did you mean 'region'?");
    }

    [Fact]
    public void Load_UnknownTopLevelKeyFarFromAnyKnownKey_ListsTheKnownKeys()
    {
        var error = _folder.SingleError("""
            version: 1
            colour: blue
            """, 2, 1);

        error.Message.Should().Contain("unknown key 'colour'").And.Contain("known keys: version, state, stores, catalogs, policies");
    }

    [Fact]
    public void Load_MisspeltSectionName_SuggestsTheSection()
    {
        var error = _folder.SingleError("""
            version: 1
            polices: []
            """, 2, 1);

        error.Message.Should().Contain("did you mean 'policies'?");
    }

    [Fact]
    public void Load_BadDuration_ShowsTheNotation()
    {
        var error = _folder.SingleError(Orphans(minAge: "24hours"), 14, 14);

        error.Message.Should().Contain("policies.uploads.min_age").And.Contain("'24hours' is not a duration").And.Contain("24h");
    }

    [Fact]
    public void Load_FilesystemStoreWithoutRoot_ReportsAtTheStoreName()
    {
        var error = _folder.SingleError("""
            version: 1
            stores:
              media:
                type: filesystem
            """, 3, 3);

        error.Message.Should().Contain("'root' is required").And.Contain("root: ./media");
    }

    [Fact]
    public void Load_UnknownStoreInPolicy_ReportsLineAndColumn()
    {
        var error = _folder.SingleError(Orphans(store: "medai"), 9, 12);

        error.Message.Should().Be("policies.uploads.store: unknown store 'medai'; did you mean 'media'?");
    }

    [Fact]
    public void Load_UnknownStoreNothingLike_ListsTheDefinedStores()
    {
        var error = _folder.SingleError(Orphans(store: "backups"), 9, 12);

        error.Message.Should().Contain("unknown store 'backups'; defined stores: media");
    }

    [Fact]
    public void Load_UnknownCatalogInReferences_ReportsAtTheCatalogName()
    {
        var error = _folder.SingleError(Orphans(catalog: "ap"), 12, 16);

        error.Message.Should().Be("policies.uploads.references.catalog: unknown catalog 'ap'; did you mean 'app'?");
    }

    [Fact]
    public void Load_BadLayout_ReportsTheLayoutsOwnReasonAtTheLayout()
    {
        var error = _folder.SingleError(Orphans(layout: "\"uploads//{asset}/\""), 10, 13);

        error.Message.Should().Contain("'uploads//{asset}/' is not a valid layout").And.Contain("empty segment");
    }

    [Fact]
    public void Load_LayoutWithoutVariables_IsRejected()
    {
        var error = _folder.SingleError(Orphans(layout: "uploads/"), 10, 13);

        error.Message.Should().Contain("at least one variable");
    }

    [Fact]
    public void Load_BadAction_NamesTheAllowedActions()
    {
        var error = _folder.SingleError(Orphans(action: "remove"), 15, 13);

        error.Message.Should().Contain("'remove' is not one of delete | quarantine");
    }

    [Fact]
    public void Load_DuplicatePolicyName_PointsAtBothDefinitions()
    {
        var yaml = Orphans() + """

              - name: uploads
                type: orphans
                store: media
                layout: "uploads/{asset}/"
                references: {catalog: app, query: "SELECT id AS asset FROM assets"}
            """;

        var error = _folder.SingleError(yaml, 15, 11);

        error.Message.Should().Contain("the policy name 'uploads' is already used at line 7");
    }

    [Fact]
    public void Load_MaxDeleteFractionAboveOne_IsOutOfRange()
    {
        var error = _folder.SingleError("""
            guards:
              max_delete_fraction: 1.5
            """, 2, 24);

        error.Message.Should().Contain("guards.max_delete_fraction").And.Contain("greater than 0 and at most 1");
    }

    [Fact]
    public void Load_MaxDeleteFractionZero_IsOutOfRange()
    {
        _folder.SingleError("guards: {max_delete_fraction: 0}\n", 1, 31);
    }

    [Fact]
    public void Load_NegativeMaxDeleteCount_IsOutOfRange()
    {
        var error = _folder.SingleError("guards:\n  max_delete_count: -1\n", 2, 21);

        error.Message.Should().Contain("-1 is out of range: expected a whole number >= 1");
    }

    [Fact]
    public void Load_FractionalMaxDeleteCount_IsNotAWholeNumber()
    {
        var error = _folder.SingleError("guards:\n  max_delete_count: 10.5\n", 2, 21);

        error.Message.Should().Contain("expected a whole number >= 1, found '10.5'");
    }

    [Fact]
    public void Load_UndefinedVariable_IsReportedAtItsScalarNamingTheVariable()
    {
        var error = _folder.SingleError("""
            catalogs:
              app:
                provider: postgres
                connection: ${DATABASE_URL}
            """, 4, 17);

        error.Message.Should().Contain("environment variable 'DATABASE_URL' is not set").And.Contain("${DATABASE_URL:-default}");
    }

    [Fact]
    public void Load_MalformedVariableReference_IsReportedAtItsScalar()
    {
        var error = _folder.SingleError("stores:\n  a: {type: s3, bucket: \"${BUCKET\"}\n", 2, 25);

        error.Message.Should().Contain("no closing '}'");
    }

    [Fact]
    public void Load_TabIndentation_IsReportedAtTheTab()
    {
        var error = _folder.SingleError("version: 1\nstores:\n\tmedia:\n", 3, 1);

        error.Message.Should().Contain("tab").And.Contain("spaces");
    }

    [Fact]
    public void Load_UnclosedQuote_IsASyntaxErrorAtTheQuote()
    {
        var error = _folder.SingleError("version: 1\nstores:\n  media: {type: filesystem, root: \"./media}\n", 3, 35);

        error.Message.Should().StartWith("YAML syntax error");
    }

    [Fact]
    public void Load_DuplicateKey_IsReportedAtTheSecondOne()
    {
        var error = _folder.SingleError("""
            version: 1
            stores:
              media: {type: filesystem, root: a}
              media: {type: filesystem, root: b}
            """, 4, 3);

        error.Message.Should().Be("duplicate key 'media': a key may appear once in a mapping");
    }

    [Fact]
    public void Load_TrashPrefixWithoutSlash_SaysToEndItWithSlash()
    {
        var error = _folder.SingleError("""
            trash:
              prefix: .trash
            """, 2, 11);

        error.Message.Should().Contain("must end with '/'").And.Contain("'.trash/'");
    }

    [Fact]
    public void Load_AbsoluteTrashPrefix_IsNotARelativeKeyPrefix()
    {
        var error = _folder.SingleError("trash: {prefix: /trash/}\n", 1, 17);

        error.Message.Should().Contain("not a valid key prefix").And.Contain("absolute");
    }

    [Fact]
    public void Load_VersionTwo_IsNotSupported()
    {
        var error = _folder.SingleError("version: 2\n", 1, 10);

        error.Message.Should().Contain("version 2 is not supported").And.Contain("version: 1");
    }

    [Fact]
    public void Load_ListWhereAMappingIsExpected_NamesBothShapes()
    {
        var error = _folder.SingleError("""
            stores:
              - media
            """, 2, 3);

        error.Message.Should().Be("stores: expected a mapping of 'key: value' lines, found a list ('- item' lines or [a, b])");
    }

    [Fact]
    public void Load_TextWhereAStoreMappingIsExpected_IsReportedOnce()
    {
        var error = _folder.SingleError("stores:\n  media: ./media\n", 2, 10);

        error.Message.Should().Be("stores.media: expected a mapping of 'key: value' lines, found './media'");
    }

    [Fact]
    public void Load_StoreWithNoValue_SaysWhatAStoreNeeds()
    {
        _folder.SingleError("stores:\n  media:\n", 2, 3).Message.Should().Contain("a store needs 'type'");
    }

    [Fact]
    public void Load_MappingWherePoliciesListIsExpected_SaysToUseAList()
    {
        var error = _folder.SingleError("""
            policies:
              uploads:
                type: orphans
            """, 2, 3);

        error.Message.Should().Contain("policies: expected a list of policies").And.Contain("found a mapping");
    }

    [Fact]
    public void Load_TextWhereANumberIsExpected_ShowsTheText()
    {
        var error = _folder.SingleError("stores:\n  s: {type: s3, bucket: b, max_attempts: many}\n", 2, 42);

        error.Message.Should().Contain("expected a whole number from 1 to 20, found 'many'");
    }

    [Fact]
    public void Load_MaxAttemptsAboveTwenty_IsOutOfRange()
    {
        _folder.SingleError("stores:\n  s: {type: s3, bucket: b, max_attempts: 50}\n", 2, 42);
    }

    [Theory]
    [InlineData("0s", "must be longer than zero")]
    [InlineData("2h", "must be from 1s to 1h")]
    [InlineData("soon", "is not a duration")]
    public void Load_S3TimeoutOutOfRange_IsRefused(string timeout, string expected)
    {
        _folder.SingleError($"stores:\n  s: {{type: s3, bucket: b, timeout: {timeout}}}\n", 2, 37).Message.Should().Contain(expected);
    }

    [Fact]
    public void Load_S3Timeout_IsRead()
    {
        _folder.Load("stores:\n  s: {type: s3, bucket: b, timeout: 3s}\n").Stores["s"].S3!.Timeout.Should().Be(TimeSpan.FromSeconds(3));
        _folder.Load("stores:\n  s: {type: s3, bucket: b}\n").Stores["s"].S3!.Timeout.Should().Be(TimeSpan.FromSeconds(100));
    }

    [Fact]
    public void Load_NotABoolean_SaysTrueOrFalse()
    {
        var error = _folder.SingleError("stores:\n  s: {type: s3, bucket: b, force_path_style: yes}\n", 2, 46);

        error.Message.Should().Contain("expected true or false, found 'yes'");
    }

    [Fact]
    public void Load_UnknownStoreType_SuggestsAType()
    {
        var error = _folder.SingleError("stores:\n  s: {type: filesytem, root: x}\n", 2, 13);

        error.Message.Should().Contain("'filesytem' is not one of filesystem | s3; did you mean 'filesystem'?");
    }

    [Fact]
    public void Load_S3StoreWithoutBucket_ReportsAtTheStoreName()
    {
        var error = _folder.SingleError("stores:\n  wasabi:\n    type: s3\n", 2, 3);

        error.Message.Should().Contain("'bucket' is required");
    }

    [Fact]
    public void Load_S3PrefixWithoutSlash_SaysToEndItWithSlash()
    {
        _folder.SingleError("stores:\n  s: {type: s3, bucket: b, prefix: tenant}\n", 2, 36)
            .Message.Should().Contain("must end with '/'");
    }

    [Fact]
    public void Load_S3SettingOnAFilesystemStore_SaysItDoesNotApply()
    {
        var error = _folder.SingleError("stores:\n  media:\n    type: filesystem\n    root: media\n    bucket: media\n", 5, 5);

        error.Message.Should().Be("stores.media: 'bucket' does not apply to filesystem stores (it is a setting of s3 stores)");
    }

    [Fact]
    public void Load_AccessKeyWithoutSecretKey_AsksForBoth()
    {
        _folder.SingleError("stores:\n  s: {type: s3, bucket: b, access_key: AKIA}\n", 2, 40)
            .Message.Should().Contain("give both");
    }

    [Fact]
    public void Load_UnknownCatalogProvider_NamesTheProviders()
    {
        var error = _folder.SingleError("catalogs:\n  app: {provider: oracle, connection: x}\n", 2, 19);

        error.Message.Should().Contain("'oracle' is not one of sqlite | postgres | mysql");
    }

    [Fact]
    public void Load_CatalogWithoutConnection_ReportsAtTheCatalogName()
    {
        _folder.SingleError("catalogs:\n  app:\n    provider: postgres\n", 2, 3)
            .Message.Should().Contain("'connection' is required");
    }

    [Fact]
    public void Load_PostgresUrlWithBadPort_IsReportedAtTheConnection()
    {
        _folder.SingleError("catalogs:\n  app: {provider: postgres, connection: \"postgres://u@db:99999/app\"}\n", 2, 41)
            .Message.Should().Contain("not a valid PostgreSQL URL").And.Contain("port");
    }

    [Fact]
    public void Load_OrphansWithoutReferences_SaysWhatReferencesAre()
    {
        var error = _folder.SingleError("""
            stores: {media: {type: filesystem, root: media}}
            policies:
              - name: uploads
                type: orphans
                store: media
                layout: "uploads/{asset}/"
            """, 3, 5);

        error.Message.Should().Contain("policies.uploads: 'references' is required").And.Contain("catalog:");
    }

    [Fact]
    public void Load_SettingOfAnotherPolicyType_SaysWhichTypeItBelongsTo()
    {
        var error = _folder.SingleError(Orphans() + "\n    max_age: 5d\n", 15, 5);

        error.Message.Should().Be("policies.uploads: 'max_age' does not apply to orphans policies (it is a setting of retention policies)");
    }

    [Fact]
    public void Load_RetentionWithZeroMaxAge_MustBeLongerThanZero()
    {
        var error = _folder.SingleError("""
            stores: {media: {type: filesystem, root: media}}
            policies:
              - name: clips
                type: retention
                store: media
                layout: "clips/{clip...}"
                max_age: 0s
            """, 7, 14);

        error.Message.Should().Contain("must be longer than zero");
    }

    [Fact]
    public void Load_RecordsWithoutObjects_SaysWhatObjectsAre()
    {
        var error = _folder.SingleError("""
            stores: {media: {type: filesystem, root: media}}
            catalogs: {app: {provider: sqlite, connection: app.db}}
            policies:
              - name: sessions
                type: records
                store: media
                catalog: app
                query: SELECT id, file FROM sessions
            """, 4, 5);

        error.Message.Should().Contain("'objects' is required");
    }

    [Fact]
    public void Load_QueueWithFolderDepthZero_IsOutOfRange()
    {
        var error = _folder.SingleError(Queue("target: folder\n    folder_depth: 0"), 12, 19);

        error.Message.Should().Contain("expected a whole number from 1 to 1000");
    }

    [Fact]
    public void Load_QueueWithConcurrencyZero_IsOutOfRange()
    {
        var error = _folder.SingleError(Queue("target: key\n    concurrency: 0"), 12, 18);

        error.Message.Should().Contain("expected a whole number from 1 to 256");
    }

    [Fact]
    public void Load_QueueWithBadPollInterval_SaysWhatADurationIs()
    {
        var error = _folder.SingleError(Queue("target: key\n    poll_interval: soon"), 12, 20);

        error.Message.Should().Contain("is not a duration");
    }

    [Fact]
    public void Load_QueueWorkerSettings_AreRead()
    {
        var config = _folder.Load(Queue("target: key\n    poll_interval: 90s\n    lease: 10m\n    max_attempts: 7\n    retry_delay: 2s\n    concurrency: 3\n    batch_size: 9"));

        config.Policies[0].Should().BeEquivalentTo(new
        {
            PollInterval = TimeSpan.FromSeconds(90), Lease = TimeSpan.FromMinutes(10), MaxAttempts = 7, RetryDelay = TimeSpan.FromSeconds(2), Concurrency = 3, BatchSize = 9,
        });
    }

    [Fact]
    public void Load_OwnQueue_SettingsAndRequirePrefixPerStore_AreRead()
    {
        var config = _folder.Load("stores:\n  s: {type: s3, bucket: b}\nown_queue:\n  poll_interval: 5s\n  max_attempts: 9\n  concurrency: 2\n  require_prefix: {s: \"orgs/\"}\n");

        config.OwnQueue.Settings.Should().Be(new Reclaim.Engine.Queue.QueueSettings(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), 9, TimeSpan.FromSeconds(1), 2, 8));
        config.OwnQueue.RequirePrefix.Should().Equal(new Dictionary<string, string> { ["s"] = "orgs/" });
        _folder.Load("stores:\n  s: {type: s3, bucket: b}\n").OwnQueue.RequirePrefix.Should().BeEmpty();
    }

    [Fact]
    public void Load_OwnQueueRequirePrefixOfAnUnknownStoreOrNotAFolder_IsRefused()
    {
        _folder.SingleError("stores:\n  s: {type: s3, bucket: b}\nown_queue:\n  require_prefix: {x: \"orgs/\"}\n", 4, 20).Message.Should().Contain("unknown store 'x'");
        _folder.SingleError("stores:\n  s: {type: s3, bucket: b}\nown_queue:\n  require_prefix: {s: \"orgs\"}\n", 4, 23).Message.Should().Contain("must end with '/'");
    }

    [Fact]
    public void Load_QueueWithoutTarget_AsksForKeyOrFolder()
    {
        _folder.SingleError(Queue(string.Empty), 6, 5).Message.Should().Contain("'target' is required: key");
    }

    [Fact]
    public void Load_ScheduleWithUnknownPolicy_SuggestsTheClosestPolicy()
    {
        var error = _folder.SingleError(Orphans() + "\nschedule:\n  - policies: [upload]\n    cron: \"0 3 * * *\"\n", 16, 16);

        error.Message.Should().Contain("unknown policy 'upload'; did you mean 'uploads'?");
    }

    [Fact]
    public void Load_CronWithTooFewFields_ShowsTheForm()
    {
        var error = _folder.SingleError(Orphans() + "\nschedule:\n  - policies: uploads\n    cron: \"0 3 *\"\n", 17, 11);

        error.Message.Should().Contain("5 fields");
    }

    [Fact]
    public void Load_TokenWithUpperCaseHash_AsksForLowerCase()
    {
        var error = _folder.SingleError("""
            server:
              tokens:
                - name: ci
                  role: admin
                  sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
            """, 5, 15);

        error.Message.Should().Contain("lower-case hex");
    }

    [Fact]
    public void Load_TokenWithUnknownRole_NamesTheRoles()
    {
        _folder.SingleError("server:\n  tokens:\n    - {name: ci, role: root, sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}\n", 3, 24)
            .Message.Should().Contain("viewer | operator | admin");
    }

    [Fact]
    public void Load_SeveralMistakes_ReportsEveryOneInFileOrder()
    {
        var errors = _folder.Errors("""
            version: 1
            stores:
              media:
                type: filesystem
                rot: ./media
            policies:
              - name: uploads
                type: orphans
                store: wasabi
                layout: "uploads/{asset}/"
                references: {catalog: app, query: "SELECT id AS asset FROM assets"}
                min_age: soon
            guards:
              max_delete_fraction: 2
            """);

        errors.Select(e => (e.Location.Line, e.Location.Column)).Should().Equal(
            (3, 3),   // media has no root
            (5, 5),   // rot: did you mean root
            (9, 12),  // unknown store wasabi
            (11, 27), // unknown catalog app
            (12, 14), // min_age is not a duration
            (14, 24)); // fraction out of range
        errors[1].Message.Should().Contain("did you mean 'root'?");
        errors.Should().OnlyContain(e => e.Location.File == _folder.ConfigPath);
    }

    [Fact]
    public void Load_ExceptionMessage_ListsEveryErrorWithFileLineAndColumn()
    {
        var load = () => _folder.Load("version: 3\ncolour: blue\n");

        var message = load.Should().Throw<ConfigException>().Which.Message;

        message.Should().Contain($"{_folder.ConfigPath}:1:10: ").And.Contain($"{_folder.ConfigPath}:2:1: ");
    }

    [Fact]
    public void Load_MalformedEnvFile_IsReportedInTheEnvFile()
    {
        var envFile = _folder.Write(".env", "GOOD=1\nthis is not an assignment\n");
        var load = () => _folder.Load("version: 1\n");

        var error = load.Should().Throw<ConfigException>().Which.Errors.Should().ContainSingle().Which;

        error.Location.Should().Be(new ConfigLocation(envFile, 2, 1));
        error.Message.Should().Contain("NAME=value");
    }

    /// <summary>
    /// A valid orphans policy: line 7 is its '- name:', 9 its store, 10 its layout, 12 its references' catalog,
    /// 14 its min_age, and 15 its action when given.
    /// </summary>
    internal static string Orphans(string store = "media", string catalog = "app", string layout = "\"uploads/{asset}/\"", string minAge = "24h", string? action = null) => $$"""
        version: 1
        stores:
          media: {type: filesystem, root: ./media}
        catalogs:
          app: {provider: sqlite, connection: app.db}
        policies:
          - name: uploads
            type: orphans
            store: {{store}}
            layout: {{layout}}
            references:
              catalog: {{catalog}}
              query: "SELECT id AS asset FROM assets"
            min_age: {{minAge}}
        """ + (action is null ? string.Empty : $"\n    action: {action}");

    /// <summary>A queue policy: line 6 is its '- name:'; <paramref name="target"/> starts at line 11.</summary>
    private static string Queue(string target) => $$"""
        stores:
          s: {type: s3, bucket: b}
        catalogs:
          app: {provider: sqlite, connection: app.db}
        policies:
          - name: requests
            type: queue
            store: s
            catalog: app
            table: media_cleanup_jobs
            {{target}}
        """;
}
