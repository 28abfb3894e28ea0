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
    /// <remarks>
    /// The file is read as a stream: each policy's first <see cref="LayoutPlanner.DefaultGroupsInMemory"/> groups (a
    /// records policy's first <see cref="RecordsPlanner.DefaultRowsInMemory"/> rows) are held in memory and the rest
    /// spooled to a temporary file, as the planners hold them, so reading a plan of millions of groups or rows takes
    /// about the memory of a plan of a few thousand.
    /// </remarks>
    /// <exception cref="PlanFileException">The file is missing, not JSON, of another version, or not a plan.</exception>
    public static Task<Plan> ReadAsync(string path, CancellationToken cancellationToken) =>
        ReadAsync(path, Path.GetTempPath(), LayoutPlanner.DefaultGroupsInMemory, RecordsPlanner.CurrentRowsInMemory, cancellationToken);

    /// <summary>Reads a plan, spooling each policy's groups, and rows, beyond the first <paramref name="inMemory"/> to <paramref name="spillDirectory"/>.</summary>
    internal static Task<Plan> ReadAsync(string path, string spillDirectory, int inMemory, CancellationToken cancellationToken) =>
        ReadAsync(path, spillDirectory, inMemory, inMemory, cancellationToken);

    /// <summary>
    /// Reads a plan, spooling each policy's groups beyond the first <paramref name="groupsInMemory"/> (rows beyond the
    /// first <paramref name="rowsInMemory"/>) to <paramref name="spillDirectory"/>.
    /// </summary>
    internal static async Task<Plan> ReadAsync(string path, string spillDirectory, int groupsInMemory, int rowsInMemory, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new PlanFileException($"{path}: no such plan file");
        }

        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            var (version, hasPlan, plan) = await Task.Run(() => new PlanFileReader(stream, Options, spillDirectory, groupsInMemory, rowsInMemory).Read(cancellationToken), cancellationToken);
            if (!hasPlan)
            {
                throw new PlanFileException($"{path}: not a plan file");
            }

            if (version != Plan.FormatVersion || plan is null)
            {
                throw new PlanFileException($"{path}: plan format {version} is not supported (this Reclaim reads {Plan.FormatVersion})");
            }

            return plan;
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $":{line + 1}:{(e.BytePositionInLine ?? 0) + 1}" : string.Empty;
            throw new PlanFileException($"{path}{where}: not a valid plan file: {e.Message}");
        }
    }

    /// <summary>Reads a plan whole, as <see cref="JsonSerializer"/> reads it: the reference the streamed read is tested against.</summary>
    internal static async Task<Plan?> ReadWholeAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        return (await JsonSerializer.DeserializeAsync<PlanDocument>(stream, Options, cancellationToken))?.Plan;
    }

    private sealed record PlanDocument(int FormatVersion, Plan Plan);
}

/// <summary>A plan file cannot be used (exit code 2).</summary>
/// <param name="message">What is wrong.</param>
public sealed class PlanFileException(string message) : Exception(message);
