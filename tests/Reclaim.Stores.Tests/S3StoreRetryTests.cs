using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.S3;
using Reclaim.Core.Storage;
using Reclaim.Stores.S3;

namespace Reclaim.Stores.Tests;

/// <summary>The S3 store's one retry policy, against a loopback server that answers from a script.</summary>
public sealed class S3StoreRetryTests : IAsyncDisposable
{
    private readonly ScriptedServer _server = new();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Stat_ServiceUnavailableTwice_IsRetriedUntilItAnswers()
    {
        _server.Enqueue(503, "SlowDown");
        _server.Enqueue(503, "SlowDown");
        _server.EnqueueObject(size: 5);
        await using var store = CreateStore(maxAttempts: 3);

        var stored = await store.StatAsync("a.txt", default);

        stored!.Value.Size.Should().Be(5);
        _server.Requests.Should().Be(3);
    }

    [Fact]
    public async Task Read_ServerErrorOnEveryAttempt_GivesUpAfterMaxAttempts()
    {
        for (var i = 0; i < 5; i++)
        {
            _server.Enqueue(500, "InternalError");
        }

        await using var store = CreateStore(maxAttempts: 3);

        var read = () => store.ReadAllAsync("a.txt", default);

        (await read.Should().ThrowAsync<AmazonS3Exception>()).Which.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        _server.Requests.Should().Be(3);
    }

    [Fact]
    public async Task Read_AccessDenied_IsNotRetried()
    {
        _server.Enqueue(403, "AccessDenied");
        _server.EnqueueObject(size: 1);
        await using var store = CreateStore(maxAttempts: 5);

        var read = () => store.ReadAllAsync("a.txt", default);

        (await read.Should().ThrowAsync<AmazonS3Exception>()).Which.ErrorCode.Should().Be("AccessDenied");
        _server.Requests.Should().Be(1);
    }

    [Fact]
    public async Task Delete_KeysThrottledInsideTheAnswer_AreSentAgainAlone()
    {
        // DeleteObjects answers 200 but refuses one key with SlowDown (S3 does this under load): only that key goes again.
        _server.EnqueueXml(200, "<DeleteResult><Error><Key>b.bin</Key><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error></DeleteResult>");
        _server.EnqueueXml(200, "<DeleteResult></DeleteResult>");
        await using var store = CreateStore(maxAttempts: 3);

        var errors = await store.DeleteAsync(["a.bin", "b.bin"], default);

        errors.Should().BeEmpty();
        _server.Bodies.Should().HaveCount(2);
        _server.Bodies[0].Should().Contain("<Key>a.bin</Key>").And.Contain("<Key>b.bin</Key>");
        _server.Bodies[1].Should().Contain("<Key>b.bin</Key>").And.NotContain("<Key>a.bin</Key>");
    }

    [Fact]
    public async Task Delete_KeyStillThrottledAfterTheLastAttempt_IsReturnedAsAKeyError_NotLost()
    {
        var throttled = "<DeleteResult><Error><Key>b.bin</Key><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error></DeleteResult>";
        _server.EnqueueXml(200, throttled);
        _server.EnqueueXml(200, throttled);
        await using var store = CreateStore(maxAttempts: 2);

        var errors = await store.DeleteAsync(["a.bin", "b.bin"], default);

        errors.Should().Equal(new KeyError("b.bin", "SlowDown: Please reduce your request rate."));
    }

    [Theory]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(400, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(409, false)]
    public void IsTransient_ServiceAnswer_DependsOnTheStatus(int status, bool transient)
    {
        var error = new AmazonS3Exception("answer") { StatusCode = (HttpStatusCode)status };

        S3Retry.IsTransient(error, CancellationToken.None).Should().Be(transient);
    }

    [Fact]
    public void IsTransient_SlowDownCode_IsTransientWhateverTheStatus()
    {
        S3Retry.IsTransient(new AmazonS3Exception("slow") { ErrorCode = "SlowDown", StatusCode = HttpStatusCode.BadRequest }, default).Should().BeTrue();
    }

    [Fact]
    public void IsTransient_ConnectionAndTimeoutFailures_AreTransient_TheStoresVerdictsAndCancellationAreNot()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        S3Retry.IsTransient(new HttpRequestException("reset"), default).Should().BeTrue();
        S3Retry.IsTransient(new IOException("broken pipe"), default).Should().BeTrue();
        S3Retry.IsTransient(new TimeoutException(), default).Should().BeTrue();
        S3Retry.IsTransient(new TaskCanceledException("HttpClient.Timeout"), default).Should().BeTrue();
        S3Retry.IsTransient(new TaskCanceledException(), cancelled.Token).Should().BeFalse();
        S3Retry.IsTransient(new ObjectExistsException("k"), default).Should().BeFalse();
        S3Retry.IsTransient(new ObjectNotFoundException("k"), default).Should().BeFalse();
        S3Retry.IsTransient(new InvalidOperationException(), default).Should().BeFalse();
    }

    [Fact]
    public void Options_Invalid_ListEveryProblemAtOnce()
    {
        var options = new S3StoreOptions
        {
            Name = "wasabi",
            Bucket = "",
            Prefix = "../up",
            Endpoint = "ftp://example",
            AccessKey = "only-the-key",
            MaxAttempts = 0,
            ListConcurrency = 0,
            DeleteConcurrency = 65,
        };

        var create = () => new S3Store(options);

        create.Should().Throw<ValidationException>()
            .WithMessage("S3 store 'wasabi' cannot be created:*'bucket' is required*").And.Message.Should()
            .Contain("prefix '../up'").And.Contain("endpoint 'ftp://example'").And.Contain("secret_key").And.Contain("max_attempts must be from 1 to 20")
            .And.Contain("list_concurrency must be from 1 to 64").And.Contain("delete_concurrency must be from 1 to 64");
    }

    private S3Store CreateStore(int maxAttempts) => new(new S3StoreOptions
    {
        Name = "scripted",
        Bucket = "bucket",
        Endpoint = _server.Endpoint,
        ForcePathStyle = true,
        AccessKey = "key",
        SecretKey = "secret",
        MaxAttempts = maxAttempts,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
    });

    /// <summary>An HTTP/1.1 server on a loopback port that answers each request with the next scripted response.</summary>
    private sealed class ScriptedServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Queue<string> _responses = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;
        private int _requests;

        public ScriptedServer()
        {
            _listener.Start();
            Endpoint = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
            _serving = ServeAsync();
        }

        public string Endpoint { get; }

        public int Requests => Volatile.Read(ref _requests);

        /// <summary>The body of each request received, in order.</summary>
        public List<string> Bodies { get; } = [];

        public void EnqueueXml(int status, string xml) =>
            Add($"HTTP/1.1 {status} Scripted\r\nContent-Type: application/xml\r\nContent-Length: {Encoding.UTF8.GetByteCount(xml)}\r\nConnection: close\r\n\r\n{xml}");

        public void Enqueue(int status, string code)
        {
            var body = $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>scripted</Message></Error>";
            Add($"HTTP/1.1 {status} Scripted\r\nContent-Type: application/xml\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}");
        }

        public void EnqueueObject(int size) => Add(
            $"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\nETag: \"0123\"\r\n" +
            $"Last-Modified: {DateTimeOffset.UnixEpoch:R}\r\nConnection: close\r\n\r\n{new string('x', size)}");

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try
            {
                await _serving;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }

            _stop.Dispose();
        }

        private void Add(string response)
        {
            lock (_responses)
            {
                _responses.Enqueue(response);
            }
        }

        private async Task ServeAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var stream = client.GetStream();
                var request = new StringBuilder();
                var buffer = new byte[4096];
                while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await stream.ReadAsync(buffer, _stop.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    request.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }

                var text = request.ToString();
                var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                var length = System.Text.RegularExpressions.Regex.Match(text, "(?im)^content-length:\\s*(\\d+)") is { Success: true } match
                    ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
                    : 0;
                var body = new StringBuilder(headerEnd < 0 ? string.Empty : text[(headerEnd + 4)..]);
                while (body.Length < length)
                {
                    var read = await stream.ReadAsync(buffer, _stop.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    body.Append(Encoding.UTF8.GetString(buffer, 0, read));
                }

                lock (_responses)
                {
                    Bodies.Add(body.ToString());
                }

                Interlocked.Increment(ref _requests);
                string response;
                lock (_responses)
                {
                    response = _responses.Count > 0 ? _responses.Dequeue() : "HTTP/1.1 599 Unscripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                }

                if (request.ToString().StartsWith("HEAD ", StringComparison.Ordinal))
                {
                    response = response[..(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)];
                }

                await stream.WriteAsync(Encoding.UTF8.GetBytes(response), _stop.Token);
            }
        }
    }
}
