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
if [ $# -gt 0 ]; then
  dotnet test Reclaim.sln -c Release --no-build --nologo "$@" 2>&1 | tee "$work/test.log"
  status=${PIPESTATUS[0]}
else
  # The install tests need two ReadyToRun builds of the CLI (scripts/publish.sh's release artifacts and the ./reclaim
  # launcher's build), minutes of work that would otherwise start only when those tests do and then run alone at
  # the end. They are made here, one after the other (they share obj/Release/net10.0/linux-*), while every other
  # test runs; the install tests run last, on those artifacts (RECLAIM_TEST_PUBLISHED).
  case "$(uname -m)" in aarch64|arm64) rid=linux-arm64 ;; *) rid=linux-x64 ;; esac
  published="$work/published"
  ( "$here/scripts/publish.sh" --rid "$rid" --out "$published" && "$here/reclaim" --version ) >"$work/publish.log" 2>&1 &
  builds=$!
  install='FullyQualifiedName~Reclaim.Engine.Tests.Install.'
  dotnet test Reclaim.sln -c Release --no-build --nologo --filter "FullyQualifiedName!~Reclaim.Engine.Tests.Install." 2>&1 | tee "$work/test.log"
  status=${PIPESTATUS[0]}
  if wait "$builds"; then
    export RECLAIM_TEST_PUBLISHED="$published"
  else
    # The install tests' own publish then fails with its output, and says why.
    echo "building the release artifacts failed; the install tests publish again:" >&2
    tail -n 30 "$work/publish.log" >&2
  fi
  dotnet test tests/Reclaim.Engine.Tests -c Release --no-build --nologo --filter "$install" 2>&1 | tee -a "$work/test.log"
  install_status=${PIPESTATUS[0]}
  [ "$status" -ne 0 ] || status=$install_status
  unset RECLAIM_TEST_PUBLISHED
fi
set -e

passed=$(grep -Eo 'Passed: +[0-9]+' "$work/test.log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$work/test.log" | awk '{s+=$2} END {print s+0}')
echo "tests: $passed passed, $failed failed"
if [ "$passed" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
