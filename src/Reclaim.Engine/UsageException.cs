namespace Reclaim.Engine;

/// <summary>A command was used wrongly (exit code 2): a missing policy or run, a bad argument.</summary>
/// <param name="message">What is wrong.</param>
public sealed class UsageException(string message) : Exception(message);
