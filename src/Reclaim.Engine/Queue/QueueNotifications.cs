using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;

using Reclaim.Engine.Runtime;

namespace Reclaim.Engine.Queue;

/// <summary>
/// The names and SQL of the opt-in PostgreSQL trigger (<c>reclaim queue install-trigger</c>) that wakes a worker as
/// soon as a row is inserted into a queue policy's table, instead of at its next poll.
/// </summary>
/// <remarks>
/// The trigger is statement-level (<c>AFTER INSERT ... FOR EACH STATEMENT</c>): a bulk insert sends one
/// notification. It calls <c>pg_notify('reclaim_queue', '&lt;table&gt;')</c>, the table as the policy's <c>table</c>
/// names it, so workers of other tables on the same database ignore it. Installing is idempotent:
/// <c>CREATE OR REPLACE FUNCTION</c>, then <c>DROP TRIGGER IF EXISTS</c> and <c>CREATE TRIGGER</c>, in one
/// transaction. Without the trigger a worker still finds new rows at its <c>poll_interval</c>.
/// </remarks>
public static class QueueNotifications
{
    /// <summary>The notification channel workers <c>LISTEN</c> on: <c>reclaim_queue</c>.</summary>
    public const string Channel = "reclaim_queue";

    /// <summary>The trigger's name on the table, and the trigger function's name: <c>reclaim_queue_notify</c>.</summary>
    public const string TriggerName = "reclaim_queue_notify";

    /// <summary>The statements that install (or reinstall) the trigger on <paramref name="table"/>.</summary>
    /// <param name="table">The table as a queue policy names it: <c>name</c> or <c>schema.name</c> (already validated as identifiers).</param>
    /// <returns>SQL for PostgreSQL 11 or later, statements separated by <c>;</c> and new lines.</returns>
    public static string InstallSql(string table)
    {
        var dot = table.IndexOf('.', StringComparison.Ordinal);
        var function = dot < 0 ? TriggerName : $"{table[..dot]}.{TriggerName}";
        return $"""
            CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $reclaim$
            BEGIN
              PERFORM pg_notify('{Channel}', TG_ARGV[0]);
              RETURN NULL;
            END
            $reclaim$;
            DROP TRIGGER IF EXISTS {TriggerName} ON {table};
            CREATE TRIGGER {TriggerName} AFTER INSERT ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {function}('{table}');
            """;
    }
}

/// <summary>
/// A dedicated PostgreSQL connection that <c>LISTEN</c>s on <see cref="QueueNotifications.Channel"/> and wakes a
/// worker when a notification for its table arrives; reconnects (with exponential backoff) when the connection is
/// lost, and wakes the worker once reconnected, since notifications sent in between are lost.
/// </summary>
internal sealed class QueueListener : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _table;
    private readonly string _queue;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = System.Threading.Channels.Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly ResiliencePipeline _reconnect;
    private NpgsqlConnection? _connection;
    private Task _loop = Task.CompletedTask;

    /// <summary>The listening connection's <c>application_name</c>, as <c>pg_stat_activity</c> shows it.</summary>
    public const string ApplicationName = "reclaim queue listener";

    private QueueListener(string connectionString, string queue, string table, ILogger logger)
    {
        // Keepalives make a connection that died silently fail the wait rather than hang it.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { KeepAlive = 30, Pooling = false, ApplicationName = ApplicationName };
        _dataSource = NpgsqlDataSource.Create(builder);
        _queue = queue;
        _table = table;
        _logger = logger;
        _reconnect = Supervision.RetryForever(
            TimeSpan.FromSeconds(30),
            IsConnectionFailure,
            (failure, delay) => Log.ListenLost(_logger, _queue, QueueNotifications.Channel, failure?.Message ?? "failed", (long)delay.TotalMilliseconds));
    }

    /// <summary>
    /// Opens the connection and runs <c>LISTEN</c> before returning, so that no row inserted after the caller's
    /// next look at the table goes unnoticed; then listens in the background until disposed.
    /// </summary>
    public static async Task<QueueListener> StartAsync(string connectionString, string queue, string table, ILogger logger, CancellationToken cancellationToken)
    {
        var listener = new QueueListener(connectionString, queue, table, logger);
        try
        {
            listener._connection = await listener.ConnectAsync(cancellationToken);
        }
        catch
        {
            await listener.DisposeAsync();
            throw;
        }

        listener._loop = Task.Run(listener.LoopAsync, CancellationToken.None);
        return listener;
    }

    /// <summary>
    /// Returns when a row was inserted since the last call (at once when one was inserted meanwhile), or when
    /// <paramref name="interval"/> has passed on <paramref name="timeProvider"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task WaitAsync(TimeSpan interval, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (_wake.Reader.TryRead(out _))
        {
            return;
        }

        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var woken = _wake.Reader.WaitToReadAsync(either.Token).AsTask();
        var poll = Task.Delay(interval, timeProvider, either.Token);
        await Task.WhenAny(woken, poll);
        await either.CancelAsync();
        _wake.Reader.TryRead(out _);
        cancellationToken.ThrowIfCancellationRequested();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        await _dataSource.DisposeAsync();
        _stop.Dispose();
    }

    private static bool IsConnectionFailure(Exception e) => e is NpgsqlException or IOException or SocketException or TimeoutException;

    private async Task<NpgsqlConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            connection.Notification += (_, e) =>
            {
                if (string.Equals(e.Payload, _table, StringComparison.Ordinal))
                {
                    _wake.Writer.TryWrite(true);
                }
            };
            await using var command = new NpgsqlCommand($"LISTEN {QueueNotifications.Channel}", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
            Log.Listening(_logger, _queue, QueueNotifications.Channel, _table);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task LoopAsync()
    {
        var stopping = _stop.Token;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _connection!.WaitAsync(stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (IsConnectionFailure(e))
            {
                Log.ListenLost(_logger, _queue, QueueNotifications.Channel, e.Message, 0);
                await _connection!.DisposeAsync();
                _connection = null;
                try
                {
                    _connection = await _reconnect.ExecuteAsync(async token => await ConnectAsync(token), stopping);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return;
                }

                // Rows inserted while the connection was down sent notifications no one heard.
                _wake.Writer.TryWrite(true);
            }
        }
    }
}
