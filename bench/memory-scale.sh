#!/usr/bin/env bash
# Benchmark: peak RSS and time of planning a layout policy at 1M, 4M and 16M objects, per-object and folder layouts,
# against a PostgreSQL catalog with one row per group (95 % of them naming a listed group, 5 % a missing one, so 5 % of
# the groups are orphans), the plan file written (-o). Each case runs twice in the same invocation:
#   spilled:   the planner as it runs (references beyond 2M fingerprints joined by partitions on disk, proposed
#              groups beyond 4096 spooled to disk);
#   in-memory: the same planner told to hold everything (the join and plan before spilling), as the baseline.
# The listing is generated (bench/MemoryScale: keys in key order, every object two days old): a folder of 16M files
# needs more inodes than this machine's disk has, and the listing source is not what is measured.
# Peak RSS is GNU time's %M. Usage: bench/memory-scale.sh [N...]   (default 1000000 4000000 16000000)
# PostgreSQL: BENCH_PG (a connection string), or one is started with scripts/test-services.sh.
# Results: bench/results/memory-scale.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 4000000 16000000)
work="${BENCH_WORK:-$here/bench/work}/memory-scale"
mkdir -p "$work"
export TMPDIR="$work/tmp"; mkdir -p "$TMPDIR"

if [ -z "${BENCH_PG:-}" ]; then
  eval "$("$here/scripts/test-services.sh" start "$work/svc")"
  trap '"$here/scripts/test-services.sh" stop "$work/svc" >/dev/null 2>&1 || true' EXIT
  BENCH_PG="$RECLAIM_TEST_PG"
fi
psql_bin="${RECLAIM_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}/psql"
pg_port=$(sed -n 's/.*Port=\([0-9]*\).*/\1/p' <<<"$BENCH_PG")
psql() { "$psql_bin" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 "$@"; }

dotnet build "$here/bench/MemoryScale" -c Release -clp:ErrorsOnly >/dev/null
harness="$here/bench/MemoryScale/bin/Release/net10.0/MemoryScale"

rows=()
for layout in object folder; do
  for n in "${sizes[@]}"; do
    table="refs_${layout}_$n"
    if [ "$(psql -tAc "SELECT to_regclass('$table') IS NOT NULL")" != t ]; then
      echo "building $table ..." >&2
      if [ "$layout" = object ]; then
        psql -c "CREATE UNLOGGED TABLE $table AS SELECT lpad((i % 1000)::text, 3, '0') AS shard,
                   CASE WHEN i % 20 = 0 THEN 'missing-' ELSE '' END || lpad(i::text, 9, '0') || '.bin' AS name
                 FROM generate_series(0, $n - 1) AS i"
      else
        psql -c "CREATE UNLOGGED TABLE $table AS SELECT lpad((a % 100)::text, 3, '0') AS org,
                   CASE WHEN a % 20 = 0 THEN 'missing-' ELSE '' END || lpad(a::text, 9, '0') AS asset
                 FROM generate_series(0, $n / 4 - 1) AS a"
      fi
    fi
    for mode in spilled in-memory; do
      flag=(); [ "$mode" = in-memory ] && flag=(--in-memory)
      out=$( { /usr/bin/time -f "TIME %e %M" "$harness" --objects "$n" --layout "$layout" --pg "$BENCH_PG" --table "$table" \
               --out "$work/plan.json" "${flag[@]}" 2>"$work/timing.txt"; } 2>&1 )
      time_line=$(grep '^TIME' <<<"$out" || sed -n 's/^TIME/TIME/p' "$work/timing.txt")
      [ -n "$time_line" ] || time_line=$(grep '^TIME' "$work/timing.txt")
      read -r _ secs rss <<<"$time_line"
      totals=$(grep '^objects' <<<"$out")
      echo "$layout N=$n $mode: ${secs}s $((rss / 1024)) MB — $totals" >&2
      grep -v '^TIME' "$work/timing.txt" | sed 's/^/    /' >&2 || true
      rows+=("| $layout | $n | $mode | $secs | $((rss / 1024)) | $totals |")
    done
  done
done

{
  echo "| layout | objects | planner | time (s) | peak RSS (MB) | totals |"
  echo "| --- | ---: | --- | ---: | ---: | --- |"
  printf '%s\n' "${rows[@]}"
} | tee "$work/table.md"
