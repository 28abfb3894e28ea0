using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reclaim.Core.State;
using Reclaim.Data.State;
using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Queue;

/// <summary>How a worker drains one queue: intervals, lease, attempts and concurrency.</summary>
/// <param name="PollInterval">Time between looks for new requests when the queue is empty.</param>
/// <param name="Lease">How long a claimed request stays with its worker without a renewal.</param>
/// <param name="MaxAttempts">Attempts per request, 1 or more.</param>
/// <param name="RetryDelay">The first retry's delay (doubled each retry, with jitter).</param>
/// <param name="Concurrency">Requests processed at once, 1 or more.</param>
/// <param name="BatchSize">Requests claimed per cycle, 1 or more.</param>
public sealed record QueueSettings(TimeSpan PollInterval, TimeSpan Lease, int MaxAttempts, TimeSpan RetryDelay, int Concurrency, int BatchSize)
{
    /// <summary>The settings of a queue policy (batch size 4 x concurrency when unset).</summary>
    /// <param name="policy">The policy.</param>
    /// <returns>The settings.</returns>
    public static QueueSettings Of(QueuePolicy policy) =>
        new(policy.PollInterval, policy.Lease, policy.MaxAttempts, policy.RetryDelay, policy.Concurrency, policy.BatchSize ?? policy.Concurrency * 4);

    /// <summary>A queue policy's defaults: poll every 30 s, lease 5 min, 5 attempts, retry after 1 s, 8 at once, 32 per claim.</summary>
    public static QueueSettings Default { get; } = new(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), 5, TimeSpan.FromSeconds(1), 8, 32);
}

/// <summary>A request a worker holds the lease on.</summary>
/// <param name="Id">The request's id as text.</param>
/// <param name="Attempts">Failed attempts before this claim.</param>
/// <param name="LastError">The last failed attempt's error.</param>
/// <param name="Store">The store it targets, or <see langword="null"/> when it cannot be routed.</param>
/// <param name="Target">What it removes (when <see cref="Problem"/> is null).</param>
/// <param name="Action">Delete or quarantine.</param>
/// <param name="Problem">Why it must not be executed, or <see langword="null"/>.</param>
/// <param name="Path">The path as the request gave it, for logs.</param>
internal sealed record ClaimedRequest(string Id, int Attempts, string? LastError, string? Store, QueueTarget Target, ActionKind Action, string? Problem, string Path);

/// <summary>One queue a worker drains: an application's table (a <c>queue</c> policy) or Reclaim's own queue.</summary>
internal abstract class QueueSource(string name, QueueSettings settings) : IAsyncDisposable
{
    public string Name { get; } = name;

    public QueueSettings Settings { get; } = settings;

    /// <summary>The <c>queue</c> policy whose table this is, or <see langword="null"/> for the own queue.</summary>
    public virtual QueuePolicy? Policy => null;

    /// <summary>Claims up to <paramref name="limit"/> pending requests oldest first, skipping those leased by others; resolves each.</summary>
    public abstract Task<List<ClaimedRequest>> ClaimAsync(IQueueState state, string worker, DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>Marks a request processed, with its error when it failed; false when it was processed already.</summary>
    public abstract Task<bool> CompleteAsync(string id, DateTimeOffset at, string? error, CancellationToken cancellationToken);

    /// <summary>Pending requests and the oldest's creation time.</summary>
    public abstract Task<(long Depth, DateTimeOffset? Oldest)> DepthAsync(CancellationToken cancellationToken);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// Prepares to be told of new requests (a PostgreSQL table <c>LISTEN</c>s); called once, before the first look at
    /// the queue, by a worker that keeps running. The default does nothing: the worker polls.
    /// </summary>
    public virtual Task StartWatchingAsync(ILogger logger, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Waits until new requests may be pending: <see cref="QueueSettings.PollInterval"/>, or sooner when notified.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public virtual Task WaitForRequestsAsync(TimeProvider timeProvider, CancellationToken cancellationToken) =>
        Task.Delay(Settings.PollInterval, timeProvider, cancellationToken);

    /// <summary>Takes the leases on the requests not already leased, in order, until <paramref name="limit"/> are held.</summary>
    protected async Task<List<(T Row, QueueLease Lease)>> LeaseAsync<T>(IQueueState state, string worker, DateTimeOffset now, int limit, IEnumerable<T> rows, Func<T, string> id, IReadOnlySet<string> active, CancellationToken cancellationToken)
    {
        var taken = new List<(T, QueueLease)>();
        foreach (var row in rows)
        {
            if (taken.Count >= limit)
            {
                break;
            }

            if (active.Contains(id(row)))
            {
                continue;
            }

            if (await state.TryLeaseAsync(Name, id(row), worker, now, now + Settings.Lease, cancellationToken) is { } lease)
            {
                taken.Add((row, lease));
            }
        }

        return taken;
    }

    protected static DateTimeOffset? ParseTime(string? text) =>
        text is not null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time) ? time : null;
}

/// <summary>A <c>queue</c> policy: the application's deletion-request table.</summary>
internal sealed class AppQueueSource(QueuePolicy policy, ReclaimConfig config) : QueueSource(policy.Name, QueueSettings.Of(policy))
{
    private readonly AppQueueTable _table = new(config.Catalogs[policy.Catalog], policy.Table);

    public override QueuePolicy Policy => policy;

    public override async Task<List<ClaimedRequest>> ClaimAsync(IQueueState state, string worker, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var active = await state.ActiveLeasesAsync(Name, now, cancellationToken);
        var leases = new Dictionary<string, QueueLease>(StringComparer.Ordinal);
        var rows = await _table.ClaimAsync(limit + active.Count, async row =>
        {
            if (leases.Count >= limit || active.Contains(row.Id))
            {
                return false;
            }

            var lease = await state.TryLeaseAsync(Name, row.Id, worker, now, now + Settings.Lease, cancellationToken);
            if (lease is not null)
            {
                leases[row.Id] = lease;
            }

            return lease is not null;
        }, cancellationToken);
        return rows.Select(row => Resolve(row, leases[row.Id])).ToList();
    }

    public override Task<bool> CompleteAsync(string id, DateTimeOffset at, string? error, CancellationToken cancellationToken) =>
        _table.CompleteAsync(id, at, error, cancellationToken);

    public override async Task<(long Depth, DateTimeOffset? Oldest)> DepthAsync(CancellationToken cancellationToken)
    {
        var (depth, oldest) = await _table.DepthAsync(cancellationToken);
        return (depth, ParseTime(oldest));
    }

    private QueueListener? _listener;

    public AppQueueTable Table => _table;

    public override async ValueTask DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        await _table.DisposeAsync();
    }

    /// <summary>On PostgreSQL, listens for the notifications of <c>reclaim queue install-trigger</c>'s trigger.</summary>
    public override async Task StartWatchingAsync(ILogger logger, CancellationToken cancellationToken)
    {
        var catalog = config.Catalogs[policy.Catalog];
        if (catalog.Provider != "postgres" || _listener is not null)
        {
            return;
        }

        try
        {
            _listener = await QueueListener.StartAsync(ConnectionStrings.ToNpgsql(catalog.Connection), Name, policy.Table, logger, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or IOException or System.Net.Sockets.SocketException or TimeoutException)
        {
            // Not fatal: polling finds the rows all the same; the claim reports a catalog that stays unreachable.
            Log.ListenLost(logger, Name, QueueNotifications.Channel, e.Message, (long)Settings.PollInterval.TotalMilliseconds);
        }
    }

    public override Task WaitForRequestsAsync(TimeProvider timeProvider, CancellationToken cancellationToken) =>
        _listener is { } listener ? listener.WaitAsync(Settings.PollInterval, timeProvider, cancellationToken) : base.WaitForRequestsAsync(timeProvider, cancellationToken);

    private ClaimedRequest Resolve(AppQueueRow row, QueueLease lease)
    {
        var path = row.Path ?? string.Empty;
        var problem = QueueTarget.TryResolve(row.Path, policy.TargetsFolder, policy.FolderDepth, policy.RequirePrefix, out var target, policy.Layout);
        var store = problem is null ? Route(row.Bucket, out problem) : null;
        return new ClaimedRequest(row.Id, lease.Attempts, lease.LastError, store, target, policy.Action, problem, path);
    }

    /// <summary>
    /// The store a request's bucket names: none (or the policy store's bucket or name) is the policy's store;
    /// another configured S3 store's bucket is that store; anything else is an error on the row.
    /// </summary>
    private string? Route(string? bucket, out string? problem)
    {
        problem = null;
        var own = config.Stores[policy.Store];
        if (string.IsNullOrEmpty(bucket) || string.Equals(bucket, own.Bucket, StringComparison.Ordinal) || string.Equals(bucket, own.Name, StringComparison.Ordinal))
        {
            return own.Name;
        }

        var other = config.Stores.Values.FirstOrDefault(s => s.Type == "s3" && string.Equals(s.Bucket, bucket, StringComparison.Ordinal));
        if (other is not null)
        {
            return other.Name;
        }

        problem = $"rejected: unknown bucket '{bucket}': no configured store has it (stores: {string.Join(", ", config.Stores.Values.Select(s => s.Bucket is null ? s.Name : $"{s.Name}={s.Bucket}"))}); nothing was deleted";
        return null;
    }
}

/// <summary>
/// Reclaim's own queue in state (<c>reclaim enqueue</c>), with the <c>own_queue:</c> settings: each request goes
/// to the store it names, under that store's <c>own_queue.require_prefix</c>; no <c>queue</c> policy applies.
/// </summary>
internal sealed class OwnQueueSource(IQueueState state, ReclaimConfig config) : QueueSource(SqlStateStore.OwnQueueSource, config.OwnQueue.Settings)
{
    public override async Task<List<ClaimedRequest>> ClaimAsync(IQueueState queueState, string worker, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var active = await queueState.ActiveLeasesAsync(Name, now, cancellationToken);
        var pending = await queueState.PendingOwnAsync(limit + active.Count, cancellationToken);
        var leased = await LeaseAsync(queueState, worker, now, limit, pending, r => Id(r.Id), active, cancellationToken);
        var claimed = new List<ClaimedRequest>();
        foreach (var (request, lease) in leased)
        {
            // Nothing locks the row here: a worker that finished it since our read has marked it processed.
            if ((await queueState.GetOwnAsync(request.Id, cancellationToken))?.ProcessedAt is not null)
            {
                await queueState.ReleaseLeaseAsync(Name, Id(request.Id), worker, cancellationToken);
                continue;
            }

            claimed.Add(Resolve(request, lease));
        }

        return claimed;
    }

    public override Task<bool> CompleteAsync(string id, DateTimeOffset at, string? error, CancellationToken cancellationToken) =>
        state.CompleteOwnAsync(long.Parse(id, CultureInfo.InvariantCulture), at, error, cancellationToken);

    public override Task<(long Depth, DateTimeOffset? Oldest)> DepthAsync(CancellationToken cancellationToken) => state.OwnDepthAsync(cancellationToken);

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);

    private ClaimedRequest Resolve(OwnQueueRequest request, QueueLease lease)
    {
        var problem = QueueTarget.TryResolveOwn(request.Key, request.Prefix, config.OwnQueue.RequirePrefix.GetValueOrDefault(request.Store), out var target);
        if (problem is null && !config.Stores.ContainsKey(request.Store))
        {
            problem = $"rejected: unknown store '{request.Store}'; nothing was deleted";
        }

        return new ClaimedRequest(Id(request.Id), lease.Attempts, lease.LastError, problem is null ? request.Store : null, target, request.Action, problem,
            request.Key ?? request.Prefix ?? string.Empty);
    }
}
