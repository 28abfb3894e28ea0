#!/usr/bin/env bash
# Benchmark: `reclaim plan` against the Unix floor pipeline on the same data, in the same run.
#
# For each N (default: 100000 1000000) it builds N files under a per-object layout (uploads/{shard}/{file},
# 1000 shards), all two days old, and an N-row SQLite catalog whose rows reference 95% of the files (the other
# 5% of rows name files that do not exist), so 5% of the files are orphans. Then it times, warm, median of R rounds:
#   reclaim:  reclaim plan --format table            (listing and catalog read in parallel; stats orphans only)
#   unix:     comm -23 <(find | LC_ALL=C sort) <(sqlite3 export | LC_ALL=C sort)   (no grace period at all)
# and reports seconds, the ratio reclaim/unix, and peak RSS (GNU time's %M) of each.
#
# A/B runs: each --variant NAME=PROGRAM is a reclaim executable timed in the same rounds, interleaved (every round
# runs every variant once, in an order rotated from round to round, then the Unix pipeline), so that load from
# other processes on a shared machine falls on all of them alike. The first variant is the baseline: each other
# variant is reported as the median over rounds of its time divided by the baseline's in the same round, for wall
# time and for CPU time (user+sys, which load from other processes inflates much less than wall time).
#
# Usage: bench/plan-vs-unix.sh [--rounds R] [--out FILE] [--variant NAME=PROGRAM]... [N...]
#   --rounds R   rounds per N (default 5)
#   --out FILE   where the markdown goes (default bench/results/plan-vs-unix.md; '-' for stdout only)
#   --variant    default: one variant, reclaim=./reclaim (built on first use)
#   --data-only  build the data sets that are missing, and stop
#   BENCH_WORK   where the data sets live (default bench/work)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
minmax() { sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%s–%s", lo, hi}'; }

build() {
  local n="$1" dir="$2"
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
}

rounds=5
out="$here/bench/results/plan-vs-unix.md"
names=(); programs=(); sizes=(); data_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --data-only) data_only=1; shift ;;
    --variant) names+=("${2%%=*}"); programs+=("${2#*=}"); shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) sizes+=("$1"); shift ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
work="${BENCH_WORK:-$here/bench/work}"
if [ "$data_only" = 1 ]; then
  for n in "${sizes[@]}"; do [ -f "$work/n$n/.built" ] || build "$n" "$work/n$n"; done
  exit 0
fi
if [ ${#names[@]} -eq 0 ]; then
  names=(reclaim); programs=("$here/reclaim")
  "$here/reclaim" --help >/dev/null
fi
mkdir -p "$work"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
ab=$([ ${#names[@]} -gt 1 ] && echo 1 || echo 0)

# One timed run: prints "wall user+sys rss_kb".
timed() { { /usr/bin/time -f "%e %U %S %M" bash -c "$1 >/dev/null"; } 2>&1 | tail -n 1 | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}'; }

sections=()
for n in "${sizes[@]}"; do
  dir="$work/n$n"
  [ -f "$dir/.built" ] || build "$n" "$dir"

  unix_cmd="comm -23 <(cd '$dir/media' && find . -type f -printf '%P\n' | LC_ALL=C sort) <(sqlite3 '$dir/app.db' \"SELECT 'uploads/'||shard||'/'||name FROM files\" | LC_ALL=C sort) | wc -l"
  # Warm the page cache and check that every program finds the orphans the Unix pipeline finds.
  unix_orphans=$(bash -c "$unix_cmd")
  for v in "${!names[@]}"; do
    orphans=$("${programs[$v]}" plan --format table -c "$dir/reclaim.yaml" | sed -n 's/^total: \([0-9,]*\) objects.*/\1/p' | tr -d ,)
    echo "N=$n: unix finds $unix_orphans orphans, ${names[$v]} $orphans" >&2
    [ "$unix_orphans" = "$orphans" ] || { echo "mismatch" >&2; exit 1; }
  done

  declare -A wall=() cpu=() rss=()
  for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < ${#names[@]}; k++)); do
      v=$(( (k + r) % ${#names[@]} ))
      read -r w c m < <(timed "'${programs[$v]}' plan --format table -c '$dir/reclaim.yaml'")
      wall[$v]+="$w "; cpu[$v]+="$c "; rss[$v]+="$m "
      wall[$v,$r]=$w; cpu[$v,$r]=$c
    done
    read -r w c m < <(timed "$unix_cmd")
    wall[unix]+="$w "; cpu[unix]+="$c "; rss[unix]+="$m "
    echo "N=$n round $((r + 1))/$rounds done" >&2
  done

  ut=$(tr ' ' '\n' <<<"${wall[unix]}" | grep . | median)
  um=$(( $(tr ' ' '\n' <<<"${rss[unix]}" | grep . | median) / 1024 ))
  if [ "$ab" = 0 ]; then
    rt=$(tr ' ' '\n' <<<"${wall[0]}" | grep . | median)
    rm_=$(( $(tr ' ' '\n' <<<"${rss[0]}" | grep . | median) / 1024 ))
    ratio=$(awk -v a="$rt" -v b="$ut" 'BEGIN {printf "%.2f", a / b}')
    sections+=("| $n | $unix_orphans | $rt | $ut | $ratio | $rm_ | $um |")
  else
    rows="| variant | wall s, median (min–max) | CPU s (user+sys), median (min–max) | vs ${names[0]}: wall ratio, median (min–max) over rounds | vs ${names[0]}: CPU ratio, median (min–max) over rounds | peak RSS MB, median | wall vs unix |"$'\n'
    rows+="| --- | ---: | ---: | ---: | ---: | ---: | ---: |"$'\n'
    for v in "${!names[@]}"; do
      t=$(tr ' ' '\n' <<<"${wall[$v]}" | grep . | median)
      spread=$(tr ' ' '\n' <<<"${wall[$v]}" | grep . | minmax)
      c=$(tr ' ' '\n' <<<"${cpu[$v]}" | grep . | median)
      cspread=$(tr ' ' '\n' <<<"${cpu[$v]}" | grep . | minmax)
      m=$(( $(tr ' ' '\n' <<<"${rss[$v]}" | grep . | median) / 1024 ))
      if [ "$v" = 0 ]; then
        vs="1 (baseline)"; vc="1 (baseline)"
      else
        ratios=$(for ((r = 0; r < rounds; r++)); do awk -v a="${wall[$v,$r]}" -v b="${wall[0,$r]}" 'BEGIN {printf "%.3f\n", a / b}'; done)
        vs="$(median <<<"$ratios") ($(minmax <<<"$ratios"))"
        ratios=$(for ((r = 0; r < rounds; r++)); do awk -v a="${cpu[$v,$r]}" -v b="${cpu[0,$r]}" 'BEGIN {printf "%.3f\n", a / b}'; done)
        vc="$(median <<<"$ratios") ($(minmax <<<"$ratios"))"
      fi
      rows+="| ${names[$v]} | $t ($spread) | $c ($cspread) | $vs | $vc | $m | $(awk -v a="$t" -v b="$ut" 'BEGIN {printf "%.2f", a / b}') |"$'\n'
    done
    rows+="| unix pipeline | $ut ($(tr ' ' '\n' <<<"${wall[unix]}" | grep . | minmax)) | $(tr ' ' '\n' <<<"${cpu[unix]}" | grep . | median) | | | $um | 1 |"
    sections+=("### N = $n files ($unix_orphans orphans)"$'\n\n'"$rows")
  fi
  unset wall cpu rss
done

report() {
  if [ "$ab" = 0 ]; then
    echo "# reclaim plan vs the Unix floor pipeline"
    echo
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -m)), warm page cache, median of $rounds runs, with \`bench/plan-vs-unix.sh ${sizes[*]}\`."
  else
    echo "# reclaim plan: A/B of ${#names[@]} builds, interleaved"
    echo
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -m)), load average at the start $load_start, warm page cache,"
    echo "$rounds rounds; each round runs every build once (order rotated per round), then the Unix pipeline. Ratios are per round"
    echo "(a build's time over the baseline's in the same round), then the median and range over rounds; above 1 the build is slower."
  fi
  echo "Per-object layout \`uploads/{shard}/{file}\` (1000 shards), SQLite catalog with N rows, 5% of files orphaned, all files 2 days old."
  echo "The Unix pipeline is \`comm -23 <(find | LC_ALL=C sort) <(sqlite3 … | LC_ALL=C sort)\` (both sides in parallel, no grace period);"
  echo "\`reclaim plan\` also applies the 24 h grace period (it stats only the unreferenced files) and the guards."
  echo
  if [ "$ab" = 0 ]; then
    echo "| N files | orphans | reclaim plan (s) | unix pipeline (s) | ratio | reclaim peak RSS (MB) | unix peak RSS (MB) |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${sections[@]}"
  else
    for v in "${!names[@]}"; do echo "- \`${names[$v]}\`: \`${programs[$v]}\`"; done
    for s in "${sections[@]}"; do echo; echo "$s"; done
  fi
}
if [ "$out" = "-" ]; then report; else report > "$out"; cat "$out"; fi
