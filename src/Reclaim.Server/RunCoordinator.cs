using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Engine;
using Reclaim.Engine.Gate;
using Reclaim.Engine.Partitioning;
using Reclaim.Engine.Planning;
using Reclaim.Engine.Telemetry;

namespace Reclaim.Server;

/// <summary>A run the server started, as it progresses: planning, applying, finished.</summary>
public sealed class TrackedRun
{
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The run id (the same id the run has in state).</summary>
    public required string Id { get; init; }

    /// <summary>Who started it (<c>api:NAME</c>, <c>schedule:N</c>).</summary>
    public required string Actor { get; init; }

    /// <summary>The policies it runs.</summary>
    public required IReadOnlyList<string> Policies { get; init; }

    /// <summary>Whether it is a dry run.</summary>
    public required bool DryRun { get; init; }

    /// <summary>Settings of its plan that differ from the config's (a compat route's <c>retention_days</c>).</summary>
    public PlanOptions Options { get; init; } = PlanOptions.None;

    /// <summary>When it was accepted, UTC.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary><c>planning</c>, <c>applying</c> or <c>finished</c>.</summary>
    public string Phase { get; internal set; } = "planning";

    /// <summary>The plan once made.</summary>
    public Plan? Plan { get; internal set; }

    /// <summary>The result once applied.</summary>
    public RunResult? Result { get; internal set; }

    /// <summary>How it ended, once finished: a <see cref="RunStatus"/> name in snake case.</summary>
    public string Status { get; internal set; } = "running";

    /// <summary>Why it failed or was refused.</summary>
    public string? Error { get; internal set; }

    /// <summary>Completes when the run has finished, whatever the outcome.</summary>
    public Task Finished => _finished.Task;

    internal void Finish() => _finished.TrySetResult();
}

/// <summary>Another run holds one of the requested policies.</summary>
/// <param name="policy">The busy policy.</param>
/// <param name="runId">The run holding it.</param>
public sealed class PolicyBusyException(string policy, string runId)
    : Exception($"policy '{policy}' is already running in run {runId}; wait for it to finish")
{
    /// <summary>The run holding the policy.</summary>
    public string RunId { get; } = runId;
}

/// <summary>
/// Starts runs in the background (plan, then apply through the engine), one per policy at a time in this process,
/// and keeps the most recent ones in memory with their plans so the API can show a dry run's plan. Shared by the
/// HTTP API and the scheduler. On shutdown (SIGTERM, Ctrl+C) a run is stopped softly, as <c>reclaim sweep</c> is:
/// planning stops, no new sub-batch starts, the ones in flight finish and record their outcomes, and the run ends
/// <c>interrupted</c>; only when the host's shutdown timeout (30 s) passes are the store requests in flight abandoned
/// (their actions stay pending until the next command that touches the run settles them).
/// </summary>
public sealed partial class RunCoordinator(ReclaimEngine engine, RunNotifier notifier, TimeProvider timeProvider, ILogger<RunCoordinator> logger)
    : IHostedService
{
    private const int Remembered = 200;
    private readonly Lock _sync = new();
    private readonly Dictionary<string, string> _busy = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TrackedRun> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly ConcurrentDictionary<Task, byte> _tasks = new();

    /// <summary>The policies a request selects: the named ones, or every policy of a supported type.</summary>
    /// <param name="names">Names from the request; empty for all.</param>
    /// <returns>The names.</returns>
    /// <exception cref="UsageException">A name is unknown or its type is not planned by this version.</exception>
    public IReadOnlyList<string> Resolve(IReadOnlyList<string> names) =>
        [.. engine.SelectPolicies(names).Select(p => p.Name).Distinct(StringComparer.Ordinal)];

    /// <summary>Starts a run in the background and returns at once.</summary>
    /// <param name="policies">Policy names; empty for every supported policy.</param>
    /// <param name="dryRun">Plan and re-check only.</param>
    /// <param name="actor">Who starts it.</param>
    /// <param name="options">Settings of its plan that differ from the config's; <see cref="PlanOptions.None"/> when <see langword="null"/>.</param>
    /// <returns>The run, in its <c>planning</c> phase.</returns>
    /// <exception cref="UsageException">An unknown or unsupported policy, or no policy to run.</exception>
    /// <exception cref="PolicyBusyException">A selected policy is already running.</exception>
    public TrackedRun Start(IReadOnlyList<string> policies, bool dryRun, string actor, PlanOptions? options = null)
    {
        var selected = Resolve(policies);
        if (selected.Count == 0)
        {
            throw new UsageException("the config has no policy this version runs");
        }

        var now = timeProvider.GetUtcNow();
        var run = new TrackedRun { Id = RunIds.New(now), Actor = actor, Policies = selected, DryRun = dryRun, StartedAt = now, Options = options ?? PlanOptions.None };
        lock (_sync)
        {
            foreach (var policy in selected)
            {
                if (_busy.TryGetValue(policy, out var holder))
                {
                    throw new PolicyBusyException(policy, holder);
                }
            }

            foreach (var policy in selected)
            {
                _busy[policy] = run.Id;
            }
        }

        Remember(run);
        var task = Task.Run(() => ExecuteAsync(run, _stopping.Token, _abort.Token));
        _tasks[task] = 0;
        _ = task.ContinueWith(t => _tasks.TryRemove(t, out _), TaskScheduler.Default);
        return run;
    }

    /// <summary>
    /// Takes part in a partitioned run from start to end (a <c>partitioned</c> schedule entry's firing), holding its
    /// policies in this process meanwhile as a run does; stopped softly and then hard on shutdown, as a run is.
    /// </summary>
    /// <param name="request">The run and this participant.</param>
    /// <param name="cancellationToken">Cancels it (the scheduler's shutdown).</param>
    /// <returns>What this replica did in it, and the run's verdict.</returns>
    /// <exception cref="PolicyBusyException">A policy is already running in this process.</exception>
    /// <exception cref="UsageException">A policy cannot be partitioned, or the run was started with another config.</exception>
    /// <exception cref="TimeoutException">Other participants held ranges past the request's wait.</exception>
    public async Task<PartitionParticipation> ParticipateAsync(PartitionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var selected = Resolve(request.Policies);
        var holder = $"partitioned run {request.RunKey}";
        lock (_sync)
        {
            foreach (var policy in selected)
            {
                if (_busy.TryGetValue(policy, out var busy))
                {
                    throw new PolicyBusyException(policy, busy);
                }
            }

            foreach (var policy in selected)
            {
                _busy[policy] = holder;
            }
        }

        using var hard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
        var task = engine.Partitioned.ParticipateAsync(request, null, hard.Token, _stopping.Token);
        _tasks[task] = 0;
        try
        {
            return await task;
        }
        finally
        {
            _tasks.TryRemove(task, out _);
            lock (_sync)
            {
                foreach (var policy in selected)
                {
                    _busy.Remove(policy);
                }
            }
        }
    }

    /// <summary>A run this process started recently, or <see langword="null"/>.</summary>
    /// <param name="runId">The run id.</param>
    /// <returns>The run.</returns>
    public TrackedRun? Find(string runId) => _runs.GetValueOrDefault(runId);

    /// <summary>The runs in progress.</summary>
    public IReadOnlyList<TrackedRun> Active => [.. _runs.Values.Where(r => r.Phase != "finished")];

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll(_tasks.Keys).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout: abandon the store requests still in flight, and let the runs record that.
            await _abort.CancelAsync();
            try
            {
                await Task.WhenAll(_tasks.Keys).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    private async Task ExecuteAsync(TrackedRun run, CancellationToken stopping, CancellationToken abort)
    {
        const string Stopped = "the server stopped during the run";
        try
        {
            // A plan that cannot be made, or that a guard refuses entirely, is recorded as a run by the engine.
            var request = new SweepRequest
            {
                Policies = run.Policies,
                Actor = run.Actor,
                DryRun = run.DryRun,
                RunId = run.Id,
                CancelledReason = Stopped,
                Options = run.Options,
                Planned = plan =>
                {
                    run.Plan = plan;
                    run.Phase = "applying";
                },
            };
            var sweep = await engine.SweepAsync(request, stopping, abort);
            if (sweep.Refusal is { } refusal)
            {
                run.Status = "refused";
                run.Error = refusal.Error;
            }
            else if (sweep.Result is { } result)
            {
                run.Result = result;
                run.Status = StatusName(result.Run.Status);
                if (ReclaimEngine.RefusalReasons(sweep.Plan) is { Count: > 0 } refused)
                {
                    // Refused policies were left alone and the others applied: say which, and why.
                    run.Error = string.Join("; ", refused);
                }
            }
        }
        catch (GuardRefusedException e)
        {
            run.Status = "refused";
            run.Error = e.Message;
        }
        catch (OperationCanceledException)
        {
            run.Status = "failed";
            run.Error = Stopped;
        }
        catch (Exception e)
        {
            run.Status = "failed";
            run.Error = e.Message;
            LogRunFailed(logger, e, run.Id);
        }
        finally
        {
            run.Phase = "finished";
            lock (_sync)
            {
                foreach (var policy in run.Policies)
                {
                    _busy.Remove(policy);
                }
            }

            foreach (var policy in run.Policies)
            {
                var done = run.Result?.PerPolicy.GetValueOrDefault(policy);
                var refused = run.Plan?.Policies.Any(p => p.Refused && string.Equals(p.Policy, policy, StringComparison.Ordinal)) == true;

                // Per policy: one refused alone in a run that applied the others is "refused"; the others have
                // the run's outcome less the refusal.
                var status = refused ? "refused" : run.Status == "refused" && run.Plan is { RefusedEntirely: false } ? "succeeded" : run.Status;
                ReclaimMetrics.RunFinished(policy, status, run.DryRun, done?.ObjectsDone ?? 0, done?.BytesDone ?? 0);
            }

            run.Finish();
        }

        await notifier.RunFinishedAsync(run, CancellationToken.None);
    }

    private void Remember(TrackedRun run)
    {
        _runs[run.Id] = run;
        _order.Enqueue(run.Id);
        while (_order.Count > Remembered && _order.TryPeek(out var oldest) && _runs.TryGetValue(oldest, out var old) && old.Phase == "finished")
        {
            _order.TryDequeue(out _);
            _runs.TryRemove(oldest, out _);
        }
    }

    /// <summary>A run status as the API writes it: <c>running</c>, <c>succeeded</c>, <c>partially_failed</c>, <c>refused</c>, <c>failed</c>, <c>interrupted</c>.</summary>
    /// <param name="status">The status.</param>
    /// <returns>The name.</returns>
    public static string StatusName(RunStatus status) => status switch
    {
        RunStatus.Running => "running",
        RunStatus.Succeeded => "succeeded",
        RunStatus.PartiallyFailed => "partially_failed",
        RunStatus.Refused => "refused",
        RunStatus.Interrupted => "interrupted",
        _ => "failed",
    };

    [LoggerMessage(EventId = 100, EventName = "RunFailed", Level = LogLevel.Error, Message = "run {RunId} failed")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, string runId);

}
