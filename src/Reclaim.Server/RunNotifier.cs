using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Reclaim.Engine.Configuration;

namespace Reclaim.Server;

/// <summary>
/// Posts a Slack-compatible message (<c>{"text": "..."}</c>, also accepted by Mattermost, Discord's <c>/slack</c>
/// endpoints and most chat webhooks) to <c>server.webhook_url</c> when a run the server started finishes or fails.
/// A webhook that fails is logged, never retried, and never changes the run.
/// </summary>
public sealed partial class RunNotifier(ReclaimConfig config, HttpClient http, ILogger<RunNotifier> logger)
{
    /// <summary>Sends the message for <paramref name="run"/>, when a webhook is configured.</summary>
    /// <param name="run">A finished run.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that does not fault.</returns>
    public async Task RunFinishedAsync(TrackedRun run, CancellationToken cancellationToken)
    {
        if (config.Server.WebhookUrl is not { } url)
        {
            return;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            using var response = await http.PostAsJsonAsync(url, new { text = Text(run) }, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                LogWebhookFailed(logger, run.Id, $"HTTP {(int)response.StatusCode}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            LogWebhookFailed(logger, run.Id, e.Message);
        }
    }

    /// <summary>The message: run id, policies, outcome, and objects and bytes removed (or, dry, proposed).</summary>
    /// <param name="run">A finished run.</param>
    /// <returns>One line.</returns>
    public static string Text(TrackedRun run)
    {
        var what = run.DryRun ? "dry run" : "run";
        var policies = string.Join(", ", run.Policies);
        var totals = run.Result?.Totals;
        var counts = totals is null
            ? string.Empty
            : string.Create(CultureInfo.InvariantCulture, $": {totals.ObjectsDone} objects, {totals.BytesDone} bytes {(run.DryRun ? "would be removed" : "removed")}, {totals.ObjectsSkipped} skipped, {totals.ObjectsFailed} failed");
        var error = run.Error is null ? string.Empty : $" ({run.Error})";
        return $"reclaim {what} {run.Id} [{policies}] by {run.Actor} {run.Status}{counts}{error}";
    }

    [LoggerMessage(EventId = 200, EventName = "WebhookFailed", Level = LogLevel.Warning, Message = "webhook for run {RunId} failed: {Reason}")]
    private static partial void LogWebhookFailed(ILogger logger, string runId, string reason);
}
