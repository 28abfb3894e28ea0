#!/usr/bin/env bash
# Benchmark: `reclaim worker --once` draining a deletion-request table (the RugbyCodex cleanup worker's schema, PostgreSQL) against
# s3rver, at Reclaim's default settings vs the RugbyCodex cleanup worker's design (one request at a time), on identical fresh data in
# the same run. Starts PostgreSQL and s3rver through scripts/test-services.sh.
# Usage: bench/queue-drain.sh [REQUESTS=10000] [OBJECTS_PER_REQUEST=3]      Results: bench/results/queue-drain.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
"$here/reclaim" --help >/dev/null
services="${BENCH_SERVICES:-/tmp/reclaim-bench-services}"
eval "$(scripts/test-services.sh start "$services")"
trap 'scripts/test-services.sh stop "$services" >/dev/null 2>&1 || true' EXIT
dotnet run -c Release --project bench/QueueDrain -- "$here/.build/cli/reclaim" "${1:-10000}" "${2:-3}"
