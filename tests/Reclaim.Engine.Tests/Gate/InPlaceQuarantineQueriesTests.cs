using Microsoft.Extensions.Logging.Abstractions;
using Reclaim.Core.State;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Runtime;
using Reclaim.Engine.Tests.Configuration;

namespace Reclaim.Engine.Tests.Gate;

/// <summary>
/// What planning is told is quarantined in place (<see cref="InPlaceQuarantineQueries.KeysByStoreAsync"/>): the keys
/// held per store that quarantines by tag, read from the state only when such a store is about to be planned. The s3
/// store is never contacted (nothing here sends it a request), so no service is needed.
/// </summary>
public sealed class InPlaceQuarantineQueriesTests : IAsyncLifetime
{
    private const string Run = "20260101-000000-aaaaaa";

    private readonly ConfigFolder _folder = new();
    private Workspace? _workspace;

    private string StatePath => Path.Join(_folder.Path, "state.db");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Join(_folder.Path, "media"));
        _workspace = new Workspace(_folder.Load("""
            state: {provider: sqlite, connection: ./state.db}
            stores:
              media: {type: filesystem, root: ./media}
              tagged: {type: s3, bucket: b, endpoint: "http://127.0.0.1:9", region: us-east-1, provider: wasabi, quarantine_mode: tag, access_key: k, secret_key: s}
              copied: {type: s3, bucket: c, endpoint: "http://127.0.0.1:9", region: us-east-1, provider: wasabi, access_key: k, secret_key: s}
            """), NullLoggerFactory.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _workspace!.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task StoresNoneOfWhichQuarantinesByTag_AreToldNothing_AndTheStateIsNotRead()
    {
        var keys = await InPlaceQuarantineQueries.KeysByStoreAsync(_workspace!, ["media", "copied"], CancellationToken.None);

        keys.Should().BeNull();
        File.Exists(StatePath).Should().BeFalse("planning a store that does not quarantine by tag opens no state");
    }

    [Fact]
    public async Task AStoreThatQuarantinesByTag_IsToldTheKeysHeldOnIt_AndNoOtherStoresKeys()
    {
        var state = await _workspace!.StateAsync(CancellationToken.None);
        await state.StartRunAsync(new RunRecord(Run, "sweep", DateTimeOffset.UnixEpoch, null, RunStatus.Running, "test", "orphan-uploads", false, null), CancellationToken.None);
        await state.RecordIntentAsync(
            [
                InPlace("tagged", "orgs/1/uploads/2/raw.mp4", ActionOutcome.Done),
                InPlace("tagged", "orgs/1/uploads/3/raw.mp4", ActionOutcome.Pending),
                InPlace("tagged", "orgs/1/uploads/4/raw.mp4", ActionOutcome.Skipped),
                InPlace("other", "orgs/1/uploads/5/raw.mp4", ActionOutcome.Done),
            ],
            CancellationToken.None);

        var keys = await InPlaceQuarantineQueries.KeysByStoreAsync(_workspace, ["media", "tagged", "tagged"], CancellationToken.None);

        keys.Should().NotBeNull();
        keys!("tagged").Should().BeEquivalentTo(["orgs/1/uploads/2/raw.mp4", "orgs/1/uploads/3/raw.mp4"], "a done or pending quarantine holds its key; a skipped one does not");
        keys("media").Should().BeNull("nothing is quarantined in place on the folder store");
        keys("TAGGED").Should().BeNull("store names compare ordinal");
    }

    private static ActionRecord InPlace(string store, string key, ActionOutcome outcome) =>
        new(0, Run, "orphan-uploads", store, ActionKind.Quarantine, key, 10, key, "orphan", null, key, outcome, null, DateTimeOffset.UnixEpoch);
}
