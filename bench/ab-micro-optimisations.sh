#!/usr/bin/env bash
# A/B of the planner's micro-optimisations: builds the base commit once as it is and once without each of them,
# then times `reclaim plan` of every build interleaved in the same rounds (bench/plan-vs-unix.sh --variant).
#
# Source variants (bench/ab-micro-optimisations.py): the base tree rewritten without one optimisation, published as
# ./reclaim publishes (Release, ReadyToRun, linux-x64). Runtime variants: the base build with one setting of its
# reclaim.runtimeconfig.json back at the runtime's default. Each is reported as its time over the base build's in
# the same round (median and range over rounds): above 1 means the optimisation pays.
#
# Usage: bench/ab-micro-optimisations.sh [--base COMMIT] [--rounds R] [--only NAME,NAME] [N...]
#   --base COMMIT   the tree the variants are cut from (default cf7f088, the last commit with all of them)
#   --rounds R      rounds per N (default 7)
#   --only NAMES    build and time only these variants (and the base)
#   --reuse         time the builds an earlier invocation made, without building
#   N...            data set sizes (default 1000000)
#   BENCH_WORK      data sets and builds (default bench/work); results: bench/results/ab-micro-optimisations.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base=cf7f088; rounds=7; only=""; sizes=(); reuse=0
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --only) only=",$2,"; shift 2 ;;
    --reuse) reuse=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) sizes+=("$1"); shift ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
work="${BENCH_WORK:-$here/bench/work}"
src="$work/ab/src"; bin="$work/ab/bin"
variants="$here/bench/ab-micro-optimisations.py"
case "$(uname -m)" in aarch64|arm64) rid=linux-arm64 ;; *) rid=linux-x64 ;; esac
wanted() { [ -z "$only" ] || [[ "$only" == *",$1,"* ]]; }

publish() {
  [ "$reuse" = 0 ] || [ ! -x "$bin/$1/reclaim" ] || return 0
  echo "publishing $1 ..." >&2
  # Warnings are not errors here: a variant may leave a field unread.
  dotnet publish "$src/src/Reclaim.Cli/Reclaim.Cli.csproj" -c Release -r "$rid" --self-contained false \
    -p:PublishReadyToRun=true -p:TreatWarningsAsErrors=false -o "$bin/$1" --nologo -v quiet -clp:ErrorsOnly >&2
}

# Every file a source variant rewrites, restored from the base before the next variant: only a file that differs is
# rewritten, with a new timestamp, so the build recompiles what the last variant changed and nothing else (an
# archive's own timestamps are older than the last build's output, which would keep the last variant's code).
touched=(src/Reclaim.Data/Catalogs/SqliteCatalog.cs src/Reclaim.Stores/FileSystem/FileSystemStore.Listing.cs
  src/Reclaim.Core/Storage/KeyBatch.cs src/Reclaim.Engine/Planning/OrphanPlanner.cs src/Reclaim.Cli/Program.cs
  src/Reclaim.Cli/PlanningCollectionPause.cs src/Reclaim.Core/References/ReferenceSet.cs)
restore() {
  local f
  for f in "${touched[@]}"; do
    git -C "$here" show "$base:$f" > "$src/.restore"
    cmp -s "$src/.restore" "$src/$f" || mv "$src/.restore" "$src/$f"
  done
  rm -f "$src/.restore"
}

if [ ! -f "$src/.base" ] || [ "$(cat "$src/.base")" != "$(git -C "$here" rev-parse "$base")" ]; then
  rm -rf "$src" "$bin"; mkdir -p "$src"
  git -C "$here" archive "$base" | tar -x -C "$src"
  git -C "$here" rev-parse "$base" > "$src/.base"
fi
mkdir -p "$bin"

args=(--variant "base=$bin/base/reclaim")
[ "$reuse" = 1 ] || restore
publish base
while read -r kind name; do
  wanted "$name" || continue
  if [ "$kind" = source ]; then
    [ "$reuse" = 1 ] && [ -x "$bin/$name/reclaim" ] && { args+=(--variant "$name=$bin/$name/reclaim"); continue; }
    restore
    python3 "$variants" source "$name" "$src"
    publish "$name"
  else
    [ "$reuse" = 1 ] && [ -x "$bin/$name/reclaim" ] && { args+=(--variant "$name=$bin/$name/reclaim"); continue; }
    rm -rf "${bin:?}/$name"; cp -a "$bin/base" "$bin/$name"
    python3 "$variants" runtime "$name" "$bin/$name/reclaim.runtimeconfig.json"
  fi
  args+=(--variant "$name=$bin/$name/reclaim")
done < <(python3 "$variants" list)
[ "$reuse" = 1 ] || restore

# What each build changes against the base: the assemblies (or the runtime config) that differ.
differs=()
for ((i = 2; i < ${#args[@]}; i += 2)); do
  name="${args[$((i + 1))]%%=*}"
  changed=$(cd "$bin/$name" && for f in reclaim.dll Reclaim.*.dll reclaim.runtimeconfig.json; do cmp -s "$f" "$bin/base/$f" || printf '%s ' "$f"; done)
  differs+=("- \`$name\` differs from \`base\` in: ${changed:-nothing}")
done

out="$here/bench/results/ab-micro-optimisations.md"
BENCH_WORK="$work" "$here/bench/plan-vs-unix.sh" --rounds "$rounds" --out "$out" "${args[@]}" "${sizes[@]}" >/dev/null
{ echo; echo "Builds (\`bench/ab-micro-optimisations.sh --base $base --rounds $rounds ${sizes[*]}\`):"; printf '%s\n' "${differs[@]}"; } >> "$out"
cat "$out"
