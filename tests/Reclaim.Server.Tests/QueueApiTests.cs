using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Reclaim.Server.Tests;

/// <summary>
/// <c>POST /api/v1/deletions</c> and <c>GET /api/v1/queue</c> against a real server over a folder store: the server's
/// own queue worker executes what the API accepted, and what the queue refuses is neither enqueued nor deleted.
/// </summary>
public sealed class QueueApiTests
{
    [Fact]
    public async Task Deletions_ThroughTheApi_AreExecutedByTheServersWorker()
    {
        await using var host = await ServerHost.StartAsync();
        using var admin = host.As("admin");
        using var viewer = host.As("viewer");
        var before = host.StoreKeys();

        using var response = await admin.PostAsJsonAsync("api/v1/deletions", new
        {
            store = "media",
            keys = new[] { "uploads/gone0/video.mp4" },
            prefixes = new[] { "uploads/gone1/" },
            action = "delete",
        });

        response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var accepted = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var ids = accepted["ids"]!.AsArray().Select(i => i!.GetValue<long>()).ToList();
        ids.Should().HaveCount(2);
        response.Headers.Location!.ToString().Should().Be($"/api/v1/deletions/{ids[0]}");
        accepted["actor"]!.GetValue<string>().Should().Be("api:admin");
        foreach (var id in ids)
        {
            var request = await ServerHost.WaitForRequestAsync(viewer, id);
            request["status"]!.GetValue<string>().Should().Be("processed", request.ToJsonString());
            request["error"].Should().BeNull();
        }

        var expected = before.Where(k => k != "uploads/gone0/video.mp4" && !k.StartsWith("uploads/gone1/", StringComparison.Ordinal));
        host.StoreKeys().Should().BeEquivalentTo(expected, "the queue removes exactly what was requested: one key and one folder");
        var queue = await QueueAsync(viewer, "reclaim");
        queue["depth"]!.GetValue<long>().Should().Be(0);
        queue["recent_failures"]!.AsArray().Should().BeEmpty();
        var runs = (await viewer.GetFromJsonAsync<JsonArray>("api/v1/runs"))!;
        // A run the worker has just started (it polls on) has no summary yet: only finished queue runs count here.
        runs.Should().Contain(r => r!["kind"]!.GetValue<string>() == "queue" && r["summary"] != null && r["summary"]!["objects_done"] != null && r["summary"]!["objects_done"]!.GetValue<long>() > 0,
            "each batch the worker takes is a run recorded in state");
    }

    [Fact]
    public async Task Deletion_OfAReferencedFolder_KeepsItsObjects_AndRecordsThePolicyThatProtectsThem()
    {
        // An admin may ask to delete anything, but what a policy on the store still references survives: each object
        // is checked against the store's protections when the worker executes the request.
        await using var host = await ServerHost.StartAsync(extraYaml: "own_queue:\n  retry_delay: 0s\n  max_attempts: 2\n");
        using var admin = host.As("admin");
        var before = host.StoreKeys();

        var ids = await EnqueueAsync(admin, new { store = "media", keys = new[] { "uploads/a4/video.mp4" }, prefixes = new[] { "uploads/a3/", "uploads/gone0/" }, action = "delete" });

        var requests = new List<JsonObject>();
        foreach (var id in ids)
        {
            requests.Add(await ServerHost.WaitForRequestAsync(admin, id));
        }

        requests[0]["status"]!.GetValue<string>().Should().Be("failed", requests[0].ToJsonString());
        requests[0]["error"]!.GetValue<string>().Should().StartWith("still referenced by policy 'uploads' (references): a row of catalog 'app' renders to 'uploads/a4/'")
            .And.Contain("gave up after 2 attempts");
        requests[1]["error"]!.GetValue<string>().Should().StartWith("still referenced by policy 'uploads' (references)").And.Contain("'uploads/a3/'");
        requests[2]["status"]!.GetValue<string>().Should().Be("processed", "gone0 is referenced by nothing");
        host.StoreKeys().Should().BeEquivalentTo(before.Where(k => !k.StartsWith("uploads/gone0/", StringComparison.Ordinal)),
            "the referenced objects survive an admin's delete request; the unreferenced folder goes");
        var runs = (await admin.GetFromJsonAsync<JsonArray>("api/v1/runs"))!.Where(r => r!["kind"]!.GetValue<string>() == "queue").ToList();
        var skipped = new List<JsonNode>();
        foreach (var run in runs)
        {
            var actions = (await admin.GetFromJsonAsync<JsonArray>($"api/v1/runs/{run!["id"]!.GetValue<string>()}/actions"))!;
            skipped.AddRange(actions.Where(a => a!["outcome"]!.GetValue<string>() == "skipped")!);
        }

        skipped.Select(a => a["key"]!.GetValue<string>()).Should().Contain(["uploads/a4/video.mp4", "uploads/a3/video.mp4"]);
        skipped.Should().AllSatisfy(a => a["error"]!.GetValue<string>().Should().StartWith("protected by policy 'uploads' (references)"));
    }

    /// <summary>A second store, <c>clips-store</c>, with four clips; a retention policy keeps the two completed ones.</summary>
    private static string WithClips(string yaml, string root) => yaml
        .Replace("stores:\n", $"stores:\n  clips-store:\n    type: filesystem\n    root: {root}\n", StringComparison.Ordinal)
        .Replace("policies:\n", """
            policies:
              - name: expire-clips
                type: retention
                store: clips-store
                layout: "clips/{clip...}"
                max_age: 5d
                keep:
                  catalog: app
                  query: "SELECT name AS clip FROM clips WHERE status = 'completed'"
                action: delete

            """, StringComparison.Ordinal)
        + "\nown_queue:\n  retry_delay: 0s\n  max_attempts: 2\n";

    private static async Task<ServerHost> StartWithClipsAsync(string root)
    {
        foreach (var name in new[] { "c1.mp4", "c2.mp4", "c3.mp4", "sub/c4.mp4" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, "clips", name))!);
            await File.WriteAllTextAsync(Path.Combine(root, "clips", name), name);
        }

        var host = await ServerHost.StartAsync(editYaml: yaml => WithClips(yaml, root));
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(Path.GetDirectoryName(host.ConfigPath)!, "app.db")};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE clips (name TEXT, status TEXT); INSERT INTO clips VALUES ('c1.mp4', 'completed'), ('sub/c4.mp4', 'completed'), ('c3.mp4', 'failed');";
        await command.ExecuteNonQueryAsync();
        return host;
    }

    private static List<string> Clips(string root) =>
        [.. Directory.EnumerateFiles(Path.Combine(root, "clips"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Deletions_AnOperatorDeletingEveryClip_IsRefused_AndNothingIsEnqueuedOrDeleted()
    {
        using var clips = new Reclaim.Testing.TemporaryFolder("reclaim-clips");
        var root = clips.Path;
        await using var host = await StartWithClipsAsync(root);
        using var operatorClient = host.As("operator");
        using var viewer = host.As("viewer");

        using var delete = await operatorClient.PostAsync("api/v1/deletions", Json("""{"store":"clips-store","prefixes":["clips/"],"action":"delete"}"""));
        using var quarantine = await operatorClient.PostAsync("api/v1/deletions", Json("""{"store":"clips-store","prefixes":["clips/"],"action":"quarantine"}"""));

        delete.StatusCode.Should().Be(HttpStatusCode.Forbidden, await delete.Content.ReadAsStringAsync());
        var deleteProblem = await ProblemAsync(delete);
        deleteProblem["detail"]!.GetValue<string>().Should().Contain("action: delete").And.Contain("may quarantine").And.Contain("needs the admin role");
        deleteProblem["required_role"]!.GetValue<string>().Should().Be("admin");
        quarantine.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, await quarantine.Content.ReadAsStringAsync());
        var spanProblem = await ProblemAsync(quarantine);
        spanProblem["detail"]!.GetValue<string>().Should().Contain("'clips/' spans more than one group of policy 'expire-clips''s layout 'clips/{clip...}'");
        spanProblem["limit"]!.GetValue<string>().Should().Be("layout_group");
        (await QueueAsync(viewer, "reclaim"))["depth"]!.GetValue<long>().Should().Be(0);
        Clips(root).Should().Equal("clips/c1.mp4", "clips/c2.mp4", "clips/c3.mp4", "clips/sub/c4.mp4");
    }

    [Fact]
    public async Task Deletions_AnOperatorAskingForMoreThanMaxDeleteCount_IsRefusedNamingTheLimit_OneGroupsWorthIsAccepted()
    {
        await using var host = await ServerHost.StartAsync(editYaml: yaml => yaml.Replace("guards:\n", "guards:\n  max_delete_count: 1\n", StringComparison.Ordinal));
        using var operatorClient = host.As("operator");
        using var viewer = host.As("viewer");
        var before = host.StoreKeys();

        using var folder = await operatorClient.PostAsync("api/v1/deletions", Json("""{"store":"media","prefixes":["uploads/gone0/"]}"""));
        using var keys = await operatorClient.PostAsync("api/v1/deletions", Json("""{"store":"media","keys":["uploads/gone0/video.mp4","uploads/gone1/video.mp4"]}"""));
        using var uploads = await operatorClient.PostAsync("api/v1/deletions", Json("""{"store":"media","prefixes":["uploads/"]}"""));

        foreach (var refused in new[] { folder, keys })
        {
            refused.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, await refused.Content.ReadAsStringAsync());
            var problem = await ProblemAsync(refused);
            problem["detail"]!.GetValue<string>().Should().Contain("more than guards.max_delete_count (1)");
            problem["limit"]!.GetValue<string>().Should().Be("guards.max_delete_count");
        }

        uploads.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        (await ProblemAsync(uploads))["limit"]!.GetValue<string>().Should().Be("layout_group");
        var one = await EnqueueAsync(operatorClient, new { store = "media", keys = new[] { "uploads/gone1/thumb.jpg" } });
        (await ServerHost.WaitForRequestAsync(viewer, one.Single()))["status"]!.GetValue<string>().Should().Be("processed");
        host.StoreKeys().Should().NotContain("uploads/gone1/thumb.jpg").And.Contain(k => k.StartsWith(".reclaim-trash/", StringComparison.Ordinal), "an operator's request quarantines");
        host.StoreKeys().Should().HaveCount(before.Count);
    }

    [Fact]
    public async Task Deletions_AnAdminDeletingEveryClip_RemovesOnlyTheClipsNoPolicyProtects()
    {
        using var clips = new Reclaim.Testing.TemporaryFolder("reclaim-clips");
        var root = clips.Path;
        await using var host = await StartWithClipsAsync(root);
        using var admin = host.As("admin");

        var id = (await EnqueueAsync(admin, new { store = "clips-store", prefixes = new[] { "clips/" }, action = "delete" })).Single();
        var request = await ServerHost.WaitForRequestAsync(admin, id);

        Clips(root).Should().Equal(["clips/c1.mp4", "clips/sub/c4.mp4"], "the completed clips are kept by expire-clips' keep query, at execution time");
        request["status"]!.GetValue<string>().Should().Be("failed");
        request["error"]!.GetValue<string>().Should().StartWith("still referenced by policy 'expire-clips' (keep): a row of catalog 'app' renders to 'clips/")
            .And.Contain("2 objects kept");
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response)
    {
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task HostileDeletions_ThroughTheApi_AreRefusedAndNothingIsEnqueuedOrDeleted()
    {
        await using var host = await ServerHost.StartAsync();
        using var operatorClient = host.As("operator");
        using var viewer = host.As("viewer");
        var before = host.StoreKeys();
        string[] bodies =
        [
            """{"store": "media", "prefixes": ["uploads/"], "keys": ["uploads/../../etc/passwd"]}""",
            """{"store": "media", "prefixes": ["uploads"]}""",
            """{"store": "media", "prefixes": ["uploads/", "./"]}""",
            """{"store": "media", "prefixes": ["/"]}""",
            """{"store": "media", "prefixes": ["uploads/", ""]}""",
            """{"store": "media", "keys": ["uploads\\a1\\video.mp4"]}""",
            """{"store": "media", "prefixes": [".reclaim-trash/"]}""",
            """{"store": "elsewhere", "prefixes": ["uploads/"]}""",
            "{\"store\": \"media\", \"keys\": [\"" + new string('k', 1100) + "\"]}",
            "{\"store\": \"media\", \"keys\": [" + string.Join(',', Enumerable.Range(0, 1001).Select(i => $"\"k{i}\"")) + "]}",
        ];

        foreach (var body in bodies)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await operatorClient.PostAsync("api/v1/deletions", content);
            ((int)response.StatusCode).Should().BeOneOf([400, 422], body);
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        }

        var queue = await QueueAsync(viewer, "reclaim");
        queue["depth"]!.GetValue<long>().Should().Be(0, "a refused request enqueues nothing, not even its valid part");
        queue["recent_failures"]!.AsArray().Should().BeEmpty();
        (await viewer.GetAsync("api/v1/deletions/1")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        host.StoreKeys().Should().BeEquivalentTo(before);
    }

    [Fact]
    public async Task Deletions_WithTheWorkerOff_StayPendingAndShowInTheQueue()
    {
        await using var host = await ServerHost.StartAsync(queueWorker: false);
        using var operatorClient = host.As("operator");
        using var viewer = host.As("viewer");
        var before = host.StoreKeys();

        var id = (await EnqueueAsync(operatorClient, new { store = "media", keys = new[] { "uploads/gone0/video.mp4" } })).Single();

        var view = (await viewer.GetFromJsonAsync<JsonObject>("api/v1/queue"))!;
        view["worker"]!.GetValue<bool>().Should().BeFalse();
        var own = view["queues"]!.AsArray().Single(q => q!["queue"]!.GetValue<string>() == "reclaim")!;
        own["depth"]!.GetValue<long>().Should().Be(1);
        own["oldest_pending"].Should().NotBeNull();
        (await viewer.GetFromJsonAsync<JsonObject>($"api/v1/deletions/{id}"))!["status"]!.GetValue<string>().Should().Be("pending");
        host.StoreKeys().Should().BeEquivalentTo(before);
    }

    [Fact]
    public async Task Deletions_RecordWhoEnqueuedThem_TheTokenThroughTheApiAndTheUserThroughTheCli()
    {
        await using var host = await ServerHost.StartAsync(queueWorker: false);
        using var operatorClient = host.As("operator");
        using var jwtClient = host.Client(ServerHost.Jwt("operator", DateTimeOffset.UtcNow.AddHours(1)));
        using var viewer = host.As("viewer");

        var byToken = (await EnqueueAsync(operatorClient, new { store = "media", keys = new[] { "uploads/gone0/video.mp4" } })).Single();
        var byJwt = (await EnqueueAsync(jwtClient, new { store = "media", keys = new[] { "uploads/gone0/thumb.jpg" } })).Single();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await Cli.ReclaimCommandLine.RunAsync(
            ["enqueue", "--store", "media", "--prefix", "uploads/gone1/", "-c", host.ConfigPath, "--format", "json"], stdout, stderr);
        exit.Should().Be(0, $"{stdout}\n{stderr}");
        var byCli = JsonNode.Parse(stdout.ToString())!["ids"]!.AsArray().Single()!.GetValue<long>();

        async Task<string?> RequesterAsync(long id) =>
            (await viewer.GetFromJsonAsync<JsonObject>($"api/v1/deletions/{id}"))!["requested_by"]?.GetValue<string>();
        (await RequesterAsync(byToken)).Should().Be("api:operator", "the API key's name is recorded");
        (await RequesterAsync(byJwt)).Should().Be("api:user-operator", "a JWT's subject is recorded");
        (await RequesterAsync(byCli)).Should().Be($"cli:{Environment.UserName}@{Environment.MachineName}", "reclaim enqueue records its user like CLI runs");

        // A request that fails (its store's require_prefix changed before a worker took it) keeps its requester in
        // the queue's recent failures, through the API and through `reclaim queue status`.
        var strict = host.ConfigPath.Replace("reclaim.yaml", "strict.yaml", StringComparison.Ordinal);
        await File.WriteAllTextAsync(strict, await File.ReadAllTextAsync(host.ConfigPath) + "\nown_queue:\n  require_prefix:\n    media: \"elsewhere/\"\n");
        var drained = await Cli.ReclaimCommandLine.RunAsync(["worker", "--once", "--policy", "reclaim", "-c", strict, "--format", "json"], new StringWriter(), new StringWriter());
        drained.Should().Be(4, "every request is outside the new require_prefix, so each fails");

        var failures = (await viewer.GetFromJsonAsync<JsonObject>("api/v1/queue?queue=reclaim"))!["queues"]!.AsArray().Single()!["recent_failures"]!.AsArray();
        failures.Select(f => (f!["id"]!.GetValue<string>(), f["requested_by"]?.GetValue<string>())).Should().BeEquivalentTo(new[]
        {
            (byToken.ToString(CultureInfo.InvariantCulture), (string?)"api:operator"),
            (byJwt.ToString(CultureInfo.InvariantCulture), "api:user-operator"),
            (byCli.ToString(CultureInfo.InvariantCulture), $"cli:{Environment.UserName}@{Environment.MachineName}"),
        });
        using var statusOut = new StringWriter();
        (await Cli.ReclaimCommandLine.RunAsync(["queue", "status", "--policy", "reclaim", "-c", host.ConfigPath, "--format", "json"], statusOut, new StringWriter())).Should().Be(0);
        var cliFailures = JsonNode.Parse(statusOut.ToString())!.AsArray().Single()!["recent_failures"]!.AsArray();
        cliFailures.Select(f => f!["requested_by"]?.GetValue<string>()).Should().BeEquivalentTo(failures.Select(f => f!["requested_by"]?.GetValue<string>()));
    }

    private static async Task<List<long>> EnqueueAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync("api/v1/deletions", body);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return [.. (await response.Content.ReadFromJsonAsync<JsonObject>())!["ids"]!.AsArray().Select(i => i!.GetValue<long>())];
    }

    private static async Task<JsonObject> QueueAsync(HttpClient client, string name)
    {
        var view = (await client.GetFromJsonAsync<JsonObject>($"api/v1/queue?queue={name}"))!;
        view["worker"]!.GetValue<bool>().Should().BeTrue();
        return view["queues"]!.AsArray().Single()!.AsObject();
    }
}
