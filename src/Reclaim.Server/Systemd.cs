using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;

namespace Reclaim.Server;

/// <summary>
/// <c>reclaim serve</c> and <c>reclaim worker</c> as systemd <c>Type=notify</c> services (Microsoft.Extensions.Hosting.Systemd):
/// when the service manager passes a notification socket (<c>NOTIFY_SOCKET</c>), the process sends <c>READY=1</c>
/// once it is ready, <c>STOPPING=1</c> when it begins to stop, and, when the unit sets <c>WatchdogSec=</c>
/// (<c>WATCHDOG_USEC</c>), <c>WATCHDOG=1</c> at half that interval. Without <c>NOTIFY_SOCKET</c> nothing changes.
/// </summary>
/// <remarks>
/// The socket decides, as <c>sd_notify(3)</c> does, rather than whether the parent process is systemd: a unit that
/// starts Reclaim through a wrapper script still gets its notifications. See systemd.service(5) (<c>Type=notify</c>,
/// <c>WatchdogSec=</c>) and sd_watchdog_enabled(3) for <c>WATCHDOG_USEC</c> and <c>WATCHDOG_PID</c>.
/// </remarks>
public static class Systemd
{
    /// <summary>Whether a service manager waits for notifications (<c>NOTIFY_SOCKET</c> is set).</summary>
    public static bool Notifying => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));

    /// <summary>
    /// How often to send <c>WATCHDOG=1</c>: half of <c>WATCHDOG_USEC</c>, or <see langword="null"/> when no watchdog is
    /// set, <c>WATCHDOG_USEC</c> is not a positive number of microseconds, or <c>WATCHDOG_PID</c> names another process.
    /// </summary>
    public static TimeSpan? WatchdogInterval
    {
        get
        {
            if (!Notifying || !long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out var usec) || usec <= 0)
            {
                return null;
            }

            var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
            if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
            {
                return null;
            }

            return TimeSpan.FromMicroseconds(usec / 2.0);
        }
    }

    /// <summary>
    /// For a host (<c>reclaim serve</c>): when <see cref="Notifying"/>, the host's lifetime becomes systemd's
    /// (<c>READY=1</c> once every hosted service has started and the server listens, <c>STOPPING=1</c> on shutdown,
    /// SIGTERM stops the host) and the watchdog runs as a hosted service.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="timeProvider">The clock the watchdog's timer runs on.</param>
    public static void Add(IServiceCollection services, TimeProvider timeProvider)
    {
        if (!Notifying)
        {
            return;
        }

        services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        services.AddSingleton<IHostLifetime, SystemdLifetime>();
        if (WatchdogInterval is { } every)
        {
            services.AddHostedService(sp => new SystemdWatchdog(sp.GetRequiredService<ISystemdNotifier>(), every, timeProvider));
        }
    }

    /// <summary>
    /// For a process without a host (<c>reclaim worker</c>): sends <c>READY=1</c> and starts the watchdog. Disposing
    /// the result sends <c>STOPPING=1</c> (if <see cref="ServiceNotifications.Stopping"/> has not) and stops the watchdog.
    /// </summary>
    /// <param name="timeProvider">The clock the watchdog's timer runs on.</param>
    /// <returns>The notifications, or <see langword="null"/> when not <see cref="Notifying"/>.</returns>
    public static ServiceNotifications? Ready(TimeProvider timeProvider) => Notifying ? new ServiceNotifications(new SystemdNotifier(), WatchdogInterval, timeProvider) : null;
}

/// <summary>The notifications of a process that runs without a host; see <see cref="Systemd.Ready"/>.</summary>
public sealed class ServiceNotifications : IAsyncDisposable
{
    private readonly ISystemdNotifier _notifier;
    private readonly SystemdWatchdog? _watchdog;
    private int _stopping;

    internal ServiceNotifications(ISystemdNotifier notifier, TimeSpan? watchdogInterval, TimeProvider timeProvider)
    {
        _notifier = notifier;
        notifier.Notify(ServiceState.Ready);
        if (watchdogInterval is { } every)
        {
            _watchdog = new SystemdWatchdog(notifier, every, timeProvider);
            _ = _watchdog.StartAsync(CancellationToken.None);
        }
    }

    /// <summary>Sends <c>STOPPING=1</c> (once): the process has begun to stop.</summary>
    public void Stopping()
    {
        if (Interlocked.Exchange(ref _stopping, 1) == 0)
        {
            _notifier.Notify(ServiceState.Stopping);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Stopping();
        if (_watchdog is not null)
        {
            await _watchdog.StopAsync(CancellationToken.None);
            _watchdog.Dispose();
        }
    }
}

/// <summary>
/// Sends <c>WATCHDOG=1</c> every <paramref name="every"/> from the thread pool: a process whose thread pool no longer
/// runs work misses its pings, and systemd restarts it (<c>Restart=on-failure</c>) after <c>WatchdogSec=</c>.
/// </summary>
/// <param name="notifier">The notification socket.</param>
/// <param name="every">The interval (half of <c>WATCHDOG_USEC</c>).</param>
/// <param name="timeProvider">The clock.</param>
internal sealed class SystemdWatchdog(ISystemdNotifier notifier, TimeSpan every, TimeProvider timeProvider) : BackgroundService
{
    private static readonly ServiceState Ping = new("WATCHDOG=1");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(every, timeProvider);
        notifier.Notify(Ping);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                notifier.Notify(Ping);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
