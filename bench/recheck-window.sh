#!/usr/bin/env bash
# Benchmark: the gate's re-check window on s3rver + PostgreSQL — the time from the start of a sub-batch's
# references re-check query to the sending of the last store request that removes its objects — measured by the gate
# itself (its debug event `gate_window`, printed with -v) for every sub-batch of ROUNDS sweeps of GROUPS orphan
# groups (three objects each, layout orgs/{org}/uploads/{asset}/, 1000 objects a sub-batch), once with
# `action: quarantine` (CopyObject to the trash, then one DeleteObjects) and once with `action: delete`.
# The baseline in the same run is each sweep's whole apply time per sub-batch: the window's share of it shows how
# little of a sub-batch's time a late reference can fall into.
# Starts PostgreSQL and s3rver through scripts/test-services.sh; uploads with rclone.
# Usage: bench/recheck-window.sh [GROUPS=1000] [ROUNDS=5]      Results: bench/results/recheck-window.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
groups="${1:-1000}"
rounds="${2:-5}"
"$here/reclaim" --help >/dev/null
services="${BENCH_SERVICES:-/tmp/reclaim-bench-window-services}"
work="${BENCH_WORK:-$here/bench/work/recheck-window}"
eval "$(scripts/test-services.sh start "$services")"
trap 'scripts/test-services.sh stop "$services" >/dev/null 2>&1 || true' EXIT
rm -rf "$work"; mkdir -p "$work"
export BENCH_STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" BENCH_LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)" \
  BENCH_COMMIT="$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"

export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENDPOINT="$RECLAIM_TEST_S3_ENDPOINT" \
  RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=S3RVER RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=S3RVER RCLONE_CONFIG_BENCH_REGION=us-east-1 \
  RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true
pg_port="$RECLAIM_TEST_PG_PORT"
unset AWS_CA_BUNDLE # rclone cannot load a custom CA bundle into its transport; the endpoint is plain http on loopback
psql_() { psql -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -q "$@"; }

for action in quarantine delete; do
  bucket="window-$action"
  db="window_$action"
  psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  psql_ -d "$db" -c "CREATE TABLE media_assets (org_id TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (org_id, id))" \
    -c "INSERT INTO media_assets VALUES ('o1', 'live')"
  rclone mkdir "bench:$bucket"
  connection="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=$db"
  cat > "$work/$action.yaml" <<YAML
version: 1
stores:
  media:
    type: s3
    bucket: $bucket
    endpoint: $RECLAIM_TEST_S3_ENDPOINT
    region: us-east-1
    force_path_style: true
    access_key: S3RVER
    secret_key: S3RVER
    use_chunk_encoding: false
catalogs:
  app: {provider: postgres, connection: "$connection"}
state: {provider: postgres, connection: "$connection"}
policies:
  - name: orphan-uploads
    type: orphans
    store: media
    layout: "orgs/{org}/uploads/{asset}/"
    references: {catalog: app, query: "SELECT org_id AS org, id AS asset FROM media_assets"}
    min_age: 1s
    action: $action
guards:
  max_delete_fraction: 1.0
  min_age_floor: 1s
YAML
  for round in $(seq 1 "$rounds"); do
    src="$work/upload-$action-$round"
    python3 - "$src" "$groups" "$round" <<'PY'
import os, sys
root, n, r = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(n):
    for f in ("raw.mp4", "streaming/seg_000.ts", "thumb.jpg"):
        p = os.path.join(root, "orgs", f"o{i % 7}", "uploads", f"r{r}-{i:05d}", f)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as fh:
            fh.write(p)
PY
    rclone copy "$src" "bench:$bucket" --transfers 32 --checkers 32 --no-check-dest
    sleep 2 # older than min_age, in S3's whole seconds
    "$here/reclaim" sweep --yes -v --format json -c "$work/$action.yaml" > "$work/$action-$round.json" 2> "$work/$action-$round.log"
    python3 - "$work/$action-$round.json" "$groups" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["run"]
assert run["status"] == "succeeded", run
assert run["summary"]["objects_done"] == 3 * int(sys.argv[2]), run["summary"]
PY
  done
done

python3 - "$work" "$groups" "$rounds" "$here/bench/results/recheck-window.md" <<'PY'
import glob, json, os, re, statistics, subprocess, sys
work, groups, rounds, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
event = re.compile(r"sub-batch \d+ \((\d+) objects acted on\): re-check window ([0-9.]+) ms")
rows = []
for action in ("quarantine", "delete"):
    windows, per_batch = [], []
    for r in range(1, rounds + 1):
        found = [float(m.group(2)) for m in event.finditer(open(f"{work}/{action}-{r}.log").read())]
        run = json.load(open(f"{work}/{action}-{r}.json"))["run"]
        assert found, f"no gate_window event in {action}-{r}.log (is -v debug logging on?)"
        windows += found
        per_batch.append(run["summary"]["duration_ms"] / len(found))
    med, top = statistics.median(windows), max(windows)
    batch = statistics.median(per_batch)
    rows.append((action, len(windows), med, top, batch, med / batch))
cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
with open(out, "w") as f:
    f.write("# Re-check window on s3rver + PostgreSQL\n\n")
    f.write(f"`bench/recheck-window.sh {groups} {rounds}`: {rounds} sweeps of {groups} orphan groups (3 objects each, "
            f"a sub-batch holds whole groups of at most 1000 objects, so {-(-groups // (1000 // 3))} sub-batches a sweep) per action; s3rver and PostgreSQL on loopback, {cpu} cores shared with other work.\n")
    load_end = open("/proc/loadavg").read().split()[:3]
    f.write(f"Run {os.environ.get('BENCH_STARTED', '?')} at commit {os.environ.get('BENCH_COMMIT', '?')}; load average (1, 5, 15 min) "
            f"{os.environ.get('BENCH_LOAD_START', '?')} at the start, {' '.join(load_end)} at the end.\n")
    f.write("The window is measured by the gate for every sub-batch, from the start of the references re-check query to the "
            "sending of the last request that removes the sub-batch's objects (debug event `gate_window`). The baseline is "
            "the sweep's whole duration divided by its sub-batches, in the same run.\n\n")
    f.write("| action | sub-batches | window median (ms) | window max (ms) | sweep time per sub-batch (ms, median) | window / sub-batch time |\n")
    f.write("| --- | ---: | ---: | ---: | ---: | ---: |\n")
    for action, n, med, top, batch, ratio in rows:
        f.write(f"| {action} | {n} | {med:.1f} | {top:.1f} | {batch:.0f} | {ratio:.3f} |\n")
print(open(out).read())
PY
