#!/usr/bin/env bash
# Benchmark: one partitioned run of 16 key ranges planned by 1 process vs by 2 processes sharing one PostgreSQL state,
# in the same invocation, and proof that both did exactly what a single plan does.
#   1 process:   reclaim plan --partition 0/1 --run-key R1        (plans all 16 ranges)
#   2 processes: reclaim plan --partition 0/2 --run-key R2  &  reclaim plan --partition 1/2 --run-key R2
# Each case runs ROUNDS times (a new run key each time), interleaved; the medians and their ratio are reported.
# Proof: the group keys of the 16 range plans recorded in state (the union over both participants) are sorted and
# compared with those of `reclaim plan -o` (one process, no partitioning): equal, no group planned twice.
# Store: a folder store of N files (layout orgs/{org}/uploads/{asset}/, 256 orgs whose ids' first hex digits spread
# them over the 16 ranges, one file per asset, 10 % of the assets unreferenced, every file two days old); catalog and
# state: one PostgreSQL database. Every range reads the whole references query (so 16 reads per run): the
# catalog's latency weighs as it would from a pod; LATENCY_MS adds that much to each references query (pg_sleep),
# 0 by default.
# Usage: bench/partitioned.sh [N]   (default 200000; ROUNDS=3, LATENCY_MS=0; RECLAIM=path to the reclaim executable)
# PostgreSQL: BENCH_PG (a connection string), or one is started with scripts/test-services.sh.
# Results: bench/results/partitioned.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-200000}"
rounds="${ROUNDS:-3}"
latency_ms="${LATENCY_MS:-0}"
reclaim="${RECLAIM:-$here/reclaim}"
work="${BENCH_WORK:-$here/bench/work}/partitioned"
mkdir -p "$work"

if [ -z "${BENCH_PG:-}" ]; then
  eval "$("$here/scripts/test-services.sh" start "$work/svc")"
  trap '"$here/scripts/test-services.sh" stop "$work/svc" >/dev/null 2>&1 || true' EXIT
  BENCH_PG="$RECLAIM_TEST_PG"
fi
psql_bin="${RECLAIM_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}/psql"
pg_port=$(sed -n 's/.*Port=\([0-9]*\).*/\1/p' <<<"$BENCH_PG")
db="bench_partitioned"
psql() { "$psql_bin" -h 127.0.0.1 -p "$pg_port" -U postgres -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
conn="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=$db"

# The store and the catalog: asset a of org o is orgs/<hex(o)>org/uploads/a<a>/raw.mp4; every tenth is unreferenced.
echo "writing $n files ..." >&2
rm -rf "$work/media"
python3 - "$work/media" "$n" <<'PY'
import os, sys, time
root, n = sys.argv[1], int(sys.argv[2])
old = time.time() - 2 * 86400
for i in range(n):
    org, asset = i % 256, i // 256
    folder = os.path.join(root, "orgs", f"{org:02x}org", "uploads", f"a{asset}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "raw.mp4")
    with open(path, "w") as f:
        f.write("x")
    os.utime(path, (old, old))
PY
psql -d "$db" -c "CREATE TABLE media_assets AS SELECT lpad(to_hex(i % 256), 2, '0') || 'org' AS org_id, 'a' || (i / 256) AS id
                  FROM generate_series(0, $n - 1) AS i WHERE i % 10 <> 3"
sleep_sql=""; [ "$latency_ms" -gt 0 ] && sleep_sql=" CROSS JOIN pg_sleep($latency_ms / 1000.0) AS s"
cat > "$work/reclaim.yaml" <<YAML
version: 1
state:
  provider: postgres
  connection: "$conn"
stores:
  media:
    type: filesystem
    root: ./media
catalogs:
  app:
    provider: postgres
    connection: "$conn"
policies:
  - name: orphan-uploads
    type: orphans
    store: media
    layout: "orgs/{org}/uploads/{asset}/"
    references:
      catalog: app
      query: "SELECT org_id AS org, id AS asset FROM media_assets$sleep_sql"
    min_age: 24h
guards:
  max_delete_fraction: 0.5
YAML
"$reclaim" migrate -c "$work/reclaim.yaml" >/dev/null

# The single-process plan: its groups are the reference.
"$reclaim" plan --format json -o "$work/single.json" -c "$work/reclaim.yaml" >/dev/null || [ $? -eq 3 ]
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print("\n".join(sorted(g["group_key"] for q in p["plan"]["policies"] for g in q["groups"])))' "$work/single.json" \
  | LC_ALL=C sort > "$work/single.groups"
expected=$(wc -l < "$work/single.groups")

union_of() { # the group keys of a run's 16 range plans, one per line, sorted (duplicates kept)
  psql -d "$db" -tA -c "SELECT g->>'group_key' FROM reclaim_partition_ranges r,
      jsonb_array_elements(r.plan::jsonb->'policies') AS p, jsonb_array_elements(p->'groups') AS g WHERE r.run_key = '$1'" | LC_ALL=C sort
}

now() { date +%s.%N; }
one=(); two=(); proofs=()
for round in $(seq 1 "$rounds"); do
  key1="bench-1p-$round-$$"; key2="bench-2p-$round-$$"
  t0=$(now)
  "$reclaim" plan --partition 0/1 --run-key "$key1" --format json -c "$work/reclaim.yaml" > "$work/one.json"
  t1=$(now)
  "$reclaim" plan --partition 0/2 --run-key "$key2" --format json -c "$work/reclaim.yaml" > "$work/two-0.json" & p0=$!
  "$reclaim" plan --partition 1/2 --run-key "$key2" --format json -c "$work/reclaim.yaml" > "$work/two-1.json" & p1=$!
  wait $p0; wait $p1
  t2=$(now)
  one+=("$(printf '%.2f' "$(echo "$t1 - $t0" | bc)")"); two+=("$(printf '%.2f' "$(echo "$t2 - $t1" | bc)")")
  for key in "$key1" "$key2"; do
    union_of "$key" > "$work/union.groups"
    if ! cmp -s "$work/union.groups" "$work/single.groups"; then
      echo "round $round, run $key: the union of the range plans differs from the single-process plan" >&2
      diff "$work/single.groups" "$work/union.groups" | head >&2
      exit 1
    fi
  done
  split=$(psql -d "$db" -tA -c "SELECT string_agg(planned_by_count::text, '/') FROM (SELECT count(*) AS planned_by_count FROM reclaim_partition_ranges WHERE run_key = '$key2' GROUP BY planned_by ORDER BY 1 DESC) s")
  proofs+=("$split")
  echo "round $round: 1 process ${one[-1]} s, 2 processes ${two[-1]} s (ranges per participant $split); both unions equal the single plan ($expected groups)" >&2
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
m1=$(median "${one[@]}"); m2=$(median "${two[@]}")
ratio=$(echo "scale=2; $m1 / $m2" | bc)
commit=$(git -C "$here" rev-parse --short HEAD)
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# Partitioned run: 16 key ranges planned by 1 process vs 2 processes"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -m)), commit $commit, load average at the end $load (the machine is shared:"
  echo "other builds and tests ran meanwhile), with \`ROUNDS=$rounds LATENCY_MS=$latency_ms bench/partitioned.sh $n\`."
  echo "Folder store of $n files (\`orgs/{org}/uploads/{asset}/\`, 256 orgs spread over the 16 ranges, one file per asset, 10 % of the assets"
  echo "unreferenced), PostgreSQL catalog and state in one database on loopback; each participant a \`reclaim plan --partition I/N\` process."
  echo
  echo "| case | rounds (s) | median (s) |"
  echo "| --- | --- | ---: |"
  echo "| 1 process (\`--partition 0/1\`) | ${one[*]} | $m1 |"
  echo "| 2 processes (\`--partition 0/2\` and \`1/2\`) | ${two[*]} | $m2 |"
  echo
  echo "Speed-up (1 process / 2 processes, medians): **$ratio×**. Ranges planned by each participant per round: ${proofs[*]}."
  echo
  echo "Proof: in every round the group keys of the 16 range plans recorded in state, for the 1-process run and for the"
  echo "2-process run (the union of both participants'), sorted, equal those of one \`reclaim plan -o\` without partitioning"
  echo "($expected groups), with no group planned twice."
} > "$here/bench/results/partitioned.md"
cat "$here/bench/results/partitioned.md"
