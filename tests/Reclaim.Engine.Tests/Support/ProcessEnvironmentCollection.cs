namespace Reclaim.Engine.Tests.Support;

/// <summary>
/// Tests that set process environment variables (which every test in the process shares, and which configs read
/// through <c>${NAME}</c>) run in this collection, alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "process environment";
}
