namespace Reclaim.Cli;

/// <summary>The exit codes users script against (README, "Command line").</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>Failed (an unreadable catalog, a store error that stopped the run).</summary>
    public const int Failed = 1;

    /// <summary>Usage or config error; nothing was touched.</summary>
    public const int Usage = 2;

    /// <summary>A guard refused; nothing was touched.</summary>
    public const int Refused = 3;

    /// <summary>Done, with some actions failed (each recorded with its error).</summary>
    public const int PartiallyFailed = 4;
}
