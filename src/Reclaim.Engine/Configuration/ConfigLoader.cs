using System.Text.RegularExpressions;
using DotNetEnv;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// Loads <c>reclaim.yaml</c> (SPEC "Config file"): the <c>.env</c> file beside it, then the YAML, then
/// <c>${NAME}</c> interpolation inside each scalar, then validation of every section with file, line and column.
/// </summary>
/// <remarks>
/// <para>
/// Variables: <c>${NAME}</c> is the variable's value and an error when it is unset; <c>${NAME:-default}</c> is
/// the default when the variable is unset or empty (the default may itself hold <c>${...}</c>); <c>$${</c> is a
/// literal <c>${</c>. Interpolation happens inside scalar values after parsing, so a value can never change the
/// YAML's structure, and every error points at the scalar it came from. Keys are never interpolated.
/// </para>
/// <para>
/// Problems are collected, not thrown one at a time: a file with five mistakes reports five
/// <see cref="ConfigError"/>s, in file order, in one <see cref="ConfigException"/>. A YAML syntax error stops
/// parsing, so it is reported alone (with any <c>.env</c> problem).
/// </para>
/// </remarks>
public static partial class ConfigLoader
{
    /// <summary>The name of the variables file read from the config's folder.</summary>
    public const string EnvFileName = ".env";

    /// <summary>Loads and validates a config file.</summary>
    /// <param name="path">The file's path, absolute or relative to the working folder.</param>
    /// <param name="environment">
    /// Variables for <c>${NAME}</c>. When <see langword="null"/> (the CLI and the server), the <c>.env</c> file
    /// beside the config is loaded into the process environment first, never overwriting a variable that is already
    /// set, and the process environment is used. When given (tests, embedding), the process environment is neither
    /// read nor changed: a name is looked up in <paramref name="environment"/> and, when absent there (or
    /// <see langword="null"/>), in the <c>.env</c> file's values.
    /// </param>
    /// <returns>The config, with every relative path resolved against the config file's folder.</returns>
    /// <exception cref="ConfigException">The file is missing, unreadable or invalid; every problem is listed with its position (line and column 0 for the file as a whole).</exception>
    public static ReclaimConfig Load(string path, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var fullPath = Path.GetFullPath(path);
        var text = ReadFile(fullPath);
        var errors = new List<ConfigError>();
        var variables = Variables(fullPath, environment, errors);
        var root = Parse(fullPath, text, errors);
        ReclaimConfig? config = null;
        if (root is not null)
        {
            var reader = new ConfigReader(fullPath, variables);
            config = new ConfigBinder(reader, fullPath).Bind(root);
            errors.AddRange(reader.Errors);
        }

        if (errors.Count > 0 || config is null)
        {
            throw new ConfigException([.. errors.Distinct().OrderBy(e => e.Location.File, StringComparer.Ordinal).ThenBy(e => e.Location.Line).ThenBy(e => e.Location.Column)]);
        }

        return config;
    }

    private static string ReadFile(string path)
    {
        static ConfigException Whole(string path, string message) => new([new ConfigError(new ConfigLocation(path, 0, 0), message)]);

        if (Directory.Exists(path))
        {
            throw Whole(path, "this is a folder, not a config file: pass the file's path, for example -c ./reclaim.yaml");
        }

        if (!File.Exists(path))
        {
            throw Whole(path, "config file not found: pass its path with -c PATH, or run 'reclaim demo' to see an example");
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Whole(path, $"the config file cannot be read: {e.Message}");
        }
    }

    /// <summary>How <c>${NAME}</c> finds values; see <see cref="Load"/>.</summary>
    private static Func<string, string?> Variables(string configPath, IReadOnlyDictionary<string, string?>? environment, List<ConfigError> errors)
    {
        var envFile = Path.Join(Path.GetDirectoryName(configPath), EnvFileName);
        var fileValues = new Dictionary<string, string>(StringComparer.Ordinal);
        if (File.Exists(envFile))
        {
            try
            {
                // Load is lazy in part: enumerate it so the process variables are set (or the values read) now.
                foreach (var (name, value) in (environment is null ? Env.NoClobber() : Env.NoEnvVars()).Load(envFile))
                {
                    fileValues[name] = value;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                errors.Add(EnvFileError(envFile, e));
            }
        }

        if (environment is null)
        {
            return Environment.GetEnvironmentVariable;
        }

        return name => environment.TryGetValue(name, out var value) && value is not null ? value : fileValues.GetValueOrDefault(name);
    }

    /// <summary>DotNetEnv reports parse failures as Sprache messages ending in "(Line L, Column C); recently consumed: ...".</summary>
    private static ConfigError EnvFileError(string envFile, Exception e)
    {
        var match = SpracheLocation().Match(e.Message);
        var detail = match.Success ? e.Message[..match.Index].Replace("Parsing failure: ", string.Empty, StringComparison.Ordinal).Trim() : e.Message;
        var location = match.Success
            ? new ConfigLocation(envFile, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture))
            : new ConfigLocation(envFile, 0, 0);
        return new ConfigError(location, $"the .env file is not a list of NAME=value lines: {detail}");
    }

    private static YamlNode? Parse(string path, string text, List<ConfigError> errors)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            errors.Add(SyntaxError(path, text, e));
            return null;
        }

        if (stream.Documents.Count == 0)
        {
            errors.Add(new ConfigError(new ConfigLocation(path, 1, 1), "the config file is empty: start with 'version: 1', then stores:, catalogs: and policies:"));
            return null;
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode;
            errors.Add(new ConfigError(new ConfigLocation(path, (int)second.Start.Line, (int)second.Start.Column),
                "the file holds more than one YAML document ('---'): a config is one document"));
            return null;
        }

        return stream.Documents[0].RootNode;
    }

    /// <summary>
    /// A syntax error at YamlDotNet's position, with two repairs: a duplicate key gets a plain message, and a tab
    /// used for indentation is reported at the tab (YamlDotNet reports the start of the mapping it was scanning).
    /// </summary>
    private static ConfigError SyntaxError(string path, string text, YamlException e)
    {
        var line = (int)e.Start.Line;
        var column = (int)e.Start.Column;
        var message = $"YAML syntax error: {e.Message}";
        if (e.Message.StartsWith("Duplicate key ", StringComparison.Ordinal))
        {
            message = $"duplicate key '{e.Message["Duplicate key ".Length..]}': a key may appear once in a mapping";
        }
        else if (e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase))
        {
            var lines = text.Split('\n');
            for (var i = Math.Max(line - 1, 0); i < lines.Length; i++)
            {
                var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
                var tab = lines[i].IndexOf('\t', 0, indent);
                if (tab >= 0)
                {
                    (line, column) = (i + 1, tab + 1);
                    message = "a tab is used for indentation: YAML indents with spaces only";
                    break;
                }
            }
        }

        return new ConfigError(new ConfigLocation(path, line, column), message);
    }

    [GeneratedRegex(@"\(Line (\d+), Column (\d+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex SpracheLocation();
}
