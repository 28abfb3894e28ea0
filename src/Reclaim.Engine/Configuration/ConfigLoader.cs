using System.Text.RegularExpressions;
using DotNetEnv;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// Loads <c>reclaim.yaml</c> (docs/configuration.md): the <c>.env</c> file beside it, then the YAML, then
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

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Whole(path, $"the config file cannot be read: {e.Message}");
        }

        return ConfigText.Decode(path, bytes, out var error) ?? throw new ConfigException([error!]);
    }

    /// <summary>How <c>${NAME}</c> finds values; see <see cref="Load"/>.</summary>
    private static Func<string, string?> Variables(string configPath, IReadOnlyDictionary<string, string?>? environment, List<ConfigError> errors)
    {
        var envFile = Path.Join(Path.GetDirectoryName(configPath), EnvFileName);
        var fileValues = new Dictionary<string, string>(StringComparer.Ordinal);
        if (File.Exists(envFile) && CheckEnvFile(envFile, errors))
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

    /// <summary>Whether the <c>.env</c> file is readable UTF-8 text; its problem is added to <paramref name="errors"/> when not.</summary>
    private static bool CheckEnvFile(string envFile, List<ConfigError> errors)
    {
        try
        {
            if (ConfigText.Decode(envFile, File.ReadAllBytes(envFile), out var error) is null)
            {
                errors.Add(error!);
                return false;
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add(new ConfigError(new ConfigLocation(envFile, 0, 0), $"the .env file cannot be read: {e.Message}"));
            return false;
        }
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
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or IndexOutOfRangeException)
        {
            // YamlDotNet's scanner fails this way on some malformed input (a flow collection left open across lines);
            // what it was reading is found again by walking the events up to the failure.
            errors.Add(ParserFailure(path, text, e));
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
    /// Where YAML parsing stopped, for a failure YamlDotNet reports without a position: the innermost flow mapping
    /// (<c>{</c>) or sequence (<c>[</c>) still open there, or else the last event read.
    /// </summary>
    private static ConfigError ParserFailure(string path, string text, Exception failure)
    {
        var (open, last) = OpenFlowCollection(text);
        if (open is { } collection)
        {
            var (what, close) = collection.Mapping ? ("flow mapping", '}') : ("flow sequence", ']');
            return new ConfigError(new ConfigLocation(path, (int)collection.Start.Line, (int)collection.Start.Column),
                $"YAML syntax error: the {what} opened here with '{(collection.Mapping ? '{' : '[')}' is not closed: end it with '{close}' " +
                $"(its items are separated by ','; a value on the next lines belongs inside it until the '{close}')");
        }

        return new ConfigError(new ConfigLocation(path, (int)last.Line, (int)last.Column), $"YAML syntax error after this point: {failure.Message}");
    }

    /// <summary>Walks the parser's events up to the first failure: the innermost flow collection still open then, and the end of the last event read.</summary>
    private static ((bool Mapping, Mark Start)? Open, Mark Last) OpenFlowCollection(string text)
    {
        // Every collection open at the failure, innermost on top, with whether it is a flow one.
        var open = new Stack<(bool Flow, bool Mapping, Mark Start)>();
        var last = Mark.Empty;
        var parser = new Parser(new StringReader(text));
        try
        {
            while (parser.MoveNext())
            {
                var current = parser.Current!;
                last = current.End;
                switch (current)
                {
                    case MappingStart mapping:
                        open.Push((mapping.Style == MappingStyle.Flow, true, current.Start));
                        break;
                    case SequenceStart sequence:
                        open.Push((sequence.Style == SequenceStyle.Flow, false, current.Start));
                        break;
                    case MappingEnd or SequenceEnd when open.Count > 0:
                        open.Pop();
                        break;
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The failure itself: the state up to it is what is wanted.
        }

        foreach (var (flow, mapping, start) in open)
        {
            if (flow)
            {
                return ((mapping, start), last);
            }
        }

        return (null, last);
    }

    /// <summary>Where the first alias <c>*name</c> stands, or <see langword="null"/>.</summary>
    private static Mark? AliasStart(string text, string name)
    {
        var parser = new Parser(new StringReader(text));
        try
        {
            while (parser.MoveNext())
            {
                if (parser.Current is AnchorAlias alias && string.Equals(alias.Value.Value, name, StringComparison.Ordinal))
                {
                    return alias.Start;
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Another error comes first; the document's start is then as good a place as any.
        }

        return null;
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
        else if (e is AnchorNotFoundException && Quoted().Match(e.Message) is { Success: true } anchor)
        {
            var name = anchor.Groups[1].Value;
            message = $"the alias '*{name}' names no anchor: mark a value with '&{name}' before it (an alias can only repeat an anchor defined earlier in the file)";

            // YamlDotNet resolves aliases once the document is read and reports the document's start: find the alias.
            if (AliasStart(text, name) is { } alias)
            {
                (line, column) = ((int)alias.Line, (int)alias.Column);
            }
        }
        else if (e.Message.Contains("flow mapping", StringComparison.Ordinal) || e.Message.Contains("flow sequence", StringComparison.Ordinal))
        {
            if (OpenFlowCollection(text).Open is { } open)
            {
                message += $" (the flow {(open.Mapping ? "mapping opened with '{'" : "sequence opened with '['")} at line {open.Start.Line}, column {open.Start.Column} is not closed here)";
            }
        }
        else if (e.Message.Contains("quoted scalar", StringComparison.Ordinal))
        {
            message += " (is a quoted value left open? end it with the quote it starts with)";
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

    [GeneratedRegex("'([^']*)'", RegexOptions.CultureInvariant)]
    private static partial Regex Quoted();

    [GeneratedRegex(@"\(Line (\d+), Column (\d+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex SpracheLocation();
}
