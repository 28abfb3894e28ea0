using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>
/// The long-running commands as a service manager runs them, as real processes: under systemd (<c>Type=notify</c>)
/// they report readiness, keep the watchdog fed and say when they stop, on the notification socket systemd passes
/// (here a Unix datagram socket the test binds).
/// </summary>
public sealed class ServiceHostingTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("service-hosting");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Serve_WithANotifySocket_SendsReadyWatchdogPingsAndStopping()
    {
        var config = await WriteConfigAsync(_folder);
        using var socket = new NotifySocket();

        await using var serve = await ServeProcess.StartAsync("notify", config, socket.Environment(watchdogUsec: 400_000));
        await socket.WaitForAsync(m => m.Contains("READY=1"), "READY=1");
        await socket.WaitForAsync(m => m.Count(x => x == "WATCHDOG=1") >= 3, "three WATCHDOG=1 pings (every 200 ms)");
        var exit = await serve.StopAsync();

        exit.Should().Be(0, serve.Output);
        await socket.WaitForAsync(m => m.Contains("STOPPING=1"), "STOPPING=1");
        socket.Messages.IndexOf("READY=1").Should().BeLessThan(socket.Messages.IndexOf("STOPPING=1"));
    }

    [Fact]
    public async Task Worker_WithANotifySocket_SendsReadyWatchdogPingsAndStopping()
    {
        var config = await WriteConfigAsync(_folder);
        using var socket = new NotifySocket();

        await using var worker = ReclaimProcess.Start(["worker", "-c", config, "--format", "json"], socket.Environment(watchdogUsec: 400_000));
        await socket.WaitForAsync(m => m.Contains("READY=1"), "READY=1", worker);
        await socket.WaitForAsync(m => m.Count(x => x == "WATCHDOG=1") >= 3, "three WATCHDOG=1 pings (every 200 ms)", worker);
        var exit = await worker.StopAsync();

        exit.Should().Be(0, worker.Output);
        socket.Messages.Should().Contain("STOPPING=1");
    }

    [Fact]
    public async Task Serve_WithoutANotifySocket_StartsAsBefore()
    {
        var config = await WriteConfigAsync(_folder);

        await using var serve = await ServeProcess.StartAsync("plain", config);

        (await serve.StopAsync()).Should().Be(0, serve.Output);
    }

    /// <summary>Seeds the test folder like <see cref="ServerHost"/> and writes its config.</summary>
    /// <param name="folder">The folder.</param>
    /// <returns>The config's path.</returns>
    internal static async Task<string> WriteConfigAsync(TemporaryFolder folder)
    {
        await ServerHost.SeedAsync(folder);
        var path = folder.Combine("reclaim.yaml");
        await File.WriteAllTextAsync(path, ServerHost.Yaml());
        return path;
    }

    /// <summary>
    /// A Unix datagram socket standing in for systemd's notification socket: it keeps every message
    /// (<c>READY=1</c>, <c>WATCHDOG=1</c>, ...), one per datagram, newline-separated assignments split.
    /// </summary>
    internal sealed class NotifySocket : IDisposable
    {
        private readonly string _path = Path.Combine(Path.GetTempPath(), $"reclaim-notify-{Guid.NewGuid():N}.sock");
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        private readonly ConcurrentQueue<string> _messages = new();
        private readonly CancellationTokenSource _stop = new();

        public NotifySocket()
        {
            _socket.Bind(new UnixDomainSocketEndPoint(_path));
            _ = ReceiveAsync();
        }

        public List<string> Messages => [.. _messages];

        /// <summary>The variables systemd sets for a <c>Type=notify</c> unit with <c>WatchdogSec=</c>.</summary>
        public Dictionary<string, string> Environment(long watchdogUsec) => new(StringComparer.Ordinal)
        {
            ["NOTIFY_SOCKET"] = _path,
            ["WATCHDOG_USEC"] = watchdogUsec.ToString(CultureInfo.InvariantCulture),
        };

        public async Task WaitForAsync(Func<List<string>, bool> condition, string what, ReclaimProcess? process = null)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!condition(Messages))
            {
                if (DateTime.UtcNow > deadline || process is { HasExited: true })
                {
                    throw new TimeoutException($"no {what} on the notification socket; received: [{string.Join(", ", Messages)}]{(process is null ? string.Empty : "\n" + process.Output)}");
                }

                await Task.Delay(50);
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Dispose();
            File.Delete(_path);
            _stop.Dispose();
        }

        private async Task ReceiveAsync()
        {
            var buffer = new byte[4096];
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var length = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    foreach (var message in Encoding.UTF8.GetString(buffer, 0, length).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    {
                        _messages.Enqueue(message);
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }
    }
}
