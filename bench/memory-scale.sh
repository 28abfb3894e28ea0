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
#        bench/memory-scale.sh streams [PLAN_GROUPS [INVENTORY_N...]]   (default 1000000, then 1000000 4000000):
#   the plan file and the S3 Inventory apart from planning, each twice in the same invocation: the plan file of
#   PLAN_GROUPS one-object groups read as `reclaim apply` reads it (streamed) and as the serializer reads it whole (the
#   reader before); an S3 Inventory of N objects (8 gzip CSV files, rows in no key order) read in key order by the
#   external sort and by holding and sorting every object (the reader before). No PostgreSQL is needed.
#        bench/memory-scale.sh records [N...]   (default 250000 1000000):
#   a records policy of N selected rows (a generated catalog, each row naming one object a stat finds), each twice in
#   the same invocation: planned with the plan file written (-o) as `reclaim plan` does (rows beyond 4096 spooled to
#   disk) and holding every row (the planner before); then that plan file read and its rows walked in order as
#   `reclaim apply` does (streamed, rows beyond 4096 spooled) and as the serializer reads it whole (the reader before).
#   No PostgreSQL is needed.
# PostgreSQL: BENCH_PG (a connection string), or one is started with scripts/test-services.sh.
# Results: bench/results/memory-scale.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 4000000 16000000)
work="${BENCH_WORK:-$here/bench/work}/memory-scale"
mkdir -p "$work"
export TMPDIR="$work/tmp"; mkdir -p "$TMPDIR"

measure() { # label, then the harness's ($harness) arguments: prints a table row
  local label="$1"; shift
  local out; out=$( { /usr/bin/time -f "TIME %e %M" "$harness" "$@" 2>"$work/timing.txt"; } 2>&1 )
  local line; line=$(grep '^TIME' "$work/timing.txt" || grep '^TIME' <<<"$out")
  read -r _ secs rss <<<"$line"
  echo "$label: ${secs}s $((rss / 1024)) MB — $(grep -v '^TIME' <<<"$out")" >&2
  echo "| $label | $secs | $((rss / 1024)) | $(grep -v '^TIME' <<<"$out") |"
}

if [ "${sizes[0]}" = records ]; then
  counts=("${sizes[@]:1}"); [ ${#counts[@]} -gt 0 ] || counts=(250000 1000000)
  dotnet build "$here/bench/MemoryScale" -c Release -clp:ErrorsOnly >/dev/null
  harness="$here/bench/MemoryScale/bin/Release/net10.0/MemoryScale"
  rows=()
  for n in "${counts[@]}"; do
    plan="$work/records-$n.json"
    rows+=("$(measure "plan $n rows -o, spooled" --plan-records "$n" --out "$plan")")
    rows+=("$(measure "plan $n rows -o, every row held (before)" --plan-records "$n" --out "$work/records-held.json" --in-memory)")
    rm -f "$work/records-held.json"
    rows+=("$(measure "read the plan of $n rows and walk them, streamed (apply)" --read-plan "$plan")")
    rows+=("$(measure "read the plan of $n rows and walk them, read whole (before)" --read-plan "$plan" --whole)")
    rm -f "$plan"
  done
  {
    echo "| what | time (s) | peak RSS (MB) | totals |"
    echo "| --- | ---: | ---: | --- |"
    printf '%s\n' "${rows[@]}"
  } | tee "$work/records.md"
  exit 0
fi

if [ "${sizes[0]}" = streams ]; then
  plan_groups="${sizes[1]:-1000000}"
  inventories=("${sizes[@]:2}"); [ ${#inventories[@]} -gt 0 ] || inventories=(1000000 4000000)
  dotnet build "$here/bench/MemoryScale" -c Release -clp:ErrorsOnly >/dev/null
  harness="$here/bench/MemoryScale/bin/Release/net10.0/MemoryScale"
  rows=()
  plan="$work/plan-$plan_groups.json"
  [ -f "$plan" ] || "$harness" --make-plan "$plan_groups" --out "$plan" >&2
  rows+=("$(measure "plan file of $plan_groups groups, streamed (apply)" --read-plan "$plan")")
  rows+=("$(measure "plan file of $plan_groups groups, read whole (before)" --read-plan "$plan" --whole)")
  for n in "${inventories[@]}"; do
    inv="$work/inventory-$n"
    if [ ! -f "$inv/.built" ]; then
      rm -rf "$inv"; echo "building an inventory of $n objects ..." >&2
      python3 - "$inv" "$n" <<'PY'
import gzip, hashlib, json, os, sys
root, n = sys.argv[1], int(sys.argv[2])
files, entries = 8, []
data = os.path.join(root, "inventory", "bench", "gen", "data")
os.makedirs(data, exist_ok=True)
for f in range(files):
    key = f"inventory/bench/gen/data/part-{f}.csv.gz"
    path = os.path.join(root, key)
    with gzip.open(path, "wt", compresslevel=1, newline="") as out:
        # Round-robin over the files and backwards in each: no file is in key order.
        for i in range(n - 1 - ((n - 1 - f) % files), -1, -files):
            out.write(f'"bench","uploads/{i % 1000:03d}/{i:09d}.bin","1000","2026-11-29T00:00:00.000Z","d41d8cd98f00b204e9800998ecf8427e","true","false"\n')
    with open(path, "rb") as done:
        entries.append({"key": key, "size": os.path.getsize(path), "MD5checksum": hashlib.md5(done.read()).hexdigest()})
manifest = {"sourceBucket": "bench", "destinationBucket": "arn:aws:s3:::inventories", "version": "2016-11-30",
            "creationTimestamp": "1764547200000", "fileFormat": "CSV",
            "fileSchema": "Bucket, Key, Size, LastModifiedDate, ETag, IsLatest, IsDeleteMarker", "files": entries}
folder = os.path.join(root, "inventory", "bench", "gen", "2026-12-01T00-00Z")
os.makedirs(folder, exist_ok=True)
json.dump(manifest, open(os.path.join(folder, "manifest.json"), "w"))
PY
      touch "$inv/.built"
    fi
    manifest="$inv/inventory/bench/gen/2026-12-01T00-00Z/manifest.json"
    rows+=("$(measure "S3 Inventory of $n objects, external sort" --inventory "$manifest")")
    rows+=("$(measure "S3 Inventory of $n objects, held and sorted (before)" --inventory "$manifest" --whole)")
  done
  {
    echo "| what | time (s) | peak RSS (MB) | totals |"
    echo "| --- | ---: | ---: | --- |"
    printf '%s\n' "${rows[@]}"
  } | tee "$work/streams.md"
  exit 0
fi

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
