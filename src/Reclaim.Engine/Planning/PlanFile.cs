using System.Text.Json;
using System.Text.Json.Serialization;
using Reclaim.Core.Planning;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Reads and writes plan files (JSON, snake_case keys, enums as lower-case strings, times ISO 8601 UTC). The
/// format is documented in <c>docs/json.md</c>; <see cref="Plan.FormatVersion"/> is its version.
/// </summary>
public static class PlanFile
{
    /// <summary>The JSON options used for plans, runs and every <c>--format json</c> output.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Writes a plan.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="path">The file to write (replaced).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public static async Task WriteAsync(Plan plan, string path, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, new PlanDocument(Plan.FormatVersion, plan), Options, cancellationToken);
    }

    /// <summary>Reads a plan.</summary>
    /// <param name="path">The plan file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="PlanFileException">The file is missing, not JSON, of another version, or not a plan.</exception>
    public static async Task<Plan> ReadAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new PlanFileException($"{path}: no such plan file");
        }

        try
        {
            await using var stream = File.OpenRead(path);
            var document = await JsonSerializer.DeserializeAsync<PlanDocument>(stream, Options, cancellationToken);
            if (document?.Plan is null)
            {
                throw new PlanFileException($"{path}: not a plan file");
            }

            if (document.FormatVersion != Plan.FormatVersion)
            {
                throw new PlanFileException($"{path}: plan format {document.FormatVersion} is not supported (this Reclaim reads {Plan.FormatVersion})");
            }

            return document.Plan;
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $":{line + 1}:{(e.BytePositionInLine ?? 0) + 1}" : string.Empty;
            throw new PlanFileException($"{path}{where}: not a valid plan file: {e.Message}");
        }
    }

    private sealed record PlanDocument(int FormatVersion, Plan Plan);
}

/// <summary>A plan file cannot be used (exit code 2).</summary>
/// <param name="message">What is wrong.</param>
public sealed class PlanFileException(string message) : Exception(message);
