namespace Reclaim.Core.State;

/// <summary>What state knows of one request's lease: attempts made so far and the last error.</summary>
/// <param name="Attempts">Failed attempts recorded so far, 0 or more.</param>
/// <param name="LastError">The last attempt's error, or <see langword="null"/>.</param>
public sealed record QueueLease(int Attempts, string? LastError);

/// <summary>One request in Reclaim's own queue (<c>reclaim enqueue</c>).</summary>
/// <param name="Id">The request id, assigned by state.</param>
/// <param name="Store">The store's name.</param>
/// <param name="Key">A single object to remove, or <see langword="null"/>.</param>
/// <param name="Prefix">A folder (ending in <c>/</c>) to empty, or <see langword="null"/>.</param>
/// <param name="Action">Delete or quarantine.</param>
/// <param name="CreatedAt">When it was enqueued, UTC.</param>
/// <param name="ProcessedAt">When it was processed, UTC, or <see langword="null"/> while pending.</param>
/// <param name="Error">Why it failed, or <see langword="null"/>.</param>
/// <param name="RequestedBy">
/// Who enqueued it, as runs record their actor (<c>cli:USER@HOST</c>, <c>api:TOKEN OR SUBJECT</c>), or
/// <see langword="null"/> for a request enqueued before state schema version 3 recorded it.
/// </param>
public sealed record OwnQueueRequest(long Id, string Store, string? Key, string? Prefix, ActionKind Action, DateTimeOffset CreatedAt, DateTimeOffset? ProcessedAt = null, string? Error = null, string? RequestedBy = null);

/// <summary>
/// Reclaim's side of the deletion-request queue: leases (which worker holds which request, until when, after how
/// many attempts) for every queue source, and Reclaim's own queue. The application's table is never altered
/// beyond its <c>processed_at</c> and <c>error</c> columns; everything else is kept here.
/// </summary>
public interface IQueueState
{
    /// <summary>
    /// Takes the lease on a request when nobody holds it or the holder's lease has expired.
    /// </summary>
    /// <param name="source">The queue (a policy name, or <c>reclaim</c> for the own queue).</param>
    /// <param name="requestId">The request's id as text.</param>
    /// <param name="worker">The taking worker's id.</param>
    /// <param name="now">Now, UTC: a lease ending before this is expired.</param>
    /// <param name="until">The new lease's end, UTC.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The lease with the attempts made so far, or <see langword="null"/> when another worker holds it.</returns>
    Task<QueueLease?> TryLeaseAsync(string source, string requestId, string worker, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>Requests of <paramref name="source"/> whose lease is still held at <paramref name="now"/>.</summary>
    /// <param name="source">The queue.</param>
    /// <param name="now">Now, UTC.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The request ids.</returns>
    Task<IReadOnlySet<string>> ActiveLeasesAsync(string source, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Extends the leases <paramref name="worker"/> holds on <paramref name="requestIds"/>.</summary>
    /// <param name="source">The queue.</param>
    /// <param name="requestIds">The requests.</param>
    /// <param name="worker">The holder.</param>
    /// <param name="until">The new end, UTC.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    Task RenewLeasesAsync(string source, IReadOnlyList<string> requestIds, string worker, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>Records a failed attempt: attempts + 1 and the error.</summary>
    /// <param name="source">The queue.</param>
    /// <param name="requestId">The request.</param>
    /// <param name="error">What failed.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The attempts recorded now.</returns>
    Task<int> RecordAttemptAsync(string source, string requestId, string error, CancellationToken cancellationToken);

    /// <summary>Gives a lease back unfinished (graceful stop): the request can be taken at once; attempts are kept.</summary>
    /// <param name="source">The queue.</param>
    /// <param name="requestId">The request.</param>
    /// <param name="worker">The holder.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    Task ReleaseLeaseAsync(string source, string requestId, string worker, CancellationToken cancellationToken);

    /// <summary>Forgets a request's lease and attempts (it is processed, or an operator asked for a retry).</summary>
    /// <param name="source">The queue.</param>
    /// <param name="requestId">The request.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    Task ForgetLeaseAsync(string source, string requestId, CancellationToken cancellationToken);

    /// <summary>Adds requests to Reclaim's own queue, each with its <see cref="OwnQueueRequest.RequestedBy"/>.</summary>
    /// <param name="requests">Requests with <see cref="OwnQueueRequest.Id"/> 0.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The ids given, in order.</returns>
    Task<IReadOnlyList<long>> EnqueueAsync(IReadOnlyList<OwnQueueRequest> requests, CancellationToken cancellationToken);

    /// <summary>Pending requests of the own queue, oldest first.</summary>
    /// <param name="limit">How many at most.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The requests.</returns>
    Task<IReadOnlyList<OwnQueueRequest>> PendingOwnAsync(int limit, CancellationToken cancellationToken);

    /// <summary>One request of the own queue.</summary>
    /// <param name="id">The id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The request, or <see langword="null"/>.</returns>
    Task<OwnQueueRequest?> GetOwnAsync(long id, CancellationToken cancellationToken);

    /// <summary>Marks an own-queue request processed (once: a processed request is left as it is).</summary>
    /// <param name="id">The id.</param>
    /// <param name="at">When, UTC.</param>
    /// <param name="error">Why it failed, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when this call marked it.</returns>
    Task<bool> CompleteOwnAsync(long id, DateTimeOffset at, string? error, CancellationToken cancellationToken);

    /// <summary>Pending count and oldest pending time of the own queue.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The depth and the oldest creation time (or <see langword="null"/> when empty).</returns>
    Task<(long Depth, DateTimeOffset? Oldest)> OwnDepthAsync(CancellationToken cancellationToken);

    /// <summary>The most recently failed own-queue requests, newest first.</summary>
    /// <param name="limit">How many.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The requests.</returns>
    Task<IReadOnlyList<OwnQueueRequest>> OwnFailuresAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Makes a failed own-queue request pending again.</summary>
    /// <param name="id">The id.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when it was failed and is pending now.</returns>
    Task<bool> RetryOwnAsync(long id, CancellationToken cancellationToken);
}
