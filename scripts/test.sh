#!/usr/bin/env bash
# Runs every test, services included: starts PostgreSQL and s3rver on loopback (installing them when missing),
# runs the whole solution's tests, stops the services, and ends with one line "tests: N passed, N failed".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
work="$(mktemp -d /tmp/reclaim-test.XXXXXX)"
cleanup() { "$here/scripts/test-services.sh" stop "$work" || true; rm -rf "$work" 2>/dev/null || true; }
trap cleanup EXIT

eval "$("$here/scripts/test-services.sh" start "$work")"
echo "services: PostgreSQL on port $RECLAIM_TEST_PG_PORT, s3rver at $RECLAIM_TEST_S3_ENDPOINT" >&2

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build Reclaim.sln -c Release --nologo -v quiet -clp:ErrorsOnly
set +e
dotnet test Reclaim.sln -c Release --no-build --nologo "$@" 2>&1 | tee "$work/test.log"
status=${PIPESTATUS[0]}
set -e

passed=$(grep -Eo 'Passed: +[0-9]+' "$work/test.log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$work/test.log" | awk '{s+=$2} END {print s+0}')
echo "tests: $passed passed, $failed failed"
if [ "$passed" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
