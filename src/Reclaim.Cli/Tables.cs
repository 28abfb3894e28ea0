using Spectre.Console;
using Spectre.Console.Rendering;

namespace Reclaim.Cli;

/// <summary>How a column's cells may give way when the terminal is narrow.</summary>
internal enum ColumnKind
{
    /// <summary>A name, a status, a time: never wrapped or cut.</summary>
    Name,

    /// <summary>A count or a size: never wrapped, right-aligned.</summary>
    Number,

    /// <summary>A key or a path: never wrapped or cut; in the list form, on a line of its own.</summary>
    Long,

    /// <summary>Sentences (a reason, a summary): wrap at spaces, down to <see cref="Tables.ProseMinWidth"/> columns.</summary>
    Prose,
}

/// <summary>A column: its header and how a row reads in it (Spectre markup, already escaped; lines split by <c>\n</c>).</summary>
/// <typeparam name="T">The row type.</typeparam>
/// <param name="Header">The header (plain text; <c>\n</c> stacks it).</param>
/// <param name="Cell">The cell of a row.</param>
/// <param name="Kind">How the cells may give way.</param>
internal sealed record Column<T>(string Header, Func<T, string> Cell, ColumnKind Kind = ColumnKind.Name);

/// <summary>One way of showing a table: its columns, and what it leaves out compared to the widest way.</summary>
/// <typeparam name="T">The row type.</typeparam>
/// <param name="Columns">The columns, left to right.</param>
/// <param name="LeftOut">What this layout does not show (for a note under the table), or <see langword="null"/>.</param>
internal sealed record Layout<T>(IReadOnlyList<Column<T>> Columns, string? LeftOut = null);

/// <summary>
/// Tables that fit the terminal's width: of the layouts a table offers (widest first: columns stacked into
/// one another, then dropped), the first whose cells fit without wrapping a name, a key or a number is drawn;
/// when none fits, each row is printed as a few lines instead, by the narrowest layout's columns (names first,
/// then each key on its own line, then the sentences), so a policy name or a run id is never cut or split.
/// </summary>
internal static class Tables
{
    /// <summary>The narrowest a sentence column is allowed to become, in terminal columns.</summary>
    public const int ProseMinWidth = 20;

    /// <summary>Writes <paramref name="rows"/> in the first of <paramref name="layouts"/> that fits <paramref name="console"/>'s width.</summary>
    /// <typeparam name="T">The row type.</typeparam>
    /// <param name="console">Where to write; its <see cref="Profile.Width"/> is the width to fit.</param>
    /// <param name="rows">The rows.</param>
    /// <param name="layouts">The layouts, widest first; the last one's columns are what the list form shows.</param>
    /// <returns>The index of the layout drawn, or -1 for the list form.</returns>
    public static int Write<T>(IAnsiConsole console, IReadOnlyList<T> rows, params IReadOnlyList<Layout<T>> layouts)
    {
        var width = console.Profile.Width;
        for (var index = 0; index < layouts.Count; index++)
        {
            var layout = layouts[index];
            if (RequiredWidth(layout.Columns, rows) <= width)
            {
                console.Write(Table(layout.Columns, rows));
                if (layout.LeftOut is { } leftOut)
                {
                    console.MarkupLine($"[grey]not shown at {width} columns: {Markup.Escape(leftOut)} (--format json has them)[/]");
                }

                return index;
            }
        }

        WriteList(console, layouts[^1].Columns, rows);
        return -1;
    }

    /// <summary>
    /// The width a table of these columns needs, in terminal columns: each column's widest line (a sentence
    /// column at most <see cref="ProseMinWidth"/>, or its longest word if longer), one space either side, and a
    /// border between and around the columns.
    /// </summary>
    /// <typeparam name="T">The row type.</typeparam>
    /// <param name="columns">The columns.</param>
    /// <param name="rows">The rows.</param>
    /// <returns>The width.</returns>
    public static int RequiredWidth<T>(IReadOnlyList<Column<T>> columns, IReadOnlyList<T> rows)
    {
        var total = columns.Count + 1;
        foreach (var column in columns)
        {
            var lines = rows.SelectMany(r => Lines(column.Cell(r))).Concat(column.Header.Split('\n').Select(Markup.Escape));
            int widest;
            if (column.Kind == ColumnKind.Prose)
            {
                var longestWord = lines.SelectMany(l => Markup.Remove(l).Split(' ')).Select(CellWidth).DefaultIfEmpty(0).Max();
                widest = Math.Max(longestWord, Math.Min(ProseMinWidth, lines.Select(Width).DefaultIfEmpty(0).Max()));
            }
            else
            {
                widest = lines.Select(Width).DefaultIfEmpty(0).Max();
            }

            total += widest + 2;
        }

        return total;
    }

    private static Table Table<T>(IReadOnlyList<Column<T>> columns, IReadOnlyList<T> rows)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            var header = new TableColumn(new Markup(Markup.Escape(column.Header)));
            if (column.Kind != ColumnKind.Prose)
            {
                header.NoWrap();
            }

            if (column.Kind == ColumnKind.Number)
            {
                header.RightAligned();
            }

            table.AddColumn(header);
        }

        foreach (var row in rows)
        {
            table.AddRow(columns.Select(c => (IRenderable)new Markup(c.Cell(row))).ToArray());
        }

        return table;
    }

    /// <summary>The list form: per row, the names and numbers on one line, then each key, then the sentences, indented.</summary>
    private static void WriteList<T>(IAnsiConsole console, IReadOnlyList<Column<T>> columns, IReadOnlyList<T> rows)
    {
        foreach (var row in rows)
        {
            var first = columns.Where(c => c.Kind is ColumnKind.Name or ColumnKind.Number)
                .SelectMany(c => Lines(c.Cell(row))).Where(l => l.Length > 0);
            console.Write(new Markup(string.Join("  ", first) + "\n"));
            foreach (var column in columns.Where(c => c.Kind == ColumnKind.Long))
            {
                foreach (var line in Lines(column.Cell(row)).Where(l => l.Length > 0))
                {
                    // Written whole: a key longer than the terminal is wrapped by the terminal, never split by Reclaim.
                    console.Profile.Out.Writer.WriteLine("    " + Markup.Remove(line));
                }
            }

            foreach (var column in columns.Where(c => c.Kind == ColumnKind.Prose))
            {
                var text = column.Cell(row);
                if (text.Length > 0)
                {
                    console.Write(new Padder(new Markup(text), new Padding(4, 0, 0, 0)));
                }
            }
        }
    }

    private static IEnumerable<string> Lines(string cell) => cell.Split('\n');

    private static int Width(string markupLine) => CellWidth(Markup.Remove(markupLine));

    private static int CellWidth(string text) => new Segment(text).CellCount();
}
