using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Queue;

using Reclaim.Engine.Runtime;

namespace Reclaim.Server;

/// <summary>
/// The queue worker inside <c>reclaim serve</c>: one continuous <see cref="QueueService.RunWorkerAsync"/> per queue
/// (each <c>queue</c> policy and Reclaim's own queue), so a queue whose catalog fails does not hold up the others;
/// a worker that fails is restarted with exponential backoff (1 s doubling to 5 min, with jitter). Requests
/// accepted by <c>POST /api/v1/deletions</c> are drained at once rather than at the next poll. On shutdown the
/// workers finish the requests they are executing and release the ones they claimed but did not start, like
/// <c>reclaim worker</c> on SIGTERM. Several servers (and <c>reclaim worker</c> processes) may drain the same
/// queues: requests are leased, so each is executed by one of them at a time.
/// </summary>
/// <param name="engine">The engine whose <see cref="ReclaimEngine.Queue"/> runs the workers.</param>
/// <param name="settings">Whether the worker runs (<see cref="ServerSettings.QueueWorker"/>).</param>
/// <param name="timeProvider">The clock of the backoff.</param>
/// <param name="logger">Where worker failures go.</param>
public sealed partial class QueueHost(ReclaimEngine engine, ServerSettings settings, TimeProvider timeProvider, ILogger<QueueHost> logger) : BackgroundService
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Whether this server runs a queue worker (<see langword="false"/> with <c>reclaim serve --no-worker</c>).</summary>
    public bool Enabled => settings.QueueWorker;

    /// <summary>The queues the worker drains: every <c>queue</c> policy's name, then <see cref="QueueService.OwnQueue"/>.</summary>
    public IReadOnlyList<string> Queues =>
        [.. engine.Config.Policies.OfType<QueuePolicy>().Select(p => p.Name).Append(QueueService.OwnQueue)];

    /// <summary>Asks for an immediate drain of Reclaim's own queue (after an enqueue); several calls before the drain starts make one drain.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        // Leave the host's start-up at once: SQLite's async calls complete synchronously.
        await Task.Yield();
        var workers = Queues.Select(queue => SuperviseAsync(queue, once: false, stoppingToken)).ToList();
        workers.Add(DrainOnWakeAsync(stoppingToken));
        await Task.WhenAll(workers);
    }

    private async Task DrainOnWakeAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _wake.Reader.WaitToReadAsync(stoppingToken))
            {
                _wake.Reader.TryRead(out _);
                await SuperviseAsync(QueueService.OwnQueue, once: true, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SuperviseAsync(string queue, bool once, CancellationToken stoppingToken)
    {
        var pipeline = Supervision.RetryForever(
            TimeSpan.FromMinutes(5),
            e => !stoppingToken.IsCancellationRequested && e is not UsageException,
            (failure, delay) => LogWorkerFailed(logger, failure, queue, (long)delay.TotalMilliseconds),
            timeProvider);
        try
        {
            await pipeline.ExecuteAsync(async token => await engine.Queue.RunWorkerAsync([queue], once, token), stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (UsageException e)
        {
            LogWorkerStopped(logger, e, queue);
        }
    }

    [LoggerMessage(EventId = 400, EventName = "QueueWorkerFailed", Level = LogLevel.Error, Message = "the queue worker of {Queue} failed; it restarts in {DelayMs} ms")]
    private static partial void LogWorkerFailed(ILogger logger, Exception? exception, string queue, long delayMs);

    [LoggerMessage(EventId = 401, EventName = "QueueWorkerStopped", Level = LogLevel.Error, Message = "the queue worker of {Queue} cannot run")]
    private static partial void LogWorkerStopped(ILogger logger, Exception exception, string queue);
}
