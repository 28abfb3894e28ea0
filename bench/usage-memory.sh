#!/usr/bin/env bash
# Benchmark: `reclaim usage` streams, so its peak memory does not grow with the store.
# Runs `reclaim usage --depth 2 --no-plan` (a stat of every file, totals by prefix) on the data sets that
# bench/plan-vs-unix.sh builds (N files under uploads/{shard}/{file}), and reports seconds and peak RSS (GNU time's
# %M) per N, and the ratio of each peak RSS to the smallest N's, from the same invocation.
# Usage: bench/usage-memory.sh [N...]   (default: 100000 1000000)   Results: bench/results/usage-memory.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
work="${BENCH_WORK:-$here/bench/work}"
for n in "${sizes[@]}"; do
  [ -f "$work/n$n/.built" ] || BENCH_WORK="$work" "$here/bench/plan-vs-unix.sh" "$n" >/dev/null
done

rows=(); base=""
for n in "${sizes[@]}"; do
  cmd="'$here/reclaim' usage --depth 2 --no-plan --format json -c '$work/n$n/reclaim.yaml'"
  objects=$(bash -c "$cmd" | python3 -c 'import json,sys; print(sum(p["objects"] for p in json.load(sys.stdin)["prefixes"]))')
  out=$( { /usr/bin/time -f "%e %M" bash -c "$cmd >/dev/null"; } 2>&1 | tail -n 1)
  secs="${out% *}"; rss=$(( ${out#* } / 1024 ))
  [ -n "$base" ] || base=$rss
  rows+=("| $n | $objects | $secs | $rss | $(awk -v a="$rss" -v b="$base" 'BEGIN {printf "%.2f", a/b}') |")
done

{
  echo "# reclaim usage: peak memory against store size"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -m)), warm page cache, with \`bench/usage-memory.sh ${sizes[*]}\`."
  echo "\`reclaim usage --depth 2 --no-plan\` stats every file and totals objects, bytes, oldest and newest per prefix."
  echo
  echo "| N files | objects reported | seconds | peak RSS (MB) | RSS vs smallest N |"
  echo "| ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
} > "$here/bench/results/usage-memory.md"
cat "$here/bench/results/usage-memory.md"
