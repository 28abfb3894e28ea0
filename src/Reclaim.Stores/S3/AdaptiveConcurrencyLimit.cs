namespace Reclaim.Stores.S3;

/// <summary>
/// A concurrency limit that adapts to what the service can take, as TCP's congestion window does (RFC 5681):
/// additive increase, multiplicative decrease (AIMD). The limit starts at 1 and doubles per round of successful
/// requests (slow start) until the first congestion signal; after it, it grows by one per round (a round being
/// <see cref="Limit"/> successes). A congestion signal (S3's <c>503 SlowDown</c>, a timeout) halves it, at most once
/// per round: the requests that were already in flight when it was halved do not halve it again.
/// </summary>
/// <remarks>
/// Thread-safe. Each request holds a <see cref="Lease"/> from <see cref="AcquireAsync"/> while it is on the wire and
/// reports how it went before releasing it; retries wait outside the limit (the lease is released before the
/// retry's backoff), so a throttled service sees both fewer requests in flight and pauses between them.
/// </remarks>
public sealed class AdaptiveConcurrencyLimit
{
    private readonly Lock _sync = new();
    private readonly LinkedList<TaskCompletionSource<Lease>> _waiters = new();
    private double _limit = 1;
    private bool _slowStart = true;
    private long _epoch;
    private int _inFlight;

    /// <summary>Creates a limit of 1 that may grow to <paramref name="maxLimit"/>.</summary>
    /// <param name="maxLimit">The ceiling, 1 or more (an S3 store's <c>delete_concurrency</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLimit"/> is below 1.</exception>
    public AdaptiveConcurrencyLimit(int maxLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLimit, 1);
        MaxLimit = maxLimit;
    }

    /// <summary>The ceiling of <see cref="Limit"/>.</summary>
    public int MaxLimit { get; }

    /// <summary>How many requests may be in flight now: from 1 to <see cref="MaxLimit"/>.</summary>
    public int Limit
    {
        get
        {
            lock (_sync)
            {
                return (int)_limit;
            }
        }
    }

    /// <summary>The lowest value a decrease brought <see cref="Limit"/> to; <see cref="int.MaxValue"/> before the first decrease.</summary>
    public int LowestLimitAfterDecrease { get; private set; } = int.MaxValue;

    /// <summary>The highest number of requests that were in flight at once.</summary>
    public int PeakInFlight { get; private set; }

    /// <summary>How many times a congestion signal lowered the limit (one at the floor of 1 does not).</summary>
    public int Decreases { get; private set; }

    /// <summary>Waits until a request may start.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The lease to report on and dispose when the request is done.</returns>
    /// <exception cref="OperationCanceledException">The wait was cancelled.</exception>
    public ValueTask<Lease> AcquireAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        TaskCompletionSource<Lease> waiter;
        LinkedListNode<TaskCompletionSource<Lease>> node;
        lock (_sync)
        {
            if (_inFlight < (int)_limit && _waiters.Count == 0)
            {
                return ValueTask.FromResult(StartLocked());
            }

            waiter = new TaskCompletionSource<Lease>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiters.AddLast(waiter);
        }

        return new ValueTask<Lease>(WaitAsync(waiter, node, cancellationToken));
    }

    private async Task<Lease> WaitAsync(TaskCompletionSource<Lease> waiter, LinkedListNode<TaskCompletionSource<Lease>> node, CancellationToken cancellationToken)
    {
        await using var registration = cancellationToken.Register(() =>
        {
            lock (_sync)
            {
                if (node.List is null)
                {
                    return; // already granted: the lease is released by whoever awaits it, or below
                }

                _waiters.Remove(node);
            }

            waiter.TrySetCanceled(cancellationToken);
        }).ConfigureAwait(false);
        return await waiter.Task.ConfigureAwait(false);
    }

    private Lease StartLocked()
    {
        _inFlight++;
        PeakInFlight = Math.Max(PeakInFlight, _inFlight);
        return new Lease(this, _epoch);
    }

    private void Succeeded()
    {
        lock (_sync)
        {
            // Slow start: +1 per success doubles the limit per round; afterwards +1/limit per success is +1 per round.
            _limit = Math.Min(MaxLimit, _limit + (_slowStart ? 1 : 1 / _limit));
            GrantLocked();
        }
    }

    private void Congested(long epoch)
    {
        lock (_sync)
        {
            if (epoch != _epoch)
            {
                return; // started before the last decrease: that decrease already answered this congestion
            }

            _slowStart = false;
            _epoch++;
            var halved = Math.Max(1, Math.Floor(_limit / 2));
            if ((int)halved < (int)_limit)
            {
                Decreases++;
                LowestLimitAfterDecrease = Math.Min(LowestLimitAfterDecrease, (int)halved);
            }

            _limit = halved;
        }
    }

    private void Release()
    {
        lock (_sync)
        {
            _inFlight--;
            GrantLocked();
        }
    }

    private void GrantLocked()
    {
        while (_inFlight < (int)_limit && _waiters.First is { } first)
        {
            _waiters.RemoveFirst();
            if (!first.Value.TrySetResult(StartLocked()))
            {
                _inFlight--; // cancelled in between
            }
        }
    }

    /// <summary>One request's place under the limit: report <see cref="Succeeded"/> or <see cref="Congested"/>, then dispose.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly AdaptiveConcurrencyLimit _owner;
        private readonly long _epoch;
        private int _done;

        internal Lease(AdaptiveConcurrencyLimit owner, long epoch)
        {
            _owner = owner;
            _epoch = epoch;
        }

        /// <summary>The request was answered without a congestion signal: the limit grows.</summary>
        public void Succeeded() => _owner.Succeeded();

        /// <summary>The service signalled congestion (503 SlowDown, a timeout): the limit halves, once per round.</summary>
        public void Congested() => _owner.Congested(_epoch);

        /// <summary>Releases the place; idempotent.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                _owner.Release();
            }
        }
    }
}
