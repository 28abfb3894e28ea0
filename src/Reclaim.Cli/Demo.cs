namespace Reclaim.Cli;

/// <summary>Builds and runs the demo.</summary>
internal static class Demo
{
    public static Task<int> RunAsync(CliContext context, string dir, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{context} {dir} {cancellationToken}");
}
