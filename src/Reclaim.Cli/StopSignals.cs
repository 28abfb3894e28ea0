using System.Runtime.InteropServices;

namespace Reclaim.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM for the commands that change stores (<c>sweep</c>, <c>apply</c>, <c>restore</c>,
/// <c>trash purge</c>). The first signal is a soft stop: planning stops (nothing has been touched), and a run in
/// progress starts no new sub-batch but finishes the ones in flight and records them, then ends
/// <c>interrupted</c>. A second signal is the hard stop: the store requests in flight are abandoned (their actions
/// stay pending, to be settled from the store's state by the next command that touches the run).
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stopping;
    private readonly CancellationTokenSource _abort;
    private readonly TextWriter _stderr;
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;
    private int _signals;

    /// <summary>Starts handling both signals.</summary>
    /// <param name="stderr">Where the stop is announced.</param>
    /// <param name="outer">The command's own token (an embedding caller's); cancelling it is a hard stop.</param>
    public StopSignals(TextWriter stderr, CancellationToken outer)
    {
        _stderr = stderr;
        _abort = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _stopping = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
    }

    /// <summary>Cancelled at the first signal (or the hard stop): stop between sub-batches.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Cancelled at the second signal: abandon what is in flight.</summary>
    public CancellationToken Abort => _abort.Token;

    /// <summary>The first signal received, or <see langword="null"/>.</summary>
    public PosixSignal? Received { get; private set; }

    /// <summary>
    /// The exit code of a run that ended interrupted: 128 + the signal's number, the shell's convention (130 after
    /// Ctrl+C, 143 after SIGTERM); <see cref="ExitCodes.Failed"/> when no signal stopped it.
    /// </summary>
    public int InterruptedExitCode => Received switch
    {
        PosixSignal.SIGINT => 130,
        PosixSignal.SIGTERM => 143,
        _ => ExitCodes.Failed,
    };

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _stopping.Dispose();
        _abort.Dispose();
    }

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true; // this process ends on its own, once what it did is recorded
        if (Interlocked.Increment(ref _signals) == 1)
        {
            Received = context.Signal;
            _stderr.WriteLine($"{Name(context.Signal)}: stopping after the batches in flight, which are finished and recorded (send it again to abort them now)");
            _stopping.Cancel();
        }
        else
        {
            _stderr.WriteLine($"{Name(context.Signal)} again: aborting the store requests in flight; their actions stay pending until the next runs, restore, sweep or trash purge settles them");
            _abort.Cancel();
        }
    }

    private static string Name(PosixSignal signal) => signal == PosixSignal.SIGINT ? "interrupt (Ctrl+C)" : "SIGTERM";
}
