using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Reclaim.Core.State;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Runs;
using Reclaim.Engine.Runtime;
using Reclaim.Engine.Telemetry;

namespace Reclaim.Engine.Queue;

/// <summary>What a worker did, added up.</summary>
public sealed class WorkerTotals
{
    /// <summary>Requests processed without an error.</summary>
    public int Processed { get; set; }

    /// <summary>Requests that ended with an error (rejected, or out of attempts).</summary>
    public int Failed { get; set; }

    /// <summary>Claimed requests given back unstarted because the worker was stopping.</summary>
    public int Released { get; set; }

    /// <summary>Objects removed.</summary>
    public long Objects { get; set; }

    /// <summary>Bytes removed.</summary>
    public long Bytes { get; set; }

    internal void Add(WorkerTotals other)
    {
        Processed += other.Processed;
        Failed += other.Failed;
        Released += other.Released;
        Objects += other.Objects;
        Bytes += other.Bytes;
    }
}

/// <summary>A store failed part of a request; the attempt is retried.</summary>
/// <param name="message">The first failures.</param>
internal sealed class QueueAttemptException(string message) : Exception(message);

/// <summary>
/// What the request would remove is still referenced: its group by the queue policy's own <c>references</c> (nothing
/// was executed), or some objects by the store's protections (those were kept). Retried with backoff, since the
/// application may delete the row just after inserting the request; after the last attempt the request's error is
/// this message, which starts with <c>still referenced by</c>.
/// </summary>
/// <param name="message">Who references what.</param>
internal sealed class StillReferencedException(string message) : Exception(message);

/// <summary>The request has used its attempts; the message is the last attempt's error.</summary>
/// <param name="message">The last error.</param>
internal sealed class AttemptsExhaustedException(string message) : Exception(message);

/// <summary>
/// Drains deletion-request queues: claims requests oldest first under a lease, validates each, removes its key or
/// folder through <see cref="DestructiveGate.RemoveRequestedAsync"/> (recorded per object in state, one run per
/// claimed batch), retries transient failures with exponential backoff up to the configured attempts (counted in
/// state, so a restarted worker continues the count), and marks the request processed, with its last error when it
/// failed. Several workers, in one process or many, may drain the same queue.
/// </summary>
internal sealed class QueueWorker(Workspace workspace, IQueueState queueState, IStateStore state, TimeProvider timeProvider, ILoggerFactory loggerFactory, string workerId)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Reclaim.Queue");

    /// <summary>
    /// Drains <paramref name="source"/>: claims and processes batches until the queue is empty; then, unless
    /// <paramref name="once"/>, waits a poll interval (on PostgreSQL, less when the table's notification trigger
    /// reports an insert) and looks again, until <paramref name="stopping"/>.
    /// </summary>
    /// <param name="source">The queue.</param>
    /// <param name="once">Drain and return.</param>
    /// <param name="stopping">Stop claiming; requests in progress finish, claimed but unstarted ones are released.</param>
    /// <returns>What was done.</returns>
    public async Task<WorkerTotals> RunAsync(QueueSource source, bool once, CancellationToken stopping)
    {
        var totals = new WorkerTotals();
        try
        {
            if (!once)
            {
                // Before the first look, so that a row inserted after it is heard of.
                await source.StartWatchingAsync(_logger, stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopped before the first claim: nothing was claimed, so nothing is left to finish or release.
            return totals;
        }

        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await ObserveDepthAsync(source, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // A stop while the depth is read (the first look at the queue, or one after a wait) ends the worker
                // as cleanly as one during the wait: nothing is claimed at that point.
                break;
            }

            while (!stopping.IsCancellationRequested)
            {
                var cycle = await CycleAsync(source, stopping);
                totals.Add(cycle.Totals);
                if (cycle.Claimed == 0)
                {
                    break;
                }
            }

            if (once)
            {
                break;
            }

            try
            {
                await source.WaitForRequestsAsync(timeProvider, stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return totals;
    }

    /// <summary>Claims one batch and processes it; returns how many were claimed.</summary>
    internal async Task<(int Claimed, WorkerTotals Totals)> CycleAsync(QueueSource source, CancellationToken stopping)
    {
        var clock = Stopwatch.StartNew();
        var totals = new WorkerTotals();
        var claimed = await source.ClaimAsync(queueState, workerId, timeProvider.GetUtcNow(), source.Settings.BatchSize, CancellationToken.None);
        if (claimed.Count == 0)
        {
            return (0, totals);
        }

        var recorder = new RunRecorder(workspace, timeProvider);
        await using var recorded = await recorder.StartAsync(state, recorder.NewRun("queue", workerId, [source.Name], false), CancellationToken.None);
        var run = recorded.Run;
        var gate = new DestructiveGate(state, timeProvider, loggerFactory.CreateLogger<DestructiveGate>());
        var gateRun = new GateRun(run.Id, workerId, false);
        var inFlight = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        foreach (var request in claimed)
        {
            inFlight[request.Id] = true;
        }

        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(source, inFlight, heartbeatStop.Token);
        var sync = new Lock();
        try
        {
            await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = source.Settings.Concurrency }, async (request, _) =>
            {
                WorkerTotals one;
                if (stopping.IsCancellationRequested)
                {
                    await queueState.ReleaseLeaseAsync(source.Name, request.Id, workerId, CancellationToken.None);
                    one = new WorkerTotals { Released = 1 };
                }
                else
                {
                    one = await ProcessAsync(source, gate, gateRun, request);
                }

                inFlight.TryRemove(request.Id, out bool _);
                lock (sync)
                {
                    totals.Add(one);
                }
            });
        }
        finally
        {
            await heartbeatStop.CancelAsync();
            await heartbeat;
            var status = totals.Failed > 0 ? RunStatus.PartiallyFailed : RunStatus.Succeeded;
            var summary = new RunSummary { RequestsProcessed = totals.Processed, RequestsFailed = totals.Failed, RequestsReleased = totals.Released, ObjectsDone = totals.Objects, BytesDone = totals.Bytes }.ToJson();
            await recorded.FinishAsync(status, summary, totals.Failed > 0 ? $"{totals.Failed} requests failed, each recorded with its error" : null);
            Log.CycleComplete(_logger, source.Name, totals.Processed, totals.Failed, totals.Released, totals.Objects, totals.Bytes, clock.ElapsedMilliseconds);
        }

        return (claimed.Count, totals);
    }

    private async Task ObserveDepthAsync(QueueSource source, CancellationToken cancellationToken)
    {
        var (depth, oldest) = await source.DepthAsync(cancellationToken);
        var age = oldest is { } at ? timeProvider.GetUtcNow() - at : TimeSpan.Zero;
        ReclaimMetrics.ObserveQueue(source.Name, depth, age);
        Log.QueueDepth(_logger, source.Name, depth, (long)Math.Max(0, age.TotalSeconds));
    }

    private async Task HeartbeatAsync(QueueSource source, ConcurrentDictionary<string, bool> inFlight, CancellationToken cancellationToken)
    {
        var every = source.Settings.Lease / 3;
        try
        {
            while (true)
            {
                await Task.Delay(every, timeProvider, cancellationToken);
                await queueState.RenewLeasesAsync(source.Name, [.. inFlight.Keys], workerId, timeProvider.GetUtcNow() + source.Settings.Lease, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            // A lost renewal only risks a second, harmless execution after the lease; keep working.
            Log.CleanupFailed(_logger, source.Name, "*", "*", 0, 0, false, $"lease renewal failed: {e.Message}", 0, 0, 0);
        }
    }

    private async Task<WorkerTotals> ProcessAsync(QueueSource source, DestructiveGate gate, GateRun gateRun, ClaimedRequest request)
    {
        var clock = Stopwatch.StartNew();
        var maxAttempts = source.Settings.MaxAttempts;
        Log.Dequeued(_logger, source.Name, request.Id, workerId, request.Attempts);
        if (request.Problem is not null)
        {
            return await FailAsync(source, request, request.Problem, request.Attempts, final: true, 0, 0, clock);
        }

        var shown = request.Target.Text;
        if (request.Attempts >= maxAttempts)
        {
            return await FailAsync(source, request, $"gave up after {request.Attempts} attempts: {request.LastError}", request.Attempts, final: true, 0, 0, clock);
        }

        Log.CleanupStart(_logger, source.Name, request.Id, shown, request.Store!);
        var config = workspace.Config;
        var protections = StoreProtections.Of(config, request.Store!, workspace.Catalog, timeProvider);
        // A queue policy's own references are asked about the request's whole group before anything is listed.
        var ownReferences = source.Policy is { } policy && request.Target.Group is not null
            ? StoreProtections.Of(config, policy.Store, workspace.Catalog, timeProvider).Only(policy.Name)
            : null;
        var removal = new RequestedRemoval(source.Name, workspace.Store(request.Store!), request.Action, config.Trash.Prefix,
            request.Target.Key is { } key ? [key] : [], request.Target.Prefix is { } prefix ? [prefix] : [],
            $"{source.Name}:{request.Id}", $"deletion request {request.Id} of queue {source.Name}: {ObjectKeyText(request.Path)}", protections);
        var attempts = request.Attempts;
        var lastError = request.LastError ?? "failed";
        var done = new GateTotals();
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(1, maxAttempts - attempts - 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = source.Settings.RetryDelay,
                MaxDelay = TimeSpan.FromMinutes(5),
                // The pipeline runs without a cancellation token, so a cancellation here is a client timeout: transient.
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not (ArgumentException or AttemptsExhaustedException)),
                OnRetry = async args =>
                {
                    var message = args.Outcome.Exception?.Message ?? "failed";
                    lastError = message;
                    attempts = await queueState.RecordAttemptAsync(source.Name, request.Id, message, CancellationToken.None);
                    Log.CleanupFailed(_logger, source.Name, request.Id, shown, attempts, maxAttempts, false, message, done.ObjectsDone, done.BytesDone, clock.ElapsedMilliseconds);
                },
            })
            .Build();
        try
        {
            await pipeline.ExecuteAsync(async token =>
            {
                if (attempts >= maxAttempts)
                {
                    throw new AttemptsExhaustedException(lastError);
                }

                if (ownReferences is { IsEmpty: false } && (await ownReferences.FindAsync([request.Target.Group!], token)).Values.FirstOrDefault() is { } referenced)
                {
                    throw new StillReferencedException($"still referenced by {referenced.Source}; nothing was deleted");
                }

                var part = await gate.RemoveRequestedAsync(gateRun, removal, token);
                done.Add(part);
                if (part.ObjectsFailed > 0)
                {
                    throw new QueueAttemptException($"{part.ObjectsFailed} objects failed: {string.Join("; ", part.SampleErrors.Take(3))}");
                }

                if (part.ObjectsProtected > 0)
                {
                    var (first, by) = part.SampleProtected[0];
                    throw new StillReferencedException(string.Create(CultureInfo.InvariantCulture,
                        $"still referenced by {by.Source}: {part.ObjectsProtected} objects kept (first '{Core.Storage.ObjectKey.Printable(first)}'), {part.ObjectsDone} removed"));
                }
            }, CancellationToken.None);
        }
        catch (Exception e)
        {
            if (e is ArgumentException)
            {
                return await FailAsync(source, request, $"rejected by the gate: {e.Message}", attempts, final: true, done.ObjectsDone, done.BytesDone, clock);
            }

            if (e is not AttemptsExhaustedException)
            {
                attempts = await queueState.RecordAttemptAsync(source.Name, request.Id, e.Message, CancellationToken.None);
            }

            if (e is StillReferencedException)
            {
                return await FailAsync(source, request, string.Create(CultureInfo.InvariantCulture, $"{e.Message} (gave up after {attempts} attempts)"), attempts, final: true, done.ObjectsDone, done.BytesDone, clock);
            }

            return await FailAsync(source, request, $"failed after {attempts} attempts: {e.Message}", attempts, final: true, done.ObjectsDone, done.BytesDone, clock);
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            // Verbose only: one event per object, read back from what the gate recorded.
            await foreach (var action in state.ListActionsAsync(gateRun.RunId, CancellationToken.None))
            {
                if (action.Outcome == ActionOutcome.Done && string.Equals(action.GroupKey, removal.GroupKey, StringComparison.Ordinal))
                {
                    Log.CleanupObject(_logger, source.Name, request.Id, action.Kind.ToString().ToLowerInvariant(), action.Key, action.Size);
                }
            }
        }

        await source.CompleteAsync(request.Id, timeProvider.GetUtcNow(), null, CancellationToken.None);
        await queueState.ForgetLeaseAsync(source.Name, request.Id, CancellationToken.None);
        ReclaimMetrics.RequestEnded(source.Name, failed: false, done.ObjectsDone, done.BytesDone);
        Log.CleanupComplete(_logger, source.Name, request.Id, shown, done.ObjectsDone, done.BytesDone, clock.ElapsedMilliseconds);
        return new WorkerTotals { Processed = 1, Objects = done.ObjectsDone, Bytes = done.BytesDone };
    }

    private async Task<WorkerTotals> FailAsync(QueueSource source, ClaimedRequest request, string error, int attempt, bool final, long objects, long bytes, Stopwatch clock)
    {
        await source.CompleteAsync(request.Id, timeProvider.GetUtcNow(), error, CancellationToken.None);
        await queueState.ForgetLeaseAsync(source.Name, request.Id, CancellationToken.None);
        ReclaimMetrics.RequestEnded(source.Name, failed: true, objects, bytes);
        Log.CleanupFailed(_logger, source.Name, request.Id, request.Target.Text.Length > 0 ? request.Target.Text : ObjectKeyText(request.Path), attempt, source.Settings.MaxAttempts, final, error, objects, bytes, clock.ElapsedMilliseconds);
        return new WorkerTotals { Failed = 1, Objects = objects, Bytes = bytes };
    }

    private static string ObjectKeyText(string path) => Core.Storage.ObjectKey.Printable(path.Length > 300 ? path[..300] + "..." : path);

    /// <summary>A worker id: host, process id and 4 random hex digits.</summary>
    /// <returns>The id.</returns>
    public static string NewWorkerId() =>
        string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{Environment.ProcessId}:{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2))}");
}
