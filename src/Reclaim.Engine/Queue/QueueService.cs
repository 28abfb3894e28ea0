using System.Globalization;
using Microsoft.Extensions.Logging;
using Reclaim.Core.Planning;
using Reclaim.Core.State;
using Reclaim.Core.Storage;
using Reclaim.Data.State;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.Queue;

/// <summary>One queue's status.</summary>
/// <param name="Queue">The queue: a policy's name, or <c>reclaim</c> for the own queue.</param>
/// <param name="Depth">Pending requests.</param>
/// <param name="OldestPending">The oldest pending request's creation time, or <see langword="null"/>.</param>
/// <param name="OldestPendingAge">Its age, or <see langword="null"/>.</param>
/// <param name="InFlight">Requests a worker holds a lease on now.</param>
/// <param name="RecentFailures">The most recent failed requests, newest first: id, target, error.</param>
public sealed record QueueStatus(string Queue, long Depth, DateTimeOffset? OldestPending, TimeSpan? OldestPendingAge, int InFlight, IReadOnlyList<QueueFailure> RecentFailures);

/// <summary>A failed request.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Target">Its path, key or prefix.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="RequestedBy">
/// Who enqueued it (<c>cli:USER@HOST</c>, <c>api:NAME</c>) for a request of the own queue; <see langword="null"/> for
/// a queue policy's row (the application's table does not say) and for own-queue requests older than state schema 3.
/// </param>
public sealed record QueueFailure(string Id, string Target, string Error, string? RequestedBy = null);

/// <summary>How far whoever adds requests to the own queue is trusted.</summary>
public enum RequesterRole
{
    /// <summary>
    /// May quarantine one group's worth: no <c>action: delete</c>, no prefix spanning more than one group of a layout
    /// of the store's policies, at most <c>guards.max_delete_count</c> objects. The HTTP API's operator role.
    /// </summary>
    Operator,

    /// <summary>May delete, span groups and exceed <c>max_delete_count</c>: the HTTP API's admin role, and <c>reclaim enqueue</c> (which holds the config and state).</summary>
    Admin,
}

/// <summary>A request the requester's role may not make; it needs the admin role. Nothing was enqueued.</summary>
/// <param name="message">What exceeds which limit, and what to change.</param>
/// <param name="limit">The limit: <see cref="ActionLimit"/>, <see cref="GroupLimit"/> or <see cref="CountLimit"/>.</param>
public sealed class AdminRequiredException(string message, string limit) : Exception(message)
{
    /// <summary><c>action</c>: deleting (not quarantining) needs admin.</summary>
    public const string ActionLimit = "action";

    /// <summary><c>layout_group</c>: a prefix that spans more than one layout group needs admin.</summary>
    public const string GroupLimit = "layout_group";

    /// <summary><c>guards.max_delete_count</c>: a request removing more objects than that needs admin.</summary>
    public const string CountLimit = "guards.max_delete_count";

    /// <summary>Which limit: <see cref="ActionLimit"/>, <see cref="GroupLimit"/> or <see cref="CountLimit"/>.</summary>
    public string Limit { get; } = limit;
}

/// <summary>The notification trigger of one queue policy's table (<c>reclaim queue install-trigger</c>).</summary>
/// <param name="Policy">The queue policy.</param>
/// <param name="Catalog">Its catalog (PostgreSQL).</param>
/// <param name="Table">Its table.</param>
/// <param name="Sql">The statements that install the trigger (<see cref="QueueNotifications.InstallSql"/>).</param>
/// <param name="Installed">Whether they were run; <see langword="false"/> when only printed.</param>
public sealed record QueueTrigger(string Policy, string Catalog, string Table, string Sql, bool Installed);

/// <summary>
/// The deletion-request queue's operations: the worker, status, retry and enqueue. The CLI's <c>worker</c>,
/// <c>queue</c> and <c>enqueue</c> verbs (and the server) are thin callers of this class.
/// </summary>
public sealed class QueueService(Workspace workspace, TimeProvider timeProvider, ILoggerFactory loggerFactory)
{
    /// <summary>The own queue's name: <c>reclaim</c>.</summary>
    public const string OwnQueue = SqlStateStore.OwnQueueSource;

    private ReclaimConfig Config => workspace.Config;

    /// <summary>
    /// Runs a worker over the selected queues until they are empty (<paramref name="once"/>) or until
    /// <paramref name="stopping"/>: requests in progress then finish and claimed but unstarted ones are released.
    /// </summary>
    /// <param name="policies">Queue policy names (or <c>reclaim</c> for the own queue); empty selects every queue policy and the own queue.</param>
    /// <param name="once">Drain and return (for cron).</param>
    /// <param name="stopping">Graceful stop.</param>
    /// <returns>What was done.</returns>
    /// <exception cref="UsageException">A named policy does not exist or is not a queue policy.</exception>
    public async Task<WorkerTotals> RunWorkerAsync(IReadOnlyList<string> policies, bool once, CancellationToken stopping)
    {
        var (state, queueState) = await StateAsync();
        var sources = Sources(policies, queueState);
        try
        {
            var worker = new QueueWorker(workspace, queueState, state, timeProvider, loggerFactory, QueueWorker.NewWorkerId());
            var results = await Task.WhenAll(sources.Select(s => worker.RunAsync(s, once, stopping)));
            var totals = new WorkerTotals();
            foreach (var result in results)
            {
                totals.Add(result);
            }

            return totals;
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }
    }

    /// <summary>Claims up to <paramref name="count"/> requests of a queue without processing them (tests of a worker that dies holding a lease).</summary>
    internal async Task<int> ClaimOnlyAsync(string queue, int count, string workerId, CancellationToken cancellationToken)
    {
        var (_, queueState) = await StateAsync();
        var source = Sources([queue], queueState).Single();
        await using (source)
        {
            return (await source.ClaimAsync(queueState, workerId, timeProvider.GetUtcNow(), count, cancellationToken)).Count;
        }
    }

    /// <summary>Depth, oldest pending and recent failures of every queue (or the named ones).</summary>
    /// <param name="policies">Queue names; empty for all.</param>
    /// <param name="failures">Recent failures to show per queue.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>One status per queue.</returns>
    public async Task<IReadOnlyList<QueueStatus>> StatusAsync(IReadOnlyList<string> policies, int failures, CancellationToken cancellationToken)
    {
        var (_, queueState) = await StateAsync();
        var sources = Sources(policies, queueState);
        var now = timeProvider.GetUtcNow();
        var list = new List<QueueStatus>();
        try
        {
            foreach (var source in sources)
            {
                var (depth, oldest) = await source.DepthAsync(cancellationToken);
                var leases = await queueState.ActiveLeasesAsync(source.Name, now, cancellationToken);
                IReadOnlyList<QueueFailure> failed = source is AppQueueSource app
                    ? (await app.Table.FailuresAsync(failures, cancellationToken)).Select(f => new QueueFailure(f.Id, f.Path ?? string.Empty, f.Error)).ToList()
                    : (await queueState.OwnFailuresAsync(failures, cancellationToken)).Select(f => new QueueFailure(f.Id.ToString(CultureInfo.InvariantCulture), f.Key ?? f.Prefix ?? string.Empty, f.Error!, f.RequestedBy)).ToList();
                list.Add(new QueueStatus(source.Name, depth, oldest, oldest is { } at ? now - at : null, leases.Count, failed));
            }
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }

        return list;
    }

    /// <summary>Makes a failed request pending again, with its attempts reset.</summary>
    /// <param name="id">The request id.</param>
    /// <param name="policies">The queues to look in; empty for all.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>The queue the request was in.</returns>
    /// <exception cref="UsageException">No failed request has that id.</exception>
    public async Task<string> RetryAsync(string id, IReadOnlyList<string> policies, CancellationToken cancellationToken)
    {
        var (_, queueState) = await StateAsync();
        var sources = Sources(policies, queueState);
        try
        {
            foreach (var source in sources)
            {
                var reset = source switch
                {
                    AppQueueSource app => await app.Table.RetryAsync(id, cancellationToken),
                    _ => long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var own) && await queueState.RetryOwnAsync(own, cancellationToken),
                };
                if (reset)
                {
                    await queueState.ForgetLeaseAsync(source.Name, id, cancellationToken);
                    return source.Name;
                }
            }
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }

        throw new UsageException($"no failed request '{id}' in {string.Join(", ", sources.Select(s => s.Name))} (see: reclaim queue status)");
    }

    /// <summary>
    /// Installs (or reinstalls; idempotent) the <c>AFTER INSERT</c> trigger that notifies
    /// <see cref="QueueNotifications.Channel"/> on each selected queue policy's table, so that a running worker
    /// takes new rows at once rather than at its next poll. Every selected policy is checked before any is touched.
    /// </summary>
    /// <param name="policies">Queue policy names; empty selects every queue policy.</param>
    /// <param name="install"><see langword="false"/> to return the SQL without running it.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>One entry per policy, in config order.</returns>
    /// <exception cref="UsageException">No queue policy, an unknown or non-queue policy, the own queue, or a policy on an SQLite catalog.</exception>
    /// <exception cref="Core.Catalogs.CatalogException">The catalog refused the statements (no table, no privilege).</exception>
    public async Task<IReadOnlyList<QueueTrigger>> InstallTriggerAsync(IReadOnlyList<string> policies, bool install, CancellationToken cancellationToken)
    {
        if (policies.Contains(OwnQueue, StringComparer.Ordinal))
        {
            throw new UsageException($"'{OwnQueue}' is Reclaim's own queue in state: it needs no trigger (install-trigger is for queue policies' tables)");
        }

        var selected = QueuePolicies(policies);
        if (selected.Count == 0)
        {
            throw new UsageException($"no queue policies in {Config.Path}: install-trigger installs a trigger on a queue policy's table");
        }

        var sqlite = selected.Where(p => Config.Catalogs[p.Catalog].Provider != "postgres").ToList();
        if (sqlite.Count > 0)
        {
            throw new UsageException($"install-trigger needs a PostgreSQL catalog (LISTEN/NOTIFY); {string.Join(", ", sqlite.Select(p => $"policy '{p.Name}' uses catalog '{p.Catalog}' ({Config.Catalogs[p.Catalog].Provider})"))}: on SQLite the worker polls every poll_interval");
        }

        var triggers = new List<QueueTrigger>();
        foreach (var policy in selected)
        {
            var sql = QueueNotifications.InstallSql(policy.Table);
            if (install)
            {
                await using var table = new AppQueueTable(Config.Catalogs[policy.Catalog], policy.Table);
                await table.ExecuteInTransactionAsync(sql, cancellationToken);
            }

            triggers.Add(new QueueTrigger(policy.Name, policy.Catalog, policy.Table, sql, install));
        }

        return triggers;
    }

    /// <summary>
    /// Adds requests to Reclaim's own queue; every key and prefix is checked first (including the store's
    /// <c>own_queue.require_prefix</c>), and nothing is added when one is invalid.
    /// </summary>
    /// <param name="store">The store's name.</param>
    /// <param name="keys">Objects to remove.</param>
    /// <param name="prefixes">Folders to empty, each ending in <c>/</c>.</param>
    /// <param name="action">Delete or quarantine.</param>
    /// <param name="requestedBy">
    /// Who asks, recorded with each request as runs record their actor: <c>cli:USER@HOST</c> for
    /// <c>reclaim enqueue</c>, <c>api:NAME</c> (the token's or the JWT subject's name) for <c>POST /api/v1/deletions</c>.
    /// </param>
    /// <param name="role">
    /// How far <paramref name="requestedBy"/> is trusted (<see cref="RequesterRole"/>). For an operator the request's
    /// prefixes are listed now to count its objects (up to <c>max_delete_count</c> + 1). Whatever the role, every object
    /// is checked against the store's protections again when a worker executes the request.
    /// </param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The request ids.</returns>
    /// <exception cref="UsageException">An unknown store, nothing to enqueue, an invalid key or prefix, one in the trash, or one outside the store's <c>own_queue.require_prefix</c>.</exception>
    /// <exception cref="AdminRequiredException">An operator asks to delete, names a prefix spanning more than one layout group, or asks for more than <c>max_delete_count</c> objects.</exception>
    /// <exception cref="ArgumentException"><paramref name="requestedBy"/> is empty.</exception>
    public async Task<IReadOnlyList<long>> EnqueueAsync(string store, IReadOnlyList<string> keys, IReadOnlyList<string> prefixes, ActionKind action, string requestedBy, RequesterRole role, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(requestedBy);
        if (!Config.Stores.ContainsKey(store))
        {
            throw new UsageException($"no store named '{store}' in {Config.Path} (stores: {string.Join(", ", Config.Stores.Keys)})");
        }

        if (keys.Count + prefixes.Count == 0)
        {
            throw new UsageException("nothing to enqueue: give --key KEY or --prefix PREFIX/ (repeatable)");
        }

        var trash = Config.Trash.Prefix;
        var requirePrefix = Config.OwnQueue.RequirePrefix.GetValueOrDefault(store);
        var problems = keys.Select(k => QueueTarget.TryResolveOwn(k, null, requirePrefix, out _))
            .Concat(prefixes.Select(p => QueueTarget.TryResolveOwn(null, p, requirePrefix, out _)))
            .Concat(keys.Concat(prefixes).Where(t => t is not null && ObjectKey.IsUnder(t, trash)).Select(t => $"rejected: '{ObjectKey.Printable(t)}' is in the trash ('{trash}'); nothing was deleted"))
            .OfType<string>().ToList();
        if (problems.Count > 0)
        {
            throw new UsageException(string.Join(Environment.NewLine, problems.Select(p => p.Replace("nothing was deleted", "nothing was enqueued", StringComparison.Ordinal))));
        }

        if (role == RequesterRole.Operator)
        {
            await CheckOperatorMayAskAsync(store, keys, prefixes, action, cancellationToken);
        }

        var now = timeProvider.GetUtcNow();
        var requests = keys.Select(k => new OwnQueueRequest(0, store, k, null, action, now, RequestedBy: requestedBy))
            .Concat(prefixes.Select(p => new OwnQueueRequest(0, store, null, p, action, now, RequestedBy: requestedBy))).ToList();
        var (_, queueState) = await StateAsync();
        return await queueState.EnqueueAsync(requests, cancellationToken);
    }

    /// <summary>
    /// What an operator may ask for: quarantine (not delete), each prefix inside one group of every layout of the
    /// store's policies (a store no policy lays out has no groups to span), and at most <c>max_delete_count</c>
    /// objects in all, counted by listing the prefixes now.
    /// </summary>
    private async Task CheckOperatorMayAskAsync(string store, IReadOnlyList<string> keys, IReadOnlyList<string> prefixes, ActionKind action, CancellationToken cancellationToken)
    {
        const string Change = "ask an admin, or";
        if (action == ActionKind.Delete)
        {
            throw new AdminRequiredException(
                $"action delete needs the admin role: an operator may quarantine (action: quarantine, restorable from the trash for {Core.Duration.Format(Config.Trash.EffectiveRetention)})",
                AdminRequiredException.ActionLimit);
        }

        var layouts = Config.Policies.Where(p => string.Equals(p.Store, store, StringComparison.Ordinal))
            .Select(p => (p.Name, Layout: PolicyLayouts.LayoutOf(p))).Where(p => p.Layout is not null).ToList();
        foreach (var prefix in prefixes)
        {
            if (layouts.FirstOrDefault(p => p.Layout!.SpansGroups(prefix)) is { Layout: { } layout } policy)
            {
                throw new AdminRequiredException(
                    $"the prefix '{ObjectKey.Printable(prefix)}' spans more than one group of policy '{policy.Name}''s layout '{layout.Template}': an operator may ask for one group's worth; {Change} name each group's folder",
                    AdminRequiredException.GroupLimit);
            }
        }

        var limit = Config.Guards.MaxDeleteCount;
        long count = keys.Count;
        var objects = workspace.Store(store);
        foreach (var prefix in prefixes)
        {
            await foreach (var item in objects.ListAsync(prefix, cancellationToken))
            {
                if (!ObjectKey.IsUnder(item.Key, Config.Trash.Prefix) && ++count > limit)
                {
                    throw new AdminRequiredException(
                        string.Create(CultureInfo.InvariantCulture, $"the request removes more than guards.max_delete_count ({limit}) objects: an operator may ask for at most that many; {Change} split the request"),
                        AdminRequiredException.CountLimit);
                }
            }
        }

        if (count > limit)
        {
            throw new AdminRequiredException(
                string.Create(CultureInfo.InvariantCulture, $"the request names {count} keys, more than guards.max_delete_count ({limit}): an operator may ask for at most that many; {Change} split the request"),
                AdminRequiredException.CountLimit);
        }
    }

    /// <summary>One request of Reclaim's own queue, as it stands: pending, processed, or processed with its error.</summary>
    /// <param name="id">The request id (from <see cref="EnqueueAsync"/>).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The request, or <see langword="null"/> when no request has that id.</returns>
    public async Task<OwnQueueRequest?> RequestAsync(long id, CancellationToken cancellationToken)
    {
        var (_, queueState) = await StateAsync();
        return await queueState.GetOwnAsync(id, cancellationToken);
    }

    private async Task<(IStateStore State, IQueueState Queue)> StateAsync()
    {
        var state = await workspace.StateAsync(CancellationToken.None);
        return (state, state as IQueueState ?? throw new InvalidOperationException("this state store has no queue tables"));
    }

    /// <summary>The named queue policies (all of them when <paramref name="names"/> is empty), ignoring the own queue's name.</summary>
    private List<QueuePolicy> QueuePolicies(IReadOnlyList<string> names)
    {
        var queues = Config.Policies.OfType<QueuePolicy>().ToList();
        if (names.Count == 0)
        {
            return queues;
        }

        var selected = new List<QueuePolicy>();
        foreach (var name in names.Distinct(StringComparer.Ordinal).Where(n => n != OwnQueue))
        {
            var policy = Config.Policies.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.Ordinal))
                ?? throw new UsageException($"no policy named '{name}' in {Config.Path} (queues: {string.Join(", ", queues.Select(q => q.Name).Append(OwnQueue))})");
            selected.Add(policy as QueuePolicy ?? throw new UsageException($"policy '{name}' is of type '{policy.Kind.Name()}', not queue"));
        }

        return selected;
    }

    private List<QueueSource> Sources(IReadOnlyList<string> names, IQueueState queueState)
    {
        var sources = QueuePolicies(names).Select(p => (QueueSource)new AppQueueSource(p, Config)).ToList();
        if (names.Count == 0 || names.Contains(OwnQueue, StringComparer.Ordinal))
        {
            sources.Add(new OwnQueueSource(queueState, Config));
        }

        return sources;
    }
}
