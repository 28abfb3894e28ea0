using Reclaim.Core.Layouts;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Queue;
using Reclaim.Engine.Tests.Configuration;

namespace Reclaim.Engine.Tests.Queue;

/// <summary>What a queue request removes under a layout, and the config rules of a queue's layout and references.</summary>
public sealed class QueueTargetTests : IDisposable
{
    private static readonly Layout Assets = Layout.Parse("orgs/{org}/uploads/{asset}/");
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("orgs/1/uploads/2/thumbnail.jpg")]
    [InlineData("orgs/1/uploads/2/raw/match.mp4")]
    [InlineData("orgs/1/uploads/2/streaming/hls/seg_000.ts")]
    [InlineData("orgs/1/uploads/2/")]
    [InlineData("orgs/1/uploads/2/raw/")]
    public void TryResolve_FolderTargetWithALayout_IsTheGroupHoldingThePath_WhateverItsDepth(string path)
    {
        var problem = QueueTarget.TryResolve(path, folder: true, folderDepth: 2, requirePrefix: "orgs/", out var target, Assets);

        problem.Should().BeNull();
        target.Should().Be(new QueueTarget(null, "orgs/1/uploads/2/", "orgs/1/uploads/2/"));
    }

    [Fact]
    public void TryResolve_FolderDepthWithoutALayout_StillDropsSegments_AsBefore()
    {
        QueueTarget.TryResolve("orgs/1/uploads/2/thumbnail.jpg", folder: true, folderDepth: 2, requirePrefix: "orgs/", out var target).Should().BeNull();

        target.Should().Be(new QueueTarget(null, "orgs/1/uploads/", null), "depth arithmetic cannot know the layout: this is why a layout is wanted");
    }

    [Theory]
    [InlineData("orgs/1/a.mp4")]
    [InlineData("orgs/1/uploads/")]
    [InlineData("orgs/1/uploads/2")]
    [InlineData("orgs/1/thumbs/2/x.jpg")]
    [InlineData("orgs//uploads/2/x.jpg")]
    public void TryResolve_APathTheLayoutDoesNotMatch_IsRejected(string path)
    {
        var problem = QueueTarget.TryResolve(path, folder: true, folderDepth: 2, requirePrefix: null, out _, Assets);

        problem.Should().Contain("does not match the policy's layout 'orgs/{org}/uploads/{asset}/'").And.EndWith("nothing was deleted");
    }

    [Fact]
    public void TryResolve_AGroupNotDeeperThanRequirePrefix_IsRejected()
    {
        var problem = QueueTarget.TryResolve("orgs/1/uploads/2/a.mp4", folder: true, folderDepth: 2, requirePrefix: "orgs/1/uploads/2/", out _, Assets);

        problem.Should().Contain("not inside require_prefix 'orgs/1/uploads/2/'");
    }

    [Fact]
    public void TryResolve_KeyTargetWithALayout_IsTheKey_AndItsGroupIsLookedUp()
    {
        QueueTarget.TryResolve("orgs/1/uploads/2/raw/a.mp4", folder: false, folderDepth: 2, requirePrefix: null, out var target, Assets).Should().BeNull();
        target.Should().Be(new QueueTarget("orgs/1/uploads/2/raw/a.mp4", null, "orgs/1/uploads/2/"));

        QueueTarget.TryResolve("orgs/1/uploads/2/", folder: false, folderDepth: 2, requirePrefix: null, out _, Assets).Should().Contain("names a folder");
        QueueTarget.TryResolve("exports/a.csv", folder: false, folderDepth: 2, requirePrefix: null, out _, Assets).Should().Contain("does not match");
    }

    private static string Queue(string settings) => $$"""
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
            {{settings}}
        """;

    [Fact]
    public void Load_QueueLayoutAndReferences_AreRead()
    {
        var config = _folder.Load(Queue("target: folder\n    layout: \"orgs/{org}/uploads/{asset}/\"\n    references: {catalog: app, query: \"SELECT org_id AS org, id AS asset FROM media_assets\"}"));

        var queue = config.Policies[0].Should().BeOfType<QueuePolicy>().Which;
        queue.Layout!.Template.Should().Be("orgs/{org}/uploads/{asset}/");
        queue.References.Should().Equal(new QueryConfig("app", "SELECT org_id AS org, id AS asset FROM media_assets"));
    }

    [Fact]
    public void Load_QueueReferencesWithoutALayout_IsAnError()
    {
        var error = _folder.SingleError(Queue("target: folder\n    references: {catalog: app, query: \"SELECT id AS asset FROM media_assets\"}"), 12, 17);

        error.Message.Should().Contain("references: needs a layout");
    }

    [Fact]
    public void Load_QueueFolderTargetWithAnObjectLayout_IsAnError()
    {
        var error = _folder.SingleError(Queue("target: folder\n    layout: \"clips/{clip...}\""), 12, 13);

        error.Message.Should().Contain("names single objects, but target: folder empties a folder");
    }
}
