using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using Reclaim.Core.Layouts;
using Reclaim.Core.Planning;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Writes what a plan proposes as CSV (<c>reclaim plan --export orphans.csv</c>): one line per object, so that a team
/// can re-link objects to rows instead of deleting them. RFC 4180 (comma-separated, CRLF line ends, a field with a
/// comma, quote or line break quoted with its quotes doubled), UTF-8 without a byte-order mark, written by CsvHelper.
/// </summary>
/// <remarks>
/// Columns: <c>policy</c>, <c>store</c>, <c>group</c> (the group key, or <c>row …</c> for a records policy),
/// <c>key</c>, <c>size</c> (bytes), <c>last_modified</c> (ISO 8601 UTC, <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c> trimmed to
/// whole seconds when it has no fraction), then one column per layout variable of the exported policies, in order of
/// first appearance (a policy without that variable leaves it empty). Lines follow the plan: policies in plan order,
/// groups and objects in key order. The file is written from the plan's own groups as it goes (nothing is copied or
/// sorted first), to a temporary file beside it that replaces it once complete.
/// </remarks>
public static class OrphanExport
{
    /// <summary>The fixed columns, before the layout variables'.</summary>
    public static IReadOnlyList<string> FixedColumns { get; } = ["policy", "store", "group", "key", "size", "last_modified"];

    /// <summary>Writes the plan's proposed objects to <paramref name="path"/> (replaced).</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="path">The CSV file; its folder is created when missing.</param>
    /// <param name="cancellationToken">Cancels the write (the file is then left as it was).</param>
    /// <returns>How many object lines were written.</returns>
    /// <exception cref="IOException">The file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The file or its folder is not writable.</exception>
    public static async Task<long> WriteAsync(Plan plan, string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = full + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            long lines;
            await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                lines = await WriteAsync(plan, stream, cancellationToken);
            }

            File.Move(temporary, full, overwrite: true);
            return lines;
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Writes the plan's proposed objects as CSV to <paramref name="stream"/> (left open).</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="stream">A writable stream.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>How many object lines were written (the header not counted).</returns>
    public static async Task<long> WriteAsync(Plan plan, Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var layouts = plan.Policies.ToDictionary(p => p.Policy, p => Layout.TryParse(p.Layout ?? string.Empty, out var layout, out _) ? layout : null, StringComparer.Ordinal);
        var variables = new List<string>();
        foreach (var layout in layouts.Values)
        {
            foreach (var variable in layout?.Variables ?? [])
            {
                if (!variables.Contains(variable, StringComparer.Ordinal))
                {
                    variables.Add(variable);
                }
            }
        }

        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture) { NewLine = "\r\n", Encoding = new UTF8Encoding(false) };
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        await using var csv = new CsvWriter(writer, configuration);
        foreach (var column in FixedColumns.Concat(variables))
        {
            csv.WriteField(column);
        }

        await csv.NextRecordAsync();
        long lines = 0;
        var values = new string?[variables.Count];
        foreach (var policy in plan.Policies)
        {
            var layout = layouts[policy.Policy];
            var positions = layout is null ? [] : layout.Variables.Select(v => variables.IndexOf(v)).ToArray();
            foreach (var group in policy.Groups)
            {
                Array.Clear(values);
                for (var i = 0; i < positions.Length && i < group.Values.Length; i++)
                {
                    values[positions[i]] = group.Values[i];
                }

                foreach (var item in group.Objects)
                {
                    WriteObject(csv, policy, group.GroupKey, item, values);
                    lines++;
                    if (lines % 4096 == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        await csv.FlushAsync();
                    }
                }
            }

            Array.Clear(values);
            foreach (var row in policy.Rows)
            {
                var label = "row " + RecordsPlanner.Label(row.Columns);
                foreach (var item in row.Objects)
                {
                    WriteObject(csv, policy, label, item, values);
                    lines++;
                }
            }
        }

        await csv.FlushAsync();
        return lines;

        static void WriteObject(CsvWriter csv, PolicyPlan policy, string group, Core.Storage.StoredObject item, string?[] values)
        {
            csv.WriteField(policy.Policy);
            csv.WriteField(policy.Store);
            csv.WriteField(group);
            csv.WriteField(item.Key);
            csv.WriteField(item.Size.ToString(CultureInfo.InvariantCulture));
            csv.WriteField(Time(item.LastModified));
            foreach (var value in values)
            {
                csv.WriteField(value ?? string.Empty);
            }

            csv.NextRecord();
        }
    }

    /// <summary>A time as ISO 8601 UTC: whole seconds when it has no fraction, otherwise with its ticks.</summary>
    /// <param name="time">The time.</param>
    /// <returns>For example <c>2026-06-01T12:00:00Z</c>.</returns>
    public static string Time(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return utc.ToString(utc.Ticks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
    }
}
