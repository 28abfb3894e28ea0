using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Reclaim.Data.Catalogs;

/// <summary>
/// The SQLite C functions a reference read calls for every row (<c>sqlite3_step</c>, <c>sqlite3_column_text</c>,
/// <c>sqlite3_column_bytes</c>), bound to the same native library SQLitePCLRaw loads (<c>e_sqlite3</c>) but called
/// with the raw statement pointer. SQLitePCLRaw's calls each take and release a reference on the statement's
/// SafeHandle and switch the thread's GC mode; over a million rows that costs as much as SQLite's own work.
/// </summary>
/// <remarks>
/// The statement is prepared, owned and finalized by SQLitePCLRaw; callers hold a reference on its handle
/// (<see cref="SafeHandle.DangerousAddRef"/>) while they step it. The column accessors neither block nor call back
/// into the runtime, so they skip the GC transition (<see cref="SuppressGCTransitionAttribute"/>); the statement's
/// connection is used by one thread at a time, so the connection mutex they take is never contended.
/// See https://www.sqlite.org/c3ref/column_blob.html for the calls' contract (text before bytes).
/// </remarks>
internal static partial class SqliteRows
{
    private const string Library = "e_sqlite3";

    /// <summary><c>sqlite3_step</c>: advances to the next row.</summary>
    /// <param name="statement">A prepared <c>sqlite3_stmt*</c>.</param>
    /// <returns><c>SQLITE_ROW</c> (100) for a row, <c>SQLITE_DONE</c> (101) at the end, another code on error.</returns>
    [LibraryImport(Library, EntryPoint = "sqlite3_step")]
    internal static partial int Step(nint statement);

    /// <summary><c>sqlite3_column_text</c>: a column's value as UTF-8 text, valid until the next step.</summary>
    /// <param name="statement">A statement on a row.</param>
    /// <param name="column">The column, from 0.</param>
    /// <returns>A pointer to the text, or 0 for SQL NULL.</returns>
    [LibraryImport(Library, EntryPoint = "sqlite3_column_text")]
    [SuppressGCTransition]
    internal static partial nint ColumnText(nint statement, int column);

    /// <summary><c>sqlite3_column_bytes</c>: the length in bytes of the text <see cref="ColumnText"/> returned.</summary>
    /// <param name="statement">A statement on a row.</param>
    /// <param name="column">The column, from 0.</param>
    /// <returns>The length in bytes, without a terminator.</returns>
    [LibraryImport(Library, EntryPoint = "sqlite3_column_bytes")]
    [SuppressGCTransition]
    internal static partial int ColumnBytes(nint statement, int column);
}
