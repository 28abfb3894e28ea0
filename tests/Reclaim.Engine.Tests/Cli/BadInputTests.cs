using System.Text.Json.Nodes;
using Reclaim.Engine.Tests.Support;

namespace Reclaim.Engine.Tests.Cli;

/// <summary>
/// Bad input of every kind, through the real command line, on a folder store and a SQLite catalog seeded with
/// referenced and old orphaned groups under a policy that deletes: each case gets the exit code the README names, a
/// message that names the problem, and leaves every file in the store as it was.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly SeededFolderStore _store = new();

    public void Dispose() => _store.Dispose();

    private async Task<CliResult> SweepAsync(params string[] more) => await _store.RunAsync(["sweep", "--yes", .. more]);

    private void StoreShouldBeUnchanged(IReadOnlyList<FolderEntry> before, CliResult result) =>
        _store.Snapshot().Should().Equal(before, $"nothing may be deleted or moved; the command said:\n{result}");

    // ---- config ----

    [Fact]
    public async Task Sweep_ConfigFileMissing_ExitsTwoAndNamesTheFile()
    {
        var before = _store.Snapshot();
        var missing = Path.Join(_store.Dir, "nope.yaml");

        var result = await CliRun.RunAsync(_store.Clock, "sweep", "--yes", "-c", missing);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain(missing).And.Contain("config file not found");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_YamlSyntaxError_ExitsTwoAndPointsAtTheLineAndColumn()
    {
        _store.EditConfig("min_age: 24h", "min_age: 24h: 12h");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.At(": 12h")}: YAML syntax error");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_UnknownKeyInAPolicy_ExitsTwoAndSuggestsTheKnownKey()
    {
        _store.EditConfig("min_age: 24h", "min_agee: 24h");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.At("min_agee")}: policies.orphan-uploads: unknown key 'min_agee'; did you mean 'min_age'?");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_PolicyNamesAnUnknownStore_ExitsTwoAndNamesTheStore()
    {
        _store.EditConfig("store: media", "store: medai");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.At("medai")}: policies.orphan-uploads.store: unknown store 'medai'; did you mean 'media'?");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_ReferencesNameAnUnknownCatalog_ExitsTwoAndNamesTheCatalog()
    {
        _store.EditConfig("catalog: app", "catalog: appdb");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.At("appdb")}:").And.Contain("unknown catalog 'appdb'");
        StoreShouldBeUnchanged(before, result);
    }

    [Theory]
    [InlineData("orgs/{org", "'orgs/{org' is not a valid layout")]
    [InlineData("orgs/uploads/", "needs at least one variable")]
    [InlineData("orgs/{rest...}/uploads/", "'orgs/{rest...}/uploads/' is not a valid layout")]
    public async Task Sweep_InvalidLayout_ExitsTwoAndSaysWhatIsWrongWithIt(string layout, string message)
    {
        _store.EditConfig("\"orgs/{org}/uploads/{asset}/\"", $"\"{layout}\"");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.At($"\"{layout}\"")}: policies.orphan-uploads.layout:").And.Contain(message);
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_BadDuration_ExitsTwoAndShowsTheNotation()
    {
        _store.EditConfig("min_age: 24h", "min_age: 24hours");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.At("24hours")}: policies.orphan-uploads.min_age: '24hours' is not a duration").And.Contain("24h");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_UnknownAction_ExitsTwoAndListsTheActions()
    {
        _store.EditConfig("action: delete", "action: destroy");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.At("destroy")}: policies.orphan-uploads.action: 'destroy' is not one of delete | quarantine");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_MaxDeleteFractionAboveOne_ExitsTwoAndGivesTheRange()
    {
        _store.EditConfig("max_delete_fraction: 0.5", "max_delete_fraction: 1.5");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.At("1.5")}: guards.max_delete_fraction: 1.5 is out of range");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_UndefinedVariable_ExitsTwoAndNamesTheVariable()
    {
        const string Name = "RECLAIM_BAD_INPUT_NEVER_SET";
        Environment.GetEnvironmentVariable(Name).Should().BeNull();
        _store.EditConfig("connection: ./app.db", $"connection: ${{{Name}}}");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.At("${" + Name)}: catalogs.app.connection:").And.Contain(Name);
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_FilesystemRootDoesNotExist_ExitsTwoNamesTheRootAndCreatesNothing()
    {
        _store.EditConfig("root: ./media", "root: ./medai");
        var missing = Path.Join(_store.Dir, "medai");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"store 'media' does not exist: '{missing}'");
        Directory.Exists(missing).Should().BeFalse();
        StoreShouldBeUnchanged(before, result);
    }

    [Theory]
    [InlineData("./missing.db")]
    [InlineData("\"Data Source=./missing.db\"")]
    public async Task Sweep_CatalogFileDoesNotExist_ExitsOneAndNeverCreatesAnEmptyCatalog(string connection)
    {
        _store.EditConfig("connection: ./app.db", $"connection: {connection}");
        var missing = Path.Join(_store.Dir, "missing.db");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("catalog 'app'").And.Contain($"no SQLite database at '{missing}'");
        File.Exists(missing).Should().BeFalse("an empty catalog would look like one with no references");
        StoreShouldBeUnchanged(before, result);
    }

    // ---- SQL ----

    [Fact]
    public async Task Sweep_ReferencesQueryWithASyntaxError_ExitsOneAndTouchesNothing()
    {
        _store.EditConfig("SELECT org_id AS org", "SELEC org_id AS org");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("catalog 'app': the query failed").And.Contain("syntax error")
            .And.Contain("a catalog that cannot be read never means 'nothing is referenced'");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_QueryMissingALayoutColumn_ExitsOneAndTouchesNothing()
    {
        _store.EditConfig("SELECT org_id AS org, id AS asset FROM", "SELECT org_id AS org, id FROM");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("catalog 'app': the query failed").And.Contain("asset");
        StoreShouldBeUnchanged(before, result);
    }

    [Theory]
    [InlineData("DELETE FROM media_assets")]
    [InlineData("SELECT org_id AS org, id AS asset FROM media_assets; DELETE FROM media_assets")]
    public async Task Sweep_ReferencesQueryThatWrites_ExitsOneAndLeavesCatalogAndStoreAlone(string query)
    {
        _store.EditConfig("SELECT org_id AS org, id AS asset FROM media_assets", query);
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("catalog 'app': the query failed");
        _store.Count("SELECT COUNT(*) FROM media_assets").Should().Be(SeededFolderStore.Referenced.Length);
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_ReferencesQueryReturnsNoRows_IsRefusedWithExitThree()
    {
        _store.EditConfig("FROM media_assets\"", "FROM media_assets WHERE 1 = 0\"");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(3, result.ToString());
        result.Stdout.Should().Contain("refuse_empty_references").And.Contain("the references query returned no rows");
        result.Stderr.Should().Contain("nothing was touched");
        StoreShouldBeUnchanged(before, result);
    }

    [Theory]
    [InlineData("SELECT NULL AS org, NULL AS asset FROM media_assets")]
    [InlineData("SELECT '' AS org, id AS asset FROM media_assets")]
    [InlineData("SELECT org_id AS org, 'x/' || id AS asset FROM media_assets")]
    public async Task Sweep_ReferencesThatAllRenderToNothing_AreRefusedLikeNoReferences(string query)
    {
        // With the share guard wide open, only the references guard stands between this query and every old group.
        _store.EditConfig("SELECT org_id AS org, id AS asset FROM media_assets", query);
        _store.EditConfig("max_delete_fraction: 0.5", "max_delete_fraction: 1");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(3, result.ToString());
        result.Stdout.Should().Contain("refuse_empty_references").And.Contain("none renders to a key");
        StoreShouldBeUnchanged(before, result);
    }

    // ---- guards ----

    [Fact]
    public async Task Sweep_PlanRemovingTooLargeAShare_IsRefusedWithExitThree()
    {
        _store.EditConfig("max_delete_fraction: 0.5", "max_delete_fraction: 0.2\n  min_groups_for_fraction: 5");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(3, result.ToString());
        result.Stdout.Should().Contain("max_delete_fraction").And.Contain("2 of 9 groups");
        result.Stderr.Should().Contain("refused").And.Contain("nothing was touched");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_PlanRemovingMoreObjectsThanMaxDeleteCount_IsRefusedWithExitThree()
    {
        _store.EditConfig("max_delete_fraction: 0.5", "max_delete_fraction: 0.5\n  max_delete_count: 5");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(3, result.ToString());
        result.Stdout.Should().Contain("max_delete_count").And.Contain("the plan removes 6 objects, more than max_delete_count 5");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_MinAgeBelowTheFloorWithoutForce_IsRefusedWithExitThree()
    {
        _store.EditConfig("min_age: 24h", "min_age: 30m");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(3, result.ToString());
        result.Stdout.Should().Contain("min_age_floor").And.Contain("pass --force to accept");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_MinAgeBelowTheFloorWithForce_RemovesTheOrphansOnly()
    {
        _store.EditConfig("min_age: 24h", "min_age: 30m");
        var before = _store.Snapshot();

        var result = await SweepAsync("--force");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Json.GetProperty("objects_done").GetInt64().Should().Be(SeededFolderStore.OrphanFiles.Count);
        _store.Snapshot().Should().Equal(SeededFolderStore.Without(before, SeededFolderStore.OrphanFiles), result.ToString());
    }

    // ---- command line ----

    [Fact]
    public async Task UnknownCommand_ExitsTwoAndNamesIt()
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync("sweeep", "--yes");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("sweeep").And.Contain("reclaim --help");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_UnknownOption_ExitsTwoAndNamesIt()
    {
        var before = _store.Snapshot();

        var result = await SweepAsync("--everything");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("--everything");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_FormatXml_ExitsTwoAndNamesTheFormats()
    {
        var before = _store.Snapshot();

        var result = await SweepAsync("--format", "xml");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("xml").And.Contain("table").And.Contain("json");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_WithoutYesAndNoTerminal_RefusesWithExitTwo()
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync("sweep");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("no terminal to confirm on").And.Contain("--yes");
        StoreShouldBeUnchanged(before, result);
    }

    [Theory]
    [InlineData("plan")]
    [InlineData("sweep")]
    public async Task UnknownPolicy_ExitsTwoAndListsThePolicies(string command)
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync(command == "sweep" ? ["sweep", "--policy", "nope", "--yes"] : [command, "--policy", "nope"]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("no policy named 'nope'").And.Contain("orphan-uploads");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Apply_MissingPlanFile_ExitsTwoAndNamesIt()
    {
        var before = _store.Snapshot();
        var missing = Path.Join(_store.Dir, "plan.json");

        var result = await _store.RunAsync("apply", missing, "--yes");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{missing}: no such plan file");
        StoreShouldBeUnchanged(before, result);
    }

    [Theory]
    [InlineData("this is not JSON")]
    [InlineData("{\"format_version\": 1}")]
    [InlineData("{\"format_version\": 99, \"plan\": {\"created_at\": \"2026-06-01T12:00:00Z\", \"config_path\": \"x\"}}")]
    public async Task Apply_FileThatIsNotAPlan_ExitsTwoAndNamesTheFile(string text)
    {
        var path = Path.Join(_store.Dir, "plan.json");
        await File.WriteAllTextAsync(path, text);
        var before = _store.Snapshot();

        var result = await _store.RunAsync("apply", path, "--yes");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain(path).And.MatchRegex("not a (valid )?plan file|plan format 99 is not supported");
        StoreShouldBeUnchanged(before, result);
    }

    [Theory]
    [InlineData("\"orgs/{org}/uploads/{asset}/\"", "\"orgs/{org}/uploads/{asset}/raw/\"", "has changed")]
    [InlineData("FROM media_assets\"", "FROM media_assets WHERE org_id <> 'o1'\"", "has changed")]
    [InlineData("action: delete", "action: quarantine", "has changed")]
    [InlineData("name: orphan-uploads", "name: orphan-uploads-v2", "is not in")]
    public async Task Apply_PlanWhosePolicyChangedInTheConfigSince_ExitsTwoAndTouchesNothing(string find, string replacement, string message)
    {
        var planPath = Path.Join(_store.Dir, "plan.json");
        var plan = await _store.RunAsync("plan", "-o", planPath);
        plan.ExitCode.Should().Be(0, plan.ToString());
        _store.EditConfig(find, replacement);
        var before = _store.Snapshot();

        var result = await _store.RunAsync("apply", planPath, "--yes");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("orphan-uploads").And.Contain(message).And.Contain(_store.ConfigPath);
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Apply_PlanEditedToPointAGroupAtAReferencedFolder_ExitsTwoAndTouchesNothing()
    {
        // The group keeps the orphan's values (which the catalog's re-check looks up) but names a referenced folder.
        var planPath = Path.Join(_store.Dir, "plan.json");
        (await _store.RunAsync("plan", "-o", planPath)).ExitCode.Should().Be(0);
        var document = JsonNode.Parse(await File.ReadAllTextAsync(planPath))!;
        var group = document["plan"]!["policies"]![0]!["groups"]![0]!;
        group["group_key"]!.GetValue<string>().Should().Be(SeededFolderStore.Group("o1", "gone1"));
        group["group_key"] = SeededFolderStore.Group("o1", "a1");
        foreach (var item in group["objects"]!.AsArray())
        {
            var key = item!["key"]!.GetValue<string>().Replace("/gone1/", "/a1/", StringComparison.Ordinal);
            item["key"] = key;
            item["size"] = new FileInfo(Path.Join(_store.Root, key)).Length;
        }

        await File.WriteAllTextAsync(planPath, document.ToJsonString());
        var before = _store.Snapshot();

        var result = await _store.RunAsync("apply", planPath, "--yes");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"has the group '{SeededFolderStore.Group("o1", "a1")}', but its values ('o1', 'gone1') are not the key's")
            .And.Contain("make a new plan");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Apply_PlanEditedFromQuarantineToDelete_ExitsTwoAndTouchesNothing()
    {
        _store.EditConfig("action: delete", "action: quarantine");
        var planPath = Path.Join(_store.Dir, "plan.json");
        (await _store.RunAsync("plan", "-o", planPath)).ExitCode.Should().Be(0);
        var document = JsonNode.Parse(await File.ReadAllTextAsync(planPath))!;
        document["plan"]!["policies"]![0]!["action"]!.GetValue<string>().Should().Be("quarantine");
        document["plan"]!["policies"]![0]!["action"] = "delete";
        await File.WriteAllTextAsync(planPath, document.ToJsonString());
        var before = _store.Snapshot();

        var result = await _store.RunAsync("apply", planPath, "--yes");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("says delete").And.Contain("says quarantine").And.Contain("make a new plan");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Apply_PlanAGuardRefused_ExitsThreeAndTouchesNothing()
    {
        _store.EditConfig("max_delete_fraction: 0.5", "max_delete_fraction: 0.2\n  min_groups_for_fraction: 5");
        var planPath = Path.Join(_store.Dir, "plan.json");
        var plan = await _store.RunAsync("plan", "-o", planPath);
        plan.ExitCode.Should().Be(3, plan.ToString());
        var before = _store.Snapshot();

        var result = await _store.RunAsync("apply", planPath, "--yes");

        result.ExitCode.Should().Be(3, result.ToString());
        result.Stderr.Should().Contain("max_delete_fraction").And.Contain("nothing was touched");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Apply_PlanWhoseRefusalWasEditedAway_IsRefusedAgain()
    {
        _store.EditConfig("max_delete_fraction: 0.5", "max_delete_fraction: 0.2\n  min_groups_for_fraction: 5");
        var planPath = Path.Join(_store.Dir, "plan.json");
        (await _store.RunAsync("plan", "-o", planPath)).ExitCode.Should().Be(3);
        var text = File.ReadAllText(planPath).Replace("\"passed\": false", "\"passed\": true", StringComparison.Ordinal);
        File.WriteAllText(planPath, text);
        var before = _store.Snapshot();

        var result = await _store.RunAsync("apply", planPath, "--yes");

        result.ExitCode.Should().Be(3, result.ToString());
        result.Stderr.Should().Contain("max_delete_fraction");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Restore_UnknownRunId_ExitsTwoAndPointsAtTheHistory()
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync("restore", "20260101-000000-abcdef");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("no run '20260101-000000-abcdef'").And.Contain("reclaim runs");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Restore_RunThatQuarantinedNothing_ExitsTwo()
    {
        _store.EditConfig("max_delete_fraction: 0.5", "max_delete_fraction: 0.2\n  min_groups_for_fraction: 5");
        var refused = await SweepAsync();
        refused.ExitCode.Should().Be(3, refused.ToString());
        var runId = refused.Stderr.Split("recorded as run ")[1].Split(')')[0];
        var before = _store.Snapshot();

        var result = await _store.RunAsync("restore", runId);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"run '{runId}' quarantined nothing");
        StoreShouldBeUnchanged(before, result);
    }

    [Theory]
    [InlineData("banana")]
    [InlineData("-1d")]
    [InlineData("7 days")]
    public async Task TrashPurge_OlderThanThatIsNotADuration_ExitsTwo(string olderThan)
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync("trash", "purge", "--older-than", olderThan);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"--older-than: '{olderThan}' is not a duration");
        StoreShouldBeUnchanged(before, result);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("deep")]
    public async Task Usage_DepthThatIsNotAPositiveNumber_ExitsTwo(string depth)
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync("usage", "--depth", depth);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("--depth");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Usage_UnknownStore_ExitsTwoAndNamesIt()
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync("usage", "--store", "medai");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("no store named 'medai'");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task RunsShow_UnknownRunId_ExitsTwo()
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync("runs", "show", "nope");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("no run 'nope'");
        StoreShouldBeUnchanged(before, result);
    }

    // ---- YAML of every kind, bytes, cron, limits ----

    [Theory]
    [InlineData("guards: {max_delete_fraction: 0.5\nmax_delete_count: 10", "flow mapping opened here with '{' is not closed")]
    [InlineData("guards: [0.5\nmax_delete_count: 10", "flow sequence opened here with '[' is not closed")]
    public async Task Validate_UnclosedFlowCollection_ExitsTwoAtTheOpeningBracket(string replacement, string message)
    {
        // The next line starts at column 1, like "a: {b: 1\nc: 2": YAMLDotNet's scanner fails without a position there.
        _store.EditConfig("guards:\n  max_delete_fraction: 0.5", replacement);
        var bracket = _store.At("guards: ")[..^1] + (1 + "guards: ".Length).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var before = _store.Snapshot();

        var result = await _store.RunAsync("validate");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{bracket}: YAML syntax error: the {message}");
        result.Stderr.Should().NotContain("Operation is not valid");
        StoreShouldBeUnchanged(before, result);
    }

    [Theory]
    [InlineData("guards: {max_delete_fraction: 0.5,\n  max_delete_count: 10\n", "mapping opened with '{'")]
    [InlineData("guards: {max_delete_fraction: 0.5\n  max_delete_count: 10", "mapping opened with '{'")]
    [InlineData("guards: [0.5\n  max_delete_count: 10", "sequence opened with '['")]
    public async Task Validate_FlowCollectionNotClosed_NamesWhereItWasOpened(string replacement, string what)
    {
        _store.EditConfig("guards:\n  max_delete_fraction: 0.5", replacement);
        var line = _store.At("guards: ").Split(':')[^2];

        var result = await _store.RunAsync("validate");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().MatchRegex($"{System.Text.RegularExpressions.Regex.Escape(_store.ConfigPath)}:[0-9]+:[0-9]+: YAML syntax error: ");
        result.Stderr.Should().Contain($"the flow {what} at line {line}, column 9 is not closed here");
    }

    [Theory]
    [InlineData("min_age: 24h", "min_age: 24h\n\tmin_age: 1h", "a tab is used for indentation")]
    [InlineData("min_age: 24h", "min_age: 24h\n    min_age: 1h", "duplicate key 'min_age'")]
    [InlineData("min_age: 24h", "min_age: *grace", "the alias '*grace' names no anchor")]
    [InlineData("min_age: 24h", "min_age: \"24h\n    action: delete", "YAML syntax error")]
    [InlineData("min_age: 24h", "min_age: [24h\n", "not closed")]
    [InlineData("min_age: 24h", "min_age: @24h", "cannot start any token")]
    public async Task Sweep_YamlErrorOfAnyKind_ExitsTwoWithFileLineAndColumn(string find, string replacement, string message)
    {
        _store.EditConfig(find, replacement);
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().MatchRegex($"{System.Text.RegularExpressions.Regex.Escape(_store.ConfigPath)}:[1-9][0-9]*:[1-9][0-9]*: .*{System.Text.RegularExpressions.Regex.Escape(message)}");
        result.Stderr.Should().NotContain("   at ", "no stack trace without -v");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Validate_InvalidUtf8InTheConfig_ExitsTwoWithItsPosition()
    {
        var text = File.ReadAllText(_store.ConfigPath);
        var line = text[..text.IndexOf("min_age: 24h", StringComparison.Ordinal)].Count(c => c == '\n') + 1;
        var bytes = System.Text.Encoding.UTF8.GetBytes(text.Replace("min_age: 24h", "min_age: 24h # caf\u00e9", StringComparison.Ordinal));
        var at = IndexOf(bytes, System.Text.Encoding.UTF8.GetBytes("\u00e9"));
        bytes[at] = 0xE9;
        bytes[at + 1] = (byte)' ';
        File.WriteAllBytes(_store.ConfigPath, bytes);
        var before = _store.Snapshot();

        var result = await _store.RunAsync("validate");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.ConfigPath}:{line}:").And.Contain("not UTF-8").And.Contain("0xE9");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Sweep_NulByteInTheConfig_ExitsTwoWithItsPosition()
    {
        _store.EditConfig("min_age: 24h", "min_age: \"24h\0\"");
        var at = _store.At("\0");
        var before = _store.Snapshot();

        var result = await SweepAsync();

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{at}: a NUL character (U+0000)");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task Validate_Utf16Config_ExitsTwoAndSaysToSaveItAsUtf8()
    {
        File.WriteAllText(_store.ConfigPath, File.ReadAllText(_store.ConfigPath), System.Text.Encoding.Unicode);

        var result = await _store.RunAsync("validate");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{_store.ConfigPath}:1:1: the file is UTF-16 text");
    }

    [Fact]
    public async Task Validate_InvalidUtf8InTheEnvFile_ExitsTwoWithItsPosition()
    {
        File.WriteAllBytes(Path.Join(_store.Dir, ".env"), [.. "A=1\nB=caf"u8, 0xC3, 0x28, .. "\n"u8]);

        var result = await _store.RunAsync("validate");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{Path.Join(_store.Dir, ".env")}:2:6: the file is not UTF-8");
    }

    [Theory]
    [InlineData("61 * * * *", "Minute and Second values must be between 0 and 59")]
    [InlineData("0 25 * * *", "Hour values must be between 0 and 23")]
    [InlineData("0 3 32 * *", "Day of month values must be between 1 and 31")]
    [InlineData("0 3 * * 9", "'9' is not a day of the week")]
    [InlineData("0 3 * *", "has 4 fields")]
    [InlineData("0 3 1 * 1", "keep one of them '*'")]
    [InlineData("0 0 3 ? * 8", "Day-of-Week values must be between 1 and 7")]
    public async Task Validate_InvalidCron_ExitsTwoAtTheCronWithQuartzsReason(string cron, string reason)
    {
        _store.WriteConfig(_store.Config + $"schedule:\n  - policies: [orphan-uploads]\n    cron: \"{cron}\"\n");
        var at = _store.At($"\"{cron}\"");

        var result = await _store.RunAsync("validate");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{at}: schedule[0].cron: '{cron}' is not a valid schedule").And.Contain(reason);
        result.Stderr.Should().NotContain("   at ");
    }

    [Fact]
    public async Task Serve_InvalidCron_ExitsTwoAtStartUpWithThePosition_AndNoStackTrace()
    {
        _store.WriteConfig(_store.Config + "schedule:\n  - policies: [orphan-uploads]\n    cron: \"61 * * * *\"\n");
        var at = _store.At("\"61 * * * *\"");

        var result = await _store.RunAsync("serve", "--urls", "http://127.0.0.1:0");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{at}: schedule[0].cron: '61 * * * *' is not a valid schedule: Minute and Second values must be between 0 and 59");
        result.Stderr.Should().NotContain("   at ");
    }

    [Theory]
    [InlineData("0 3 * * *")]
    [InlineData("*/15 * * * *")]
    [InlineData("0 3 * * 0,7")]
    [InlineData("0 0 3 ? * MON-FRI")]
    [InlineData("0 0/5 * * * ? 2099")]
    [InlineData("@daily")]
    public void Load_ValidCron_IsAccepted(string cron)
    {
        _store.WriteConfig(_store.Config + $"schedule:\n  - policies: [orphan-uploads]\n    cron: \"{cron}\"\n");

        Engine.Configuration.ConfigLoader.Load(_store.ConfigPath).Schedule.Single().Cron.Should().Be(cron);
    }

    [Theory]
    [InlineData("runs", "--limit", "-5")]
    [InlineData("runs", "--limit", "0")]
    [InlineData("usage", "--depth", "0")]
    public async Task CountOptionBelowOne_ExitsTwoAndNamesTheOption(string command, string option, string value)
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync(command, option, value);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"{option} must be 1 or more, found {value}");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task QueueStatus_NegativeFailures_ExitsTwo()
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync("queue", "status", "--failures", "-1");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("--failures must be 0 or more, found -1");
        StoreShouldBeUnchanged(before, result);
    }

    [Fact]
    public async Task TrashPurge_OlderThanZero_ExitsTwo()
    {
        var before = _store.Snapshot();

        var result = await _store.RunAsync("trash", "purge", "--older-than", "0s");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("--older-than must be longer than zero");
        StoreShouldBeUnchanged(before, result);
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);

    // ---- hostile keys ----

    [Fact]
    public async Task Sweep_LinksAndUnaddressableNamesInTheStore_AreNeitherFollowedNorDeleted()
    {
        var outside = Path.Join(_store.Dir, "outside");
        Directory.CreateDirectory(Path.Join(outside, "dir", "raw"));
        Directory.CreateDirectory(Path.Join(outside, "orgtree", "uploads", "x1", "raw"));
        await File.WriteAllTextAsync(Path.Join(outside, "secret.txt"), "not the store's");
        await File.WriteAllTextAsync(Path.Join(outside, "dir", "raw", "v.mp4"), "not the store's");
        await File.WriteAllTextAsync(Path.Join(outside, "orgtree", "uploads", "x1", "raw", "v.mp4"), "not the store's");
        foreach (var file in Directory.EnumerateFiles(outside, "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(file, _store.OldTime);
        }

        // Inside an orphaned group: a link to a file outside, and a name no key can address.
        File.CreateSymbolicLink(Path.Join(_store.Root, "orgs/o1/uploads/gone1/link.mp4"), Path.Join(outside, "secret.txt"));
        _store.Put("orgs/o1/uploads/gone1/raw/a\\b.mp4", _store.OldTime);

        // A relative link climbing out of the root, a linked group folder and a linked org folder.
        File.CreateSymbolicLink(Path.Join(_store.Root, "orgs/o2/uploads/gone2/up"), "../../../../../outside");
        Directory.CreateSymbolicLink(Path.Join(_store.Root, "orgs/o1/uploads/linked"), Path.Join(outside, "dir"));
        Directory.CreateSymbolicLink(Path.Join(_store.Root, "orgs/o9"), Path.Join(outside, "orgtree"));

        // A referenced group and an unmatched key whose names hold a newline.
        _store.Sql("INSERT INTO media_assets (id, org_id) VALUES ('new' || char(10) || 'line', 'o1')");
        _store.Put("orgs/o1/uploads/new\nline/raw/v.mp4", _store.OldTime);
        _store.Put("tmp/line\nbreak.txt", _store.OldTime);

        var before = _store.Snapshot();
        var outsideBefore = FolderEntry.Read(outside);

        var result = await SweepAsync();

        result.ExitCode.Should().Be(0, result.ToString());
        result.Json.GetProperty("objects_done").GetInt64().Should().Be(SeededFolderStore.OrphanFiles.Count);
        _store.Snapshot().Should().Equal(SeededFolderStore.Without(before, SeededFolderStore.OrphanFiles), result.ToString());
        FolderEntry.Read(outside).Should().Equal(outsideBefore);
    }
}
