using Reclaim.Engine.Configuration;

namespace Reclaim.Engine.Tests.Configuration;

/// <summary>A temporary folder holding a <c>reclaim.yaml</c> (and whatever else a test writes beside it), deleted on dispose.</summary>
internal sealed class ConfigFolder : IDisposable
{
    private static readonly Dictionary<string, string?> NoVariables = [];

    public ConfigFolder() => Path = Directory.CreateTempSubdirectory("reclaim-config-").FullName;

    public string Path { get; }

    public string ConfigPath => System.IO.Path.Join(Path, "reclaim.yaml");

    public string Write(string relativePath, string text)
    {
        var path = System.IO.Path.Join(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Writes <paramref name="yaml"/> as the config and loads it with only <paramref name="variables"/> (never the process environment).</summary>
    public ReclaimConfig Load(string yaml, IReadOnlyDictionary<string, string?>? variables = null)
    {
        Write("reclaim.yaml", yaml);
        return ConfigLoader.Load(ConfigPath, variables ?? NoVariables);
    }

    /// <summary>Writes and loads <paramref name="yaml"/>, which must be invalid, and returns every error.</summary>
    public IReadOnlyList<ConfigError> Errors(string yaml, IReadOnlyDictionary<string, string?>? variables = null)
    {
        var load = () => Load(yaml, variables);
        return load.Should().Throw<ConfigException>().Which.Errors;
    }

    /// <summary>The one error <paramref name="yaml"/> has, which must be at <paramref name="line"/>:<paramref name="column"/>.</summary>
    public ConfigError SingleError(string yaml, int line, int column, IReadOnlyDictionary<string, string?>? variables = null)
    {
        var errors = Errors(yaml, variables);
        errors.Should().ContainSingle($"exactly one problem is expected, found: {string.Join(" | ", errors)}");
        var error = errors[0];
        error.Location.Should().Be(new ConfigLocation(ConfigPath, line, column), error.Message);
        return error;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
