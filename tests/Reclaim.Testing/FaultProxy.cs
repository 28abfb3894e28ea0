using System.Net;

namespace Reclaim.Testing;

/// <summary>One request <see cref="FaultProxy"/> forwarded.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Url">The path and query, percent-decoded.</param>
/// <param name="CopySource">The <c>x-amz-copy-source</c> header of a CopyObject, or <see langword="null"/>.</param>
/// <param name="Received">When it arrived (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>).</param>
/// <param name="Answered">When its answer had been sent.</param>
public sealed record ProxiedRequest(string Method, string Url, string? CopySource, long Received, long Answered);

/// <summary>The faults <see cref="FaultProxy"/> injects, in turn.</summary>
public enum Fault
{
    /// <summary>503 with S3's <c>SlowDown</c> error body.</summary>
    SlowDown,

    /// <summary>500 with S3's <c>InternalError</c> body.</summary>
    InternalError,

    /// <summary>The connection is reset without a response.</summary>
    Reset,

    /// <summary>404 with S3's <c>NoSuchKey</c> body (an object that vanished, or a service that lost it).</summary>
    NotFound,

    /// <summary>
    /// The request is held without an answer for <see cref="FaultProxy.Hold"/> (longer than the client's
    /// timeout), then the connection is reset.
    /// </summary>
    Timeout,
}

/// <summary>
/// A loopback HTTP reverse proxy in front of an S3 endpoint that fails a set share of requests (by default 503
/// SlowDown, 500 and connection reset, in turn; <see cref="Kinds"/> may add <see cref="Fault.Timeout"/>) and forwards the rest unchanged (the <c>Host</c> header is kept, so SigV4 signatures
/// stay valid).
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly HttpClient _upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, AutomaticDecompression = DecompressionMethods.None });
    private readonly Uri _target;
    private readonly Random _random = new(1234);
    private readonly Lock _sync = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<Fault, int> _byKind = [];
    private readonly Task _loop;
    private int _faultTurn;
    private int _inFlight;
    private int _peakInFlight;

    /// <summary>Starts the proxy on a free loopback port.</summary>
    /// <param name="target">The upstream endpoint.</param>
    /// <param name="failureRate">The share of requests to fail, 0..1.</param>
    public FaultProxy(Uri target, double failureRate)
    {
        _target = target;
        FailureRate = failureRate;
        var port = FreePort.Find();
        Endpoint = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(Endpoint.ToString());
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Where clients connect.</summary>
    public Uri Endpoint { get; }

    /// <summary>The share of requests failed, 0..1; may be changed while running.</summary>
    public double FailureRate { get; set; }

    /// <summary>
    /// Chooses a fault for one request (for instance every listing of one prefix), before <see cref="FailureRate"/>
    /// is applied; <see langword="null"/> (the default, or as its answer) to leave the request to the rate.
    /// </summary>
    public Func<HttpListenerRequest, Fault?>? FaultFor { get; set; }

    /// <summary>Whether each forwarded request is added to <see cref="Requests"/> once answered (default off).</summary>
    public bool RecordRequests { get; set; }

    /// <summary>The forwarded requests, once answered, while <see cref="RecordRequests"/> is on.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<ProxiedRequest> Requests { get; } = new();

    /// <summary>How long each forwarded request waits first (a slow service); zero by default.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>The faults injected, in turn (default 503 SlowDown, 500, reset); may be changed while running.</summary>
    public IReadOnlyList<Fault> Kinds { get; set; } = [Fault.SlowDown, Fault.InternalError, Fault.Reset];

    /// <summary>How long a <see cref="Fault.Timeout"/> holds its request unanswered (default 1 minute, or until disposed).</summary>
    public TimeSpan Hold { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Requests failed so far.</summary>
    public int Faults { get; private set; }

    /// <summary>Requests failed so far with one kind of fault.</summary>
    /// <param name="kind">The fault.</param>
    /// <returns>The count.</returns>
    public int CountOf(Fault kind)
    {
        lock (_sync)
        {
            return _byKind.GetValueOrDefault(kind);
        }
    }

    /// <summary>Requests forwarded so far.</summary>
    public int Forwarded { get; private set; }

    /// <summary>The most requests the proxy was handling at once (failed ones included), since it started.</summary>
    public int PeakInFlight => Volatile.Read(ref _peakInFlight);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
        {
        }

        _upstream.Dispose();
        _stopping.Dispose();
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        for (var peak = Volatile.Read(ref _peakInFlight); inFlight > peak; peak = Volatile.Read(ref _peakInFlight))
        {
            if (Interlocked.CompareExchange(ref _peakInFlight, inFlight, peak) == peak)
            {
                break;
            }
        }

        try
        {
            await HandleOneAsync(context);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task HandleOneAsync(HttpListenerContext context)
    {
        Fault? fault = FaultFor?.Invoke(context.Request);
        var received = System.Diagnostics.Stopwatch.GetTimestamp();
        lock (_sync)
        {
            if (fault is not null)
            {
                Faults++;
                _byKind[fault.Value] = _byKind.GetValueOrDefault(fault.Value) + 1;
            }
            else if (_random.NextDouble() < FailureRate)
            {
                var kinds = Kinds;
                fault = kinds[_faultTurn++ % kinds.Count];
                Faults++;
                _byKind[fault.Value] = _byKind.GetValueOrDefault(fault.Value) + 1;
            }
            else
            {
                Forwarded++;
            }
        }

        var response = context.Response;
        try
        {
            switch (fault)
            {
                case Fault.Reset:
                    response.Abort();
                    return;
                case Fault.Timeout:
                    try
                    {
                        await Task.Delay(Hold, _stopping.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    response.Abort();
                    return;
                case Fault.SlowDown:
                    await WriteErrorAsync(response, 503, "SlowDown", "Please reduce your request rate.");
                    return;
                case Fault.InternalError:
                    await WriteErrorAsync(response, 500, "InternalError", "We encountered an internal error. Please try again.");
                    return;
                case Fault.NotFound:
                    await WriteErrorAsync(response, 404, "NoSuchKey", "The specified key does not exist.");
                    return;
            }

            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay);
            }

            await ForwardAsync(context);
            if (RecordRequests)
            {
                Requests.Enqueue(new ProxiedRequest(context.Request.HttpMethod, Uri.UnescapeDataString(context.Request.RawUrl ?? string.Empty),
                    context.Request.Headers["x-amz-copy-source"], received, System.Diagnostics.Stopwatch.GetTimestamp()));
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or HttpRequestException or ObjectDisposedException)
        {
            response.Abort();
        }
    }

    private async Task ForwardAsync(HttpListenerContext context)
    {
        var request = context.Request;
        using var message = new HttpRequestMessage(new HttpMethod(request.HttpMethod), new Uri(_target, request.RawUrl));
        if (request.HasEntityBody)
        {
            using var body = new MemoryStream();
            await request.InputStream.CopyToAsync(body);
            message.Content = new ByteArrayContent(body.ToArray());
        }

        foreach (var name in request.Headers.AllKeys.OfType<string>())
        {
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || name.Equals("Expect", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var values = request.Headers.GetValues(name) ?? [];
            if (!message.Headers.TryAddWithoutValidation(name, values))
            {
                message.Content ??= new ByteArrayContent([]);
                message.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }

        using var upstream = await _upstream.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
        var response = context.Response;
        response.StatusCode = (int)upstream.StatusCode;
        foreach (var header in upstream.Headers.Concat(upstream.Content.Headers))
        {
            if (header.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) ||
                header.Key.Equals("Connection", StringComparison.OrdinalIgnoreCase) || header.Key.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            response.Headers[header.Key] = string.Join(",", header.Value);
        }

        var bytes = await upstream.Content.ReadAsByteArrayAsync();
        if (request.HttpMethod != "HEAD")
        {
            response.ContentLength64 = bytes.Length;
            await response.OutputStream.WriteAsync(bytes);
        }
        else if (upstream.Content.Headers.ContentLength is { } length)
        {
            response.ContentLength64 = length;
        }

        response.Close();
    }

    private static async Task WriteErrorAsync(HttpListenerResponse response, int status, string code, string text)
    {
        var body = System.Text.Encoding.UTF8.GetBytes($"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{text}</Message><RequestId>fault</RequestId></Error>");
        response.StatusCode = status;
        response.ContentType = "application/xml";
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body);
        response.Close();
    }
}
