#!/usr/bin/env python3
"""Source and runtime-config variants for bench/ab-micro-optimisations.sh: each takes one micro-optimisation out.

  ab-micro-optimisations.py source NAME TREE     rewrite the source tree TREE (a copy of the base commit) without NAME
  ab-micro-optimisations.py runtime NAME FILE    rewrite a published reclaim.runtimeconfig.json without NAME
  ab-micro-optimisations.py list                 the variants, one "kind name" a line

Every rewrite is an exact text replacement that must match once, so a base commit the variants do not fit fails
loudly instead of measuring something else. The texts are those of commit cf7f088.
"""
import json
import re
import sys

AGGRESSIVE = "[MethodImpl(MethodImplOptions.AggressiveOptimization)]"


def replace(tree, path, old, new, count=1):
    full = f"{tree}/{path}"
    text = open(full, encoding="utf-8").read()
    found = text.count(old)
    if found != count:
        sys.exit(f"{path}: expected {count} of {old!r}, found {found}")
    open(full, "w", encoding="utf-8").write(text.replace(old, new))


def no_sqlite_direct(tree):
    """The reference read steps the statement through SQLitePCLRaw's calls (a SafeHandle and a GC transition per call)."""
    path = "src/Reclaim.Data/Catalogs/SqliteCatalog.cs"
    replace(tree, path, "ReadRows(statement.DangerousGetHandle(), layout", "ReadRows(statement, layout")
    replace(tree, path, "ReadRows(nint statement, Layout layout", "ReadRows(sqlite3_stmt statement, Layout layout")
    replace(tree, path, "(rc = SqliteRows.Step(statement))", "(rc = raw.sqlite3_step(statement))")
    replace(tree, path, """                var text = SqliteRows.ColumnText(statement, column);
                nulls[column] = text == 0;
                if (text == 0)""", """                var isNull = raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL;
                nulls[column] = isNull;
                if (isNull)""")
    replace(tree, path, "var bytes = new ReadOnlySpan<byte>((void*)text, SqliteRows.ColumnBytes(statement, column));",
            "var bytes = raw.sqlite3_column_blob(statement, column);")


def no_packed_sort(tree):
    """A folder's entries are sorted with a comparison sort of their names (no 64-bit sort keys)."""
    path = "src/Reclaim.Stores/FileSystem/FileSystemStore.Listing.cs"
    full = f"{tree}/{path}"
    text = open(full, encoding="utf-8").read()
    pattern = re.compile(r"(        private void Sort\(\)\n        \{\n).*?(\n        \}\n\n        private ReadOnlySpan<char> Entry)", re.S)
    body = """            if (_order.Length < _count)
            {
                _order = new int[_ends.Length];
            }

            for (var i = 0; i < _count; i++)
            {
                _order[i] = i;
            }

            Array.Sort(_order, 0, _count, this);"""
    text, n = pattern.subn(lambda m: m.group(1) + body + m.group(2), text)
    if n != 1:
        sys.exit(f"{path}: Sort() not found")
    open(full, "w", encoding="utf-8").write(text)


def no_pinned_batches(tree):
    """Listing batches are ordinary arrays (generation 0 first) instead of arrays on the pinned object heap."""
    path = "src/Reclaim.Core/Storage/KeyBatch.cs"
    replace(tree, path, "_ends = GC.AllocateUninitializedArray<int>(capacity, pinned: true);", "_ends = new int[capacity];")
    replace(tree, path, "_chars = GC.AllocateUninitializedArray<char>(capacity * charsPerKey, pinned: true);", "_chars = new char[capacity * charsPerKey];")
    replace(tree, path, "var larger = GC.AllocateUninitializedArray<char>(Math.Max(end, _chars.Length * 2), pinned: true);", "var larger = new char[Math.Max(end, _chars.Length * 2)];")
    path = "src/Reclaim.Engine/Planning/OrphanPlanner.cs"
    replace(tree, path, "GC.AllocateUninitializedArray<int>(keys.Capacity, pinned: true);", "new int[keys.Capacity];")
    replace(tree, path, "GC.AllocateArray<bool>(keys.Capacity, pinned: true);", "new bool[keys.Capacity];")
    replace(tree, path, "GC.AllocateUninitializedArray<ulong>(keys.Capacity, pinned: true);", "new ulong[keys.Capacity];")
    replace(tree, path, "GC.AllocateUninitializedArray<bool>(keys.Capacity, pinned: true);", "new bool[keys.Capacity];")


def no_warmup(tree):
    """No warm-up thread for the YAML parser and SQLite at start."""
    replace(tree, "src/Reclaim.Cli/Program.cs", "StartupWarmup.Start();\n", "")


def no_gc_region(tree):
    """Plans run with collections as usual (no GC.TryStartNoGCRegion)."""
    replace(tree, "src/Reclaim.Cli/PlanningCollectionPause.cs", "_started = GC.TryStartNoGCRegion(Budget);", "_started = false;")


def no_aggressive_optimization(tree):
    """No [MethodImpl(AggressiveOptimization)]: the hot loops start on ReadyToRun code and tier up as usual."""
    for path, count in [("src/Reclaim.Stores/FileSystem/FileSystemStore.Listing.cs", 1), ("src/Reclaim.Core/References/ReferenceSet.cs", 2),
                        ("src/Reclaim.Data/Catalogs/SqliteCatalog.cs", 1), ("src/Reclaim.Engine/Planning/OrphanPlanner.cs", 2)]:
        full = f"{tree}/{path}"
        text = open(full, encoding="utf-8").read()
        text, n = re.subn(r"\n[ \t]*" + re.escape(AGGRESSIVE), "", text)
        if n != count:
            sys.exit(f"{path}: expected {count} attributes, found {n}")
        open(full, "w", encoding="utf-8").write(text)


SOURCE = {
    "no-sqlite-direct": no_sqlite_direct,
    "no-packed-sort": no_packed_sort,
    "no-pinned-batches": no_pinned_batches,
    "no-warmup": no_warmup,
    "no-gc-region": no_gc_region,
    "no-aggressive-opt": no_aggressive_optimization,
}

# Runtime settings the base build's reclaim.runtimeconfig.json carries, and the runtime's default for each.
RUNTIME = {
    "concurrent-gc": {"System.GC.Concurrent": True},
    "tiered-pgo": {"System.Runtime.TieredPGO": None},
    "spin-default": {"System.Threading.ThreadPool.UnfairSemaphoreSpinLimit": None},
}
RUNTIME["runtime-defaults"] = {k: v for d in RUNTIME.values() for k, v in d.items()}


def runtime(name, path):
    config = json.load(open(path, encoding="utf-8"))
    properties = config["runtimeOptions"].setdefault("configProperties", {})
    for key, value in RUNTIME[name].items():
        if value is None:
            properties.pop(key, None)
        else:
            properties[key] = value
    json.dump(config, open(path, "w", encoding="utf-8"), indent=2)


if __name__ == "__main__":
    if sys.argv[1:2] == ["list"]:
        for name in SOURCE:
            print("source", name)
        for name in RUNTIME:
            print("runtime", name)
    elif sys.argv[1] == "source":
        SOURCE[sys.argv[2]](sys.argv[3])
    elif sys.argv[1] == "runtime":
        runtime(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
