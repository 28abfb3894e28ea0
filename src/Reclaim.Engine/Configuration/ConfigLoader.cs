namespace Reclaim.Engine.Configuration;

/// <summary>Loads <c>reclaim.yaml</c>: YAML, environment interpolation, <c>.env</c>, validation with file, line and column.</summary>
public static class ConfigLoader
{
    /// <summary>Loads and validates a config file.</summary>
    /// <param name="path">The file's path, absolute or relative to the working folder.</param>
    /// <param name="environment">Variables for <c>${NAME}</c>; the process environment (after loading <c>.env</c>) when <see langword="null"/>.</param>
    /// <returns>The config.</returns>
    /// <exception cref="ConfigException">The file is missing or invalid; every problem is listed.</exception>
    public static ReclaimConfig Load(string path, IReadOnlyDictionary<string, string?>? environment = null) =>
        throw new NotSupportedException($"config loading is not implemented yet ({path}, {environment?.Count})");
}
