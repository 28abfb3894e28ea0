using System.Runtime.CompilerServices;
using Amazon.S3.Model;
using Reclaim.Core.Storage;

namespace Reclaim.Stores.S3;

/// <summary>
/// One listing of a bucket prefix as several ListObjectsV2 streams at once, each over its own range of keys, merged
/// back into key order (see <see cref="S3Store.ListPartitionedAsync(string, ListingSplit, CancellationToken)"/>).
/// </summary>
/// <remarks>
/// <para>
/// The key space under the prefix is cut into consecutive ranges <c>(after, upTo]</c> (a range takes the keys after
/// its lower bound, up to and including its upper bound); whatever the bounds, every key lies in exactly one range,
/// so the merge in range order is exactly the single listing. A range is listed from <c>StartAfter = after</c> on
/// and is done at its first key past <c>upTo</c> (S3 has no end bound): those keys are handed to the next range when
/// it has not started yet, and read again by it otherwise.
/// </para>
/// <para>
/// The first bounds are at most <c>streams</c> − 1 of the folders right after the prefix, every k-th of them so that
/// the first ranges hold about as many folders each (<see cref="ListingSplit.FirstFolder"/>: a delimiter listing of
/// at most <see cref="MaxFolderPages"/> pages), or none (<see cref="ListingSplit.Sampled"/>). Then, while fewer than
/// <c>streams</c> requests are in flight and no range has a page to fetch, a range is split
/// <see cref="PagesPerPiece"/> pages ahead of where it is: the keys of its last page say how much of the key space
/// one page covers (keys read as numbers after their common prefix, each position in the kinds of characters the
/// keys use there: <see cref="KeyDigits"/>), and the split point is that far
/// ahead. So the streams spread over the keys the consumer needs next, whatever their shape; a range whose keys are
/// denser than guessed is split again from its own pages.
/// </para>
/// <para>
/// Requests: every range costs at most one page more than its keys fill (its last, partial page), so a listing of
/// <c>N</c> keys sends about <c>N / pageKeys</c> pages plus one per range (<see cref="RangesMade"/>), and the
/// ranges are at most <c>streams</c> plus one per <see cref="PagesPerPiece"/> pages listed. The last page of a range
/// asks for about the keys left before the next range's start, not a whole page, so it reads few keys the next
/// range reads again.
/// </para>
/// <para>
/// Memory is bounded: at most <see cref="PrefetchPages"/> pages wait per range (the one being read and the next) and
/// at most 4 × <c>streams</c> pages in all; a stream whose pages are not yet wanted waits.
/// </para>
/// </remarks>
internal sealed class S3PartitionedListing
{
    /// <summary>Pages that may wait per range: 2 (the one the consumer reads and the next).</summary>
    public const int PrefetchPages = 2;

    /// <summary>Pages of a delimiter listing read to find the first bounds: 4 (up to 4000 folders).</summary>
    public const int MaxFolderPages = 4;

    /// <summary>
    /// Pages a split leaves to the range it cuts, beyond the page it may have in flight: 4. Each piece costs about
    /// one request more than its pages (its last, partial one), so smaller pieces spread the streams wider at the
    /// price of more requests: 4 keeps the extra requests near a quarter of the pages listed at worst.
    /// </summary>
    public const int PagesPerPiece = 4;

    private readonly S3Store _store;
    private readonly string _fullPrefix;
    private readonly int _streams;
    private readonly int _pageKeys;
    private readonly List<Range> _ranges = [];

    /// <summary>Every folder right after the prefix, in key order, when the delimiter listing found them: where splits cut.</summary>
    private List<string> _folders = [];
    private readonly Dictionary<Task<ListObjectsV2Response>, Range> _inFlight = [];
    private int _buffered;

    /// <summary>Prepares a listing; nothing is sent until it is listed.</summary>
    /// <param name="store">The store whose requests are sent (its retry pipeline applies).</param>
    /// <param name="fullPrefix">The bucket key prefix to list (the store's prefix included).</param>
    /// <param name="streams">The most requests in flight, 1 or more.</param>
    /// <param name="pageKeys">Keys asked for per page, 1 to 1000.</param>
    public S3PartitionedListing(S3Store store, string fullPrefix, int streams, int pageKeys)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(streams, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageKeys, 1);
        _store = store;
        _fullPrefix = fullPrefix;
        _streams = streams;
        _pageKeys = pageKeys;
    }

    /// <summary>Requests sent so far, for tests and logs.</summary>
    public int Requests { get; private set; }

    /// <summary>The most ranges the listing had at once, for tests and logs.</summary>
    public int PeakRanges { get; private set; }

    /// <summary>The ranges the listing made in all: its first ones and every split, for tests and logs.</summary>
    public int RangesMade { get; private set; }

    /// <summary>
    /// Pages a range asked for that held none of its keys, for tests and logs: a request spent on key space no key
    /// uses (a split point between two keys with nothing between), or a range's last page when the one before ended
    /// right at its bound.
    /// </summary>
    public int EmptyPages { get; private set; }

    private int MaxBufferedPages => 4 * _streams;

    /// <summary>Lists the prefix, splitting it as <paramref name="split"/> allows.</summary>
    /// <param name="split">How to find the first bounds.</param>
    /// <param name="cancellationToken">Stops every stream.</param>
    /// <returns>The listed objects (full bucket keys), in key order.</returns>
    public IAsyncEnumerable<S3Object> ListAsync(ListingSplit split, CancellationToken cancellationToken) =>
        RunAsync(split == ListingSplit.FirstFolder ? null : [], cancellationToken);

    /// <summary>Lists the prefix with exactly these first bounds (sorted and made distinct here), then splits as usual.</summary>
    /// <param name="bounds">Upper bounds of the first ranges, full bucket keys; any strings will do.</param>
    /// <param name="cancellationToken">Stops every stream.</param>
    /// <returns>The listed objects (full bucket keys), in key order.</returns>
    public IAsyncEnumerable<S3Object> ListAsync(IReadOnlyList<string> bounds, CancellationToken cancellationToken) =>
        RunAsync(bounds, cancellationToken);

    private async IAsyncEnumerable<S3Object> RunAsync(IReadOnlyList<string>? bounds, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            bounds ??= await FolderBoundsAsync(stop.Token).ConfigureAwait(false);
            string? after = null;
            foreach (var bound in bounds.Distinct(StringComparer.Ordinal).Order(ObjectKey.Comparer))
            {
                _ranges.Add(new Range { After = after, UpTo = bound });
                after = bound;
            }

            _ranges.Add(new Range { After = after });
            RangesMade = _ranges.Count;
            PeakRanges = _ranges.Count;
            string? previous = null;
            while (_ranges.Count > 0)
            {
                foreach (var completed in _inFlight.Keys.Where(t => t.IsCompleted).ToList())
                {
                    await AbsorbAsync(completed).ConfigureAwait(false);
                }

                Schedule(stop.Token);
                var head = _ranges[0];
                if (head.Pages.TryDequeue(out var page))
                {
                    _buffered--;
                    Schedule(stop.Token);
                    foreach (var listed in page)
                    {
                        if (previous is not null && ObjectKey.Comparer.Compare(previous, listed.Key) >= 0)
                        {
                            throw new InvalidOperationException($"S3 store '{_store.Name}' listed '{ObjectKey.Printable(listed.Key)}' after '{ObjectKey.Printable(previous)}': keys must come in ascending UTF-8 byte order");
                        }

                        previous = listed.Key;
                        yield return listed;
                    }

                    continue;
                }

                if (head.Done)
                {
                    _ranges.RemoveAt(0);
                    continue;
                }

                await AbsorbAsync(await Task.WhenAny(_inFlight.Keys).ConfigureAwait(false)).ConfigureAwait(false);
            }
        }
        finally
        {
            if (_inFlight.Count > 0)
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await Task.WhenAll(_inFlight.Keys).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// At most <c>streams</c> − 1 of the folders right after the prefix (a delimiter listing, at most
    /// <see cref="MaxFolderPages"/> pages): every k-th one, so that each first range holds about as many folders.
    /// More first ranges than streams would only start on neighbouring folders that one page of an earlier range
    /// spans, and read them twice; splitting spreads the streams from there.
    /// </summary>
    private async Task<IReadOnlyList<string>> FolderBoundsAsync(CancellationToken cancellationToken)
    {
        var folders = new List<string>();
        string? continuation = null;
        for (var page = 0; page < MaxFolderPages; page++)
        {
            Requests++;
            var answer = await _store.ListPageAsync(_fullPrefix, startAfter: null, continuation, _pageKeys, delimiter: "/", cancellationToken).ConfigureAwait(false);
            folders.AddRange((answer.CommonPrefixes ?? []).Where(p => p.StartsWith(_fullPrefix, StringComparison.Ordinal)));
            continuation = answer.IsTruncated == true ? answer.NextContinuationToken : null;
            if (string.IsNullOrEmpty(continuation))
            {
                break;
            }
        }

        folders.Sort(ObjectKey.Comparer);
        _folders = folders;
        if (folders.Count < _streams)
        {
            return folders;
        }

        // Every k-th folder: the streams ranges hold about the same number of folders.
        return [.. Enumerable.Range(1, _streams - 1).Select(i => folders[(int)((long)i * folders.Count / _streams)])];
    }

    /// <summary>
    /// Starts fetches while streams are free: the first range that wants a page, else a split ahead. The range the
    /// consumer waits on may always fetch, whatever waits in the ranges after it.
    /// </summary>
    private void Schedule(CancellationToken cancellationToken)
    {
        var head = _ranges[0];
        if (_inFlight.Count < _streams && !head.Done && !head.Fetching && head.Pages.Count == 0)
        {
            Fetch(head, cancellationToken);
        }

        while (_inFlight.Count < _streams && _buffered + _inFlight.Count < MaxBufferedPages)
        {
            var next = _ranges.Find(r => !r.Done && !r.Fetching && r.Pages.Count < PrefetchPages);
            for (var i = 0; next is null && i < _ranges.Count; i++)
            {
                if (!_ranges[i].Done && TrySplit(_ranges[i]))
                {
                    next = _ranges[i + 1];
                }
            }

            if (next is null)
            {
                return;
            }

            Fetch(next, cancellationToken);
        }
    }

    private void Fetch(Range range, CancellationToken cancellationToken)
    {
        var startAfter = range.Continuation is null ? range.Cursor ?? range.After : null;
        range.Started = true;
        range.Fetching = true;
        Requests++;
        _inFlight[_store.ListPageAsync(_fullPrefix, startAfter, range.Continuation, MaxKeysFor(range), delimiter: null, cancellationToken)] = range;
    }

    /// <summary>Takes in one answered page: the range's keys to its queue, keys past it to the ranges after it that have not started.</summary>
    private async Task AbsorbAsync(Task<ListObjectsV2Response> fetch)
    {
        var range = _inFlight[fetch];
        _inFlight.Remove(fetch);
        range.Fetching = false;
        var answer = await fetch.ConfigureAwait(false);
        var listed = answer.S3Objects ?? [];
        var truncated = answer.IsTruncated == true;
        if (truncated && string.IsNullOrEmpty(answer.NextContinuationToken))
        {
            throw new InvalidOperationException($"S3 store '{_store.Name}' returned a truncated listing without a continuation token");
        }

        var previous = range.Cursor ?? range.After;
        foreach (var item in listed)
        {
            if (!item.Key.StartsWith(_fullPrefix, StringComparison.Ordinal) || (previous is not null && ObjectKey.Comparer.Compare(previous, item.Key) >= 0))
            {
                throw new InvalidOperationException($"S3 store '{_store.Name}' listed '{ObjectKey.Printable(item.Key)}' after '{ObjectKey.Printable(previous ?? string.Empty)}' under '{ObjectKey.Printable(_fullPrefix)}': keys must come in ascending UTF-8 byte order, under the prefix");
            }

            previous = item.Key;
        }

        if (listed.Count > 0)
        {
            // The range's own keys so far, once they are more than the span it was given: the more keys (and folders)
            // a span covers, the better it says how dense the keys ahead are.
            range.OwnFirst ??= listed[0].Key;
            range.OwnKeys += listed.Count;

            if (range.OwnKeys >= 2 && range.OwnKeys >= range.SpanKeys)
            {
                (range.SpanFirst, range.SpanLast, range.SpanKeys) = (range.OwnFirst, listed[^1].Key, range.OwnKeys);
                var common = CommonPrefixLength(range.SpanFirst, range.SpanLast);
                var keys = listed.Select(o => o.Key).Prepend(range.SpanFirst);
                range.Digits = range.Digits?.With(keys, common) ?? KeyDigits.Of(keys, common);
            }
        }

        var taken = Take(range, listed, 0, out var past);
        if (taken == 0)
        {
            EmptyPages++;
        }

        range.Continuation = truncated ? answer.NextContinuationToken : null;
        range.Done = !truncated || past;
        if (!past)
        {
            return;
        }

        // Keys past the range belong to the ranges after it: those not started take them.
        range.Continuation = null;
        var index = _ranges.IndexOf(range) + 1;
        while (taken < listed.Count && index < _ranges.Count && !_ranges[index].Started)
        {
            var later = _ranges[index++];
            later.Started = true;
            (later.SpanFirst, later.SpanLast, later.SpanKeys, later.Digits) = (range.SpanFirst, range.SpanLast, range.SpanKeys, range.Digits);
            taken = Take(later, listed, taken, out var laterPast);
            later.Done = laterPast || !truncated;
        }

        if (!truncated)
        {
            // Nothing comes after this page's last key: the ranges after it that have not started are empty.
            for (; index < _ranges.Count && !_ranges[index].Started; index++)
            {
                _ranges[index].Started = true;
                _ranges[index].Done = true;
            }
        }
    }

    /// <summary>Queues <paramref name="listed"/>[<paramref name="from"/>..] up to the range's upper bound; says whether a key past it was seen.</summary>
    /// <returns>The index of the first key not taken.</returns>
    private int Take(Range range, List<S3Object> listed, int from, out bool past)
    {
        var end = from;
        while (end < listed.Count && (range.UpTo is null || ObjectKey.Comparer.Compare(listed[end].Key, range.UpTo) <= 0))
        {
            end++;
        }

        past = end < listed.Count;
        if (end > from)
        {
            range.Pages.Enqueue(listed.GetRange(from, end - from));
            range.Cursor = listed[end - 1].Key;
            _buffered++;
        }

        if (range.UpTo is not null && range.Cursor is not null && ObjectKey.Comparer.Compare(range.Cursor, range.UpTo) >= 0)
        {
            past = true; // its last key is the bound itself: nothing more can be in it
        }

        return end;
    }

    /// <summary>
    /// Cuts <paramref name="range"/> a few pages ahead of where it is, when its keys say where that is, and inserts
    /// the rest as a new range after it.
    /// </summary>
    private bool TrySplit(Range range)
    {
        if (range.SpanKeys < 2 || (range.Cursor ?? range.After) is not { } position)
        {
            return false;
        }

        var ahead = (PagesPerPiece + (range.Fetching ? 1 : 0)) * _pageKeys;
        var split = FolderAhead(range, position, ahead) ?? KeyAhead(range, position, ahead);
        if (split is null || ObjectKey.Comparer.Compare(split, position) <= 0 || (range.UpTo is not null && ObjectKey.Comparer.Compare(split, range.UpTo) >= 0))
        {
            return false;
        }

        var rest = new Range { After = split, UpTo = range.UpTo, SpanFirst = range.SpanFirst, SpanLast = range.SpanLast, SpanKeys = range.SpanKeys, Digits = range.Digits };
        range.UpTo = split;
        _ranges.Insert(_ranges.IndexOf(range) + 1, rest);
        RangesMade++;
        PeakRanges = Math.Max(PeakRanges, _ranges.Count);
        return true;
    }

    /// <summary>
    /// The folder about <paramref name="ahead"/> keys after <paramref name="position"/>, by how many keys a folder
    /// held in the range's span; <see langword="null"/> when no folders are known or the span lies in one folder
    /// (its keys are split by their spacing instead). A folder is a real boundary: a piece cut there is never empty
    /// of keys, where a point read off the keys' spacing may fall between two folders, in key space no key uses.
    /// </summary>
    private string? FolderAhead(Range range, string position, int ahead)
    {
        var spanned = FoldersUpTo(range.SpanLast!) - FoldersUpTo(range.SpanFirst!);
        if (spanned < 1)
        {
            return null;
        }

        var keysPerFolder = (double)range.SpanKeys / spanned;
        var steps = (int)Math.Max(1, Math.Round(ahead / keysPerFolder));
        var at = FoldersUpTo(position) + steps - 1;
        return at < _folders.Count ? _folders[at] : null;
    }

    /// <summary>How many of the known folders sort at or before <paramref name="key"/>.</summary>
    private int FoldersUpTo(string key)
    {
        var at = _folders.BinarySearch(key, ObjectKey.Comparer);
        return at >= 0 ? at + 1 : ~at;
    }

    /// <summary>The key about <paramref name="ahead"/> keys after <paramref name="position"/>, by the spacing of the range's span.</summary>
    private string? KeyAhead(Range range, string position, int ahead)
    {
        var common = CommonPrefixLength(range.SpanFirst!, range.SpanLast!);
        if (!position.AsSpan().StartsWith(range.SpanFirst.AsSpan(0, common)))
        {
            return null;
        }

        if (range.Digits is not { } digits || digits.From != common)
        {
            return null;
        }

        var perKey = (digits.Number(range.SpanLast!) - digits.Number(range.SpanFirst!)) / (range.SpanKeys - 1);
        var target = digits.Number(position) + (perKey * ahead);
        return perKey <= 0 || target >= 1 ? null : string.Concat(range.SpanFirst.AsSpan(0, common), digits.Text(target));
    }

    /// <summary>
    /// How many keys to ask for: a page, or, when the range's end is near by its keys' spacing, about what is left
    /// of it (a quarter more, plus 16, and at least 16), so that the last page of a range reads few keys of the next.
    /// </summary>
    private int MaxKeysFor(Range range)
    {
        if (range.UpTo is null || range.SpanKeys < 2 || (range.Cursor ?? range.After) is not { } position)
        {
            return _pageKeys;
        }

        var least = Math.Min(16, _pageKeys);
        var spanned = FoldersUpTo(range.SpanLast!) - FoldersUpTo(range.SpanFirst!);
        if (spanned >= 1)
        {
            // The folders left before the bound, the one the range is in counted whole.
            var folders = FoldersUpTo(range.UpTo) - FoldersUpTo(position);
            var keys = folders * (double)range.SpanKeys / spanned;
            return (int)Math.Clamp(Math.Ceiling(keys * 1.25) + least, least, _pageKeys);
        }

        var common = CommonPrefixLength(range.SpanFirst!, range.SpanLast!);
        var prefix = range.SpanFirst.AsSpan(0, common);
        if (!range.UpTo.AsSpan().StartsWith(prefix) || !position.AsSpan().StartsWith(prefix))
        {
            return _pageKeys;
        }

        if (range.Digits is not { } digits || digits.From != common)
        {
            return _pageKeys;
        }

        var perKey = (digits.Number(range.SpanLast!) - digits.Number(range.SpanFirst!)) / (range.SpanKeys - 1);
        if (perKey <= 0)
        {
            return _pageKeys;
        }

        var left = (digits.Number(range.UpTo) - digits.Number(position)) / perKey;
        return (int)Math.Clamp(Math.Ceiling(left * 1.25) + least, least, _pageKeys);
    }

    /// <summary>The common prefix length of two keys, never ending inside a surrogate pair.</summary>
    private static int CommonPrefixLength(string a, string b)
    {
        var length = a.AsSpan().CommonPrefixLength(b);
        return length > 0 && char.IsHighSurrogate(a[length - 1]) ? length - 1 : length;
    }

    /// <summary>One range of the listing: keys after <see cref="After"/>, up to and including <see cref="UpTo"/>.</summary>
    private sealed class Range
    {
        /// <summary>The lower bound (exclusive), a full bucket key; <see langword="null"/> for the prefix's first key.</summary>
        public string? After { get; init; }

        /// <summary>The upper bound (inclusive); <see langword="null"/> for the prefix's last key. Lowered by a split.</summary>
        public string? UpTo { get; set; }

        /// <summary>The last key taken in, where the next page starts (with <see cref="Continuation"/>, or as <c>StartAfter</c>).</summary>
        public string? Cursor { get; set; }

        public string? Continuation { get; set; }

        public Queue<List<S3Object>> Pages { get; } = new();

        /// <summary>Whether a request was sent for it, or keys were handed to it.</summary>
        public bool Started { get; set; }

        public bool Fetching { get; set; }

        /// <summary>Whether nothing more can be in it (its queued pages may still wait).</summary>
        public bool Done { get; set; }

        /// <summary>The first key it listed itself.</summary>
        public string? OwnFirst { get; set; }

        /// <summary>The keys it listed itself (the keys handed to it by the range before it not counted).</summary>
        public int OwnKeys { get; set; }

        /// <summary>
        /// The first and last keys of a run of listed keys and how many it had: how much key space one key spans.
        /// The range's own keys from its first to its last, or, until they are more, its parent's.
        /// </summary>
        public string? SpanFirst { get; set; }

        public string? SpanLast { get; set; }

        public int SpanKeys { get; set; }

        /// <summary>The characters the span's keys use at each position after their common prefix: how keys are read as numbers.</summary>
        public KeyDigits? Digits { get; set; }
    }
}
