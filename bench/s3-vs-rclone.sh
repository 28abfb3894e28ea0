#!/usr/bin/env bash
# Benchmark: reclaim against rclone on an S3 bucket at internet latency, in the same run.
#
# s3rver (tests/services/s3rver.js) serves a bucket of N objects (default 100000) under a per-object layout
# (uploads/{shard}/{file}, 1000 shards), built directly as s3rver's files on disk (PUTs would take longer than the
# benchmark), all two days old; a SQLite catalog references 90 % of them, so 10 % are orphans. A loopback proxy
# (bench/latency-proxy.js) holds every request 25 ms, then 100 ms (a round trip to a provider), and counts requests
# by S3 operation and connections. For each latency it times, median of RUNS (default 3):
#   plan:   reclaim plan                                  vs  rclone lsf -R (--fast-list, and without it with --checkers 64)
#   sweep:  reclaim sweep --yes (delete)                  vs  rclone lsf -R | comm -23 with the catalog's export |
#                                                             rclone delete --files-from (--checkers/--transfers 64, --no-traverse)
# and reports seconds, the ratio reclaim/rclone (rclone at its best setting), s3rver's CPU seconds, the requests by
# operation and the connections the proxy counted. Each sweep starts from a fresh copy of the bucket (hard links).
#   profile: reclaim plan -o, then reclaim apply of that plan at -v, with the proxy's request log: where the sweep's
#            wall time goes (bench/sweep-profile.py), written to the results' "Where the sweep's time goes" section
# Usage: bench/s3-vs-rclone.sh [plan|sweep|all|profile|data] [N]   (data: only build the bucket and catalog)      Results: bench/results/s3-vs-rclone.md (one section per part)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
part="${1:-all}"
n="${2:-100000}"
runs="${RUNS:-3}"
latencies=(${LATENCIES:-25 100})
work="${BENCH_WORK:-$here/bench/work}/s3-vs-rclone-n$n"
results="$here/bench/results/s3-vs-rclone.md"
mkdir -p "$work"
command -v rclone >/dev/null || { echo "rclone is needed: apt-get install -y rclone" >&2; exit 1; }
[ -d "$here/tests/services/node_modules/s3rver" ] || (cd "$here/tests/services" && npm ci --no-audit --no-fund --loglevel=error >&2)
unset AWS_CA_BUNDLE

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cpu_seconds() { awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' "/proc/$1/stat"; }

# --- data: s3rver's own files, built once ---------------------------------------------------------------------
pristine="$work/pristine"
if [ ! -f "$work/.built" ]; then
  rm -rf "$work"; mkdir -p "$pristine/bench"
  echo "building $n objects as s3rver files and the catalog in $work ..." >&2
  python3 - "$work" "$n" <<'PY'
import hashlib, json, os, sqlite3, sys, time
work, n = sys.argv[1], int(sys.argv[2])
old = time.time() - 2 * 86400
root = os.path.join(work, "pristine", "bench", "uploads")
body = b"x"
md5 = hashlib.md5(body).hexdigest()
meta = json.dumps({"content-type": "application/octet-stream"})
for s in range(1000):
    os.makedirs(os.path.join(root, f"{s:03d}"), exist_ok=True)
for i in range(n):
    base = os.path.join(root, f"{i % 1000:03d}", f"{i:08d}.bin")
    with open(base + "._S3rver_object", "wb") as f: f.write(body)
    with open(base + "._S3rver_object.md5", "w") as f: f.write(md5)
    with open(base + "._S3rver_metadata.json", "w") as f: f.write(meta)
    os.utime(base + "._S3rver_object", (old, old))
db = sqlite3.connect(os.path.join(work, "app.db"))
db.execute("CREATE TABLE files (shard TEXT NOT NULL, name TEXT NOT NULL)")
# Every tenth object has no row: 10 % orphans.
db.executemany("INSERT INTO files VALUES (?, ?)", ((f"{i % 1000:03d}", f"{i:08d}.bin") for i in range(n) if i % 10))
db.commit()
PY
  touch "$work/.built"
fi

[ "$part" = data ] && exit 0
# RECLAIM_BIN: another build of reclaim to measure (a baseline's checkout's ./reclaim, for a before/after).
reclaim_bin="${RECLAIM_BIN:-$here/reclaim}"
"$reclaim_bin" --help >/dev/null

# --- services -----------------------------------------------------------------------------------------------
s3port=$(free_port); proxyport=$(free_port); controlport=$(free_port)
data="$work/live"
pids=()
cleanup() { for p in "${pids[@]}" $(cat "$work/s3rver.pid" 2>/dev/null); do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start_s3rver() {
  rm -rf "$data"; mkdir -p "$data"; cp -al "$pristine/bench" "$data/bench"
  node --openssl-legacy-provider "$here/tests/services/s3rver.js" --port "$s3port" --directory "$data" --bucket bench >"$work/s3rver.log" 2>&1 &
  # Measurements run in command substitutions (subshells): the pid is kept in a file, not a variable.
  echo $! > "$work/s3rver.pid"
  for _ in $(seq 1 100); do grep -q listening "$work/s3rver.log" && break; sleep 0.1; done
}
s3pid() { cat "$work/s3rver.pid"; }
# Objects left in the bucket, counted in s3rver's own files (no request through the proxy).
left_objects() { find "$data/bench/uploads" -name '*._S3rver_object' | wc -l; }
stop_s3rver() {
  local pid; pid=$(s3pid)
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
# The machine's 1-minute load average, sampled every 10 s while the benchmark runs: reported with the figures.
: > "$work/load.log"
( while :; do cut -d' ' -f1 /proc/loadavg >> "$work/load.log"; sleep 10; done ) &
pids+=("$!")
node "$here/bench/latency-proxy.js" --port "$proxyport" --control-port "$controlport" --target "http://127.0.0.1:$s3port" --delay-ms 25 \
  --log "$work/requests.log" >"$work/proxy.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do grep -qs listening "$work/proxy.log" && break; sleep 0.1; done
control="http://127.0.0.1:$controlport"

cat > "$work/reclaim.yaml" <<YAML
version: 1
state: {provider: sqlite, connection: ./state.db}
stores:
  bench:
    type: s3
    bucket: bench
    endpoint: http://127.0.0.1:$proxyport
    force_path_style: true
    access_key: S3RVER
    secret_key: S3RVER
    use_chunk_encoding: false
catalogs:
  app: {provider: sqlite, connection: ./app.db}
policies:
  - name: orphan-files
    type: orphans
    store: bench
    layout: "uploads/{shard}/{file}"
    references: {catalog: app, query: "SELECT shard, name AS file FROM files"}
    min_age: 24h
    action: delete
guards:
  max_delete_fraction: 0.2
  max_delete_count: $n
YAML
export RCLONE_CONFIG_S3R_TYPE=s3 RCLONE_CONFIG_S3R_PROVIDER=Other RCLONE_CONFIG_S3R_ENDPOINT="http://127.0.0.1:$proxyport" \
  RCLONE_CONFIG_S3R_ACCESS_KEY_ID=S3RVER RCLONE_CONFIG_S3R_SECRET_ACCESS_KEY=S3RVER RCLONE_CONFIG_S3R_REGION=us-east-1 \
  RCLONE_CONFIG_S3R_FORCE_PATH_STYLE=true
rclone_pipeline() {
  # What a user scripts with rclone: list, diff against the catalog's export, delete the difference.
  local flags="$1"
  comm -23 <(rclone lsf -R --files-only --fast-list s3r:bench/uploads/ | sed 's|^|uploads/|' | LC_ALL=C sort) \
           <(sqlite3 "$work/app.db" "SELECT 'uploads/'||shard||'/'||name FROM files" | LC_ALL=C sort) > "$work/orphans.txt"
  rclone delete $flags --no-traverse --files-from "$work/orphans.txt" s3r:bench
}
export -f rclone_pipeline
export work

# One measured command: prints "seconds s3rver-cpu-seconds requests ops connections peak-open".
measure() {
  curl -s -X POST "$control/reset" >/dev/null
  local cpu0 start end cpu1
  cpu0=$(cpu_seconds "$(s3pid)"); start=$(date +%s.%N)
  bash -c "$1" >"$work/last.out" 2>"$work/last.err" || { echo "failed: $1" >&2; tail -5 "$work/last.err" >&2; exit 1; }
  end=$(date +%s.%N); cpu1=$(cpu_seconds "$(s3pid)")
  local stats; stats=$(curl -s "$control/stats")
  python3 - "$start" "$end" "$cpu0" "$cpu1" "$stats" <<'PY'
import json, sys
start, end, c0, c1, stats = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), json.loads(sys.argv[5])
ops = ", ".join(f"{k} {v}" for k, v in sorted(stats["operations"].items()))
print(f"{end - start:.2f}\t{c1 - c0:.1f}\t{stats['requests']}\t{ops}\t{stats['connections']}\t{stats['peakInFlight']}")
PY
}

# Runs a command RUNS times; prints the median run's line.
median_of() {
  local lines=() out
  for _ in $(seq 1 "$runs"); do
    [ -n "${2:-}" ] && { stop_s3rver; start_s3rver; }
    out=$(measure "$1"); lines+=("$out"); echo "    $out" >&2
  done
  printf '%s\n' "${lines[@]}" | sort -t$'\t' -k1,1n | sed -n "$(( (runs + 1) / 2 ))p"
}

row() { IFS=$'\t' read -r secs cpu reqs ops conns peak <<<"$2"; echo "| $1 | $secs | $cpu | $reqs | $conns | $peak | $ops |"; }

reclaim="'$reclaim_bin'"
plan_rows=(); sweep_rows=(); profile_rows=()
# One profiled command: its wall, user and system seconds and s3rver's CPU seconds in NAME.time, its requests as the
# proxy logged them in NAME.requests, its stderr in NAME.err.
profiled() {
  local cpu0 cpu1
  : > "$work/requests.log"
  cpu0=$(cpu_seconds "$(s3pid)")
  /usr/bin/time -f '%e %U %S' -o "$work/$1.rusage" bash -c "$2" >"$work/$1.out" 2>"$work/$1.err" || { echo "failed: $2" >&2; tail -5 "$work/$1.err" >&2; exit 1; }
  cpu1=$(cpu_seconds "$(s3pid)")
  sleep 0.2; cp "$work/requests.log" "$work/$1.requests"
  echo "$(cat "$work/$1.rusage") $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {print b - a}')" > "$work/$1.time"
}
start_s3rver
expected=$(( n / 10 ))
first=1
for latency in "${latencies[@]}"; do
  curl -s -X PUT "$control/delay?ms=$latency" >/dev/null
  # A sweep (reclaim's or rclone's) at the latency before deleted the orphans: every latency starts from the full bucket.
  [ "$first" = 1 ] || { stop_s3rver; start_s3rver; }
  first=0
  if [ "$part" = plan ] || [ "$part" = all ]; then
    echo "latency $latency ms: plan" >&2
    r=$(median_of "$reclaim plan --format json -c '$work/reclaim.yaml' -o '$work/plan.json'")
    found=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["plan"]["policies"][0]; print(sum(len(g["objects"]) for g in p["groups"]))' "$work/plan.json")
    [ "$found" = "$expected" ] || { echo "reclaim plan found $found orphans, expected $expected" >&2; exit 1; }
    f=$(median_of "rclone lsf -R --files-only --fast-list s3r:bench/uploads/ | wc -l")
    c=$(median_of "rclone lsf -R --files-only --checkers 64 s3r:bench/uploads/ | wc -l")
    best=$f; bestname="rclone lsf -R --fast-list"
    if awk -v a="${c%%$'\t'*}" -v b="${f%%$'\t'*}" 'BEGIN {exit !(a < b)}'; then best=$c; bestname="rclone lsf -R --checkers 64"; fi
    ratio=$(awk -v a="${r%%$'\t'*}" -v b="${best%%$'\t'*}" 'BEGIN {printf "%.2f", a / b}')
    plan_rows+=("| **$latency ms** | ratio reclaim / best rclone: **$ratio** ($bestname) | | | | | |")
    plan_rows+=("$(row "reclaim plan" "$r")" "$(row "rclone lsf -R --fast-list" "$f")" "$(row "rclone lsf -R --checkers 64" "$c")")
  fi
  if [ "$part" = profile ]; then
    echo "latency $latency ms: profile (plan, then apply at -v)" >&2
    rm -f "$work/state.db"*
    profiled plan "$reclaim plan --format json -c '$work/reclaim.yaml' -o '$work/plan.json'"
    profiled apply "$reclaim apply '$work/plan.json' --yes -v --format json -c '$work/reclaim.yaml'"
    left=$(left_objects)
    [ "$left" = "$(( n - expected ))" ] || { echo "after reclaim apply $left objects are left, expected $(( n - expected ))" >&2; exit 1; }
    profile_rows+=("$(python3 "$here/bench/sweep-profile.py" "$work" "$latency")" "")
  fi
  if [ "$part" = sweep ] || [ "$part" = all ]; then
    echo "latency $latency ms: sweep" >&2
    r=$(median_of "rm -f '$work/state.db'*; $reclaim sweep --yes --format json -c '$work/reclaim.yaml'" fresh)
    left=$(left_objects)
    [ "$left" = "$(( n - expected ))" ] || { echo "after reclaim sweep $left objects are left, expected $(( n - expected ))" >&2; exit 1; }
    if [ "${RCLONE_DEFAULTS:-1}" = 1 ]; then d=$(median_of "rclone_pipeline ''" fresh); fi
    b=$(median_of "rclone_pipeline \"--checkers 64 --transfers 64\"" fresh)
    left=$(left_objects)
    [ "$left" = "$(( n - expected ))" ] || { echo "after the rclone pipeline $left objects are left, expected $(( n - expected ))" >&2; exit 1; }
    ratio=$(awk -v a="${r%%$'\t'*}" -v b="${b%%$'\t'*}" 'BEGIN {printf "%.2f", a / b}')
    sweep_rows+=("| **$latency ms** | ratio reclaim / best rclone pipeline: **$ratio** | | | | | |")
    sweep_rows+=("$(row "reclaim sweep --yes (delete)" "$r")")
    [ "${RCLONE_DEFAULTS:-1}" = 1 ] && sweep_rows+=("$(row "rclone pipeline, defaults" "$d")")
    sweep_rows+=("$(row "rclone pipeline, --checkers 64 --transfers 64" "$b")")
  fi
done

section() {
  echo "## $1"
  echo
  echo "Measured $(date -u +%Y-%m-%d) at $(git -C "$(dirname "$reclaim_bin")" rev-parse --short HEAD) on $(nproc) cores ($(uname -m)), median of $runs runs, with \`RUNS=$runs RCLONE_DEFAULTS=${RCLONE_DEFAULTS:-1} LATENCIES=\"${latencies[*]}\" bench/s3-vs-rclone.sh $part $n\`; rclone $(rclone version | head -1 | awk '{print $2}'), s3rver 3.7.1."
  echo "$n objects under \`uploads/{shard}/{file}\` (1000 shards), 10 % orphans, all two days old; SQLite catalog; every request held by the proxy for the latency shown."
  echo "Load average (1 minute, sampled every 10 s) $(sort -n "$work/load.log" | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s–%s", lo, hi}') during the run."
  echo
  [ "$1" = "$profile_title" ] || { echo "| command | seconds | s3rver CPU s | requests | connections | most in flight | requests by operation |"; echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"; }
  shift
  printf '%s\n' "$@"
  echo
}
profile_title="Where the sweep's time goes (profile)"
# The sections measured now replace those of the same title in the results; every other section (and the prose
# under it) is kept as it is.
sections=()
if [ ${#plan_rows[@]} -gt 0 ]; then section "Listing: plan vs rclone lsf" "${plan_rows[@]}" > "$work/section.plan"; sections+=("$work/section.plan"); fi
if [ ${#sweep_rows[@]} -gt 0 ]; then section "Deleting: sweep vs the rclone pipeline" "${sweep_rows[@]}" > "$work/section.sweep"; sections+=("$work/section.sweep"); fi
if [ ${#profile_rows[@]} -gt 0 ]; then section "$profile_title" "${profile_rows[@]}" > "$work/section.profile"; sections+=("$work/section.profile"); fi
python3 - "$results" "${sections[@]}" <<'PY'
import os, re, sys
results, new = sys.argv[1], sys.argv[2:]
def split(text):
    parts = re.split(r"(?m)^(?=## )", text)
    head = parts[0] if not parts[0].startswith("## ") else ""
    return head, [p for p in parts if p.startswith("## ")]
old = open(results).read() if os.path.exists(results) else ""
head, kept = split(old)
head = head or "# reclaim vs rclone on S3 at internet latency\n\nWritten by `bench/s3-vs-rclone.sh`; each part keeps its latest run.\n\n"
title = lambda part: part.split("\n", 1)[0]
for path in new:
    part = open(path).read()
    at = [i for i, k in enumerate(kept) if title(k) == title(part)]
    if at:
        kept[at[0]] = part
    else:
        kept.append(part)
open(results, "w").write(head + "".join(kept))
PY
cat "$results"
