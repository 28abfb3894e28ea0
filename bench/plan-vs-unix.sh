#!/usr/bin/env bash
# Benchmark: `reclaim plan` against the Unix floor pipeline on the same data, in the same run.
#
# For each N (default: 100000 1000000) it builds N files under a per-object layout (uploads/{shard}/{file},
# 1000 shards), all two days old, and an N-row SQLite catalog whose rows reference 95% of the files (the other
# 5% of rows name files that do not exist), so 5% of the files are orphans. Then it times, warm, median of 5:
#   reclaim:  ./reclaim plan --format table            (listing and catalog read in parallel; stats orphans only)
#   unix:     comm -23 <(find | LC_ALL=C sort) <(sqlite3 export | LC_ALL=C sort)   (no grace period at all)
# and reports seconds, the ratio reclaim/unix, and peak RSS (GNU time's %M) of each.
# Usage: bench/plan-vs-unix.sh [N...]      Results: bench/results/plan-vs-unix.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
work="${BENCH_WORK:-$here/bench/work}"
mkdir -p "$work"
"$here/reclaim" --help >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

results=()
for n in "${sizes[@]}"; do
  dir="$work/n$n"
  if [ ! -f "$dir/.built" ]; then
    rm -rf "$dir"; mkdir -p "$dir/media"
    echo "building $n files and catalog rows in $dir ..." >&2
    python3 - "$dir" "$n" <<'PY'
import os, sqlite3, sys, time
d, n = sys.argv[1], int(sys.argv[2])
old = time.time() - 2 * 86400
root = os.path.join(d, "media", "uploads")
for s in range(1000):
    os.makedirs(os.path.join(root, f"{s:03d}"), exist_ok=True)
for i in range(n):
    p = os.path.join(root, f"{i % 1000:03d}", f"{i:08d}.bin")
    os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
    os.utime(p, (old, old))
db = sqlite3.connect(os.path.join(d, "app.db"))
db.execute("CREATE TABLE files (shard TEXT NOT NULL, name TEXT NOT NULL)")
db.executemany("INSERT INTO files VALUES (?, ?)",
    ((f"{i % 1000:03d}", f"{i:08d}.bin" if i % 20 else f"missing-{i:08d}.bin") for i in range(n)))
db.commit()
PY
    cat > "$dir/reclaim.yaml" <<YAML
version: 1
stores:
  media: {type: filesystem, root: ./media}
catalogs:
  app: {provider: sqlite, connection: ./app.db}
policies:
  - name: orphan-files
    type: orphans
    store: media
    layout: "uploads/{shard}/{file}"
    references: {catalog: app, query: "SELECT shard, name AS file FROM files"}
    min_age: 24h
    action: delete
guards:
  max_delete_fraction: 0.10
  max_delete_count: $n
YAML
    touch "$dir/.built"
  fi

  unix_cmd="comm -23 <(cd '$dir/media' && find . -type f -printf '%P\n' | LC_ALL=C sort) <(sqlite3 '$dir/app.db' \"SELECT 'uploads/'||shard||'/'||name FROM files\" | LC_ALL=C sort) | wc -l"
  reclaim_cmd="'$here/reclaim' plan --format table -c '$dir/reclaim.yaml'"
  # Warm the page cache and check both find the same orphans.
  unix_orphans=$(bash -c "$unix_cmd")
  reclaim_orphans=$(bash -c "$reclaim_cmd" | sed -n 's/^total: \([0-9,]*\) objects.*/\1/p' | tr -d ,)
  echo "N=$n: unix finds $unix_orphans orphans, reclaim $reclaim_orphans" >&2
  [ "$unix_orphans" = "$reclaim_orphans" ] || { echo "mismatch" >&2; exit 1; }

  r_times=(); u_times=(); r_rss=(); u_rss=()
  for _ in 1 2 3 4 5; do
    out=$( { /usr/bin/time -f "%e %M" bash -c "$reclaim_cmd >/dev/null"; } 2>&1 | tail -n 1)
    r_times+=("${out% *}"); r_rss+=("${out#* }")
    out=$( { /usr/bin/time -f "%e %M" bash -c "$unix_cmd >/dev/null"; } 2>&1 | tail -n 1)
    u_times+=("${out% *}"); u_rss+=("${out#* }")
  done
  rt=$(printf '%s\n' "${r_times[@]}" | median); ut=$(printf '%s\n' "${u_times[@]}" | median)
  rm_=$(printf '%s\n' "${r_rss[@]}" | median); um=$(printf '%s\n' "${u_rss[@]}" | median)
  ratio=$(awk -v a="$rt" -v b="$ut" 'BEGIN {printf "%.2f", a / b}')
  line="| $n | $reclaim_orphans | $rt | $ut | $ratio | $((rm_ / 1024)) | $((um / 1024)) |"
  echo "$line" >&2
  results+=("$line")
done

{
  echo "# reclaim plan vs the Unix floor pipeline"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -m)), warm page cache, median of 5 runs, with \`bench/plan-vs-unix.sh ${sizes[*]}\`."
  echo "Per-object layout \`uploads/{shard}/{file}\` (1000 shards), SQLite catalog with N rows, 5% of files orphaned, all files 2 days old."
  echo "The Unix pipeline is \`comm -23 <(find | LC_ALL=C sort) <(sqlite3 … | LC_ALL=C sort)\` (both sides in parallel, no grace period);"
  echo "\`reclaim plan\` also applies the 24 h grace period (it stats only the unreferenced files) and the guards."
  echo
  echo "| N files | orphans | reclaim plan (s) | unix pipeline (s) | ratio | reclaim peak RSS (MB) | unix peak RSS (MB) |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${results[@]}"
} > "$here/bench/results/plan-vs-unix.md"
cat "$here/bench/results/plan-vs-unix.md"
