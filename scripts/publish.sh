#!/usr/bin/env bash
# Builds Reclaim's release artifacts into a folder (default: artifacts/ in the checkout):
#   reclaim-VERSION-RID/reclaim and reclaim-VERSION-RID.tar.gz for each RID (default linux-x64 and linux-arm64):
#     one self-contained file (the .NET runtime and the SQLite library inside; ReadyToRun code), for glibc Linux;
#   reclaim.VERSION.nupkg: the .NET tool package (`dotnet tool install --global --add-source DIR reclaim`);
#   SHA256SUMS for all of them.
# Cross-publishing works from an x64 machine: the arm64 runtime packs are restored from NuGet like any package.
#
# Usage: scripts/publish.sh [--out DIR] [--rid RID]... [--version VERSION] [--no-tool] [--no-binaries]
set -euo pipefail
here="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$here/src/Reclaim.Cli/Reclaim.Cli.csproj"
out="$here/artifacts"
rids=()
version=""
tool=1
binaries=1

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --rid) rids+=("${2:?--rid needs a runtime identifier such as linux-arm64}"); shift 2 ;;
    --version) version="${2:?--version needs a version such as 1.2.0}"; shift 2 ;;
    --no-tool) tool=0; shift ;;
    --no-binaries) binaries=0; shift ;;
    -h|--help) usage ;;
    *) echo "publish.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[ ${#rids[@]} -gt 0 ] || rids=(linux-x64 linux-arm64)
mkdir -p "$out"
out="$(cd -P "$out" && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ -z "$version" ]; then
  version="$(dotnet msbuild "$project" -getProperty:Version -nologo 2>/dev/null | tr -d '[:space:]')"
  version="${version:-1.0.0}"
fi
props=(-c Release --nologo -v quiet -clp:ErrorsOnly "-p:Version=$version")

host_rid() {
  case "$(uname -m)" in aarch64|arm64) echo linux-arm64 ;; x86_64|amd64) echo linux-x64 ;; *) echo unknown ;; esac
}

made=()
if [ "$binaries" = 1 ]; then
  for rid in "${rids[@]}"; do
    name="reclaim-$version-$rid"
    dir="$out/$name"
    rm -rf "$dir"
    echo "publish.sh: $name (self-contained single file)..." >&2
    # IncludeNativeLibrariesForSelfExtract: SQLite's native library travels inside the file too (extracted once, on
    # first use, under DOTNET_BUNDLE_EXTRACT_BASE_DIR, default ~/.net). Not compressed (EnableCompressionInSingleFile):
    # a compressed file is some 40% smaller but unpacks itself into memory at every start, which made `--version`
    # take 5 s and 238 MB instead of 1.2-2.4 s and 54 MB on a busy 2-core machine.
    dotnet publish "$project" "${props[@]}" -r "$rid" --self-contained true \
      -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:PublishReadyToRun=true \
      -p:DebugType=none -p:GenerateDocumentationFile=false -o "$dir" >&2
    [ -x "$dir/reclaim" ] || { echo "publish.sh: $rid: no $dir/reclaim was produced" >&2; exit 1; }
    # Referenced projects still drop their symbols and XML docs beside it: the file is all a user needs.
    find "$dir" -mindepth 1 ! -name reclaim -delete
    if [ "$rid" = "$(host_rid)" ]; then
      "$dir/reclaim" --version >/dev/null || { echo "publish.sh: $dir/reclaim --version failed" >&2; exit 1; }
    fi
    tar -czf "$out/$name.tar.gz" -C "$dir" reclaim
    made+=("$name.tar.gz")
  done
fi

if [ "$tool" = 1 ]; then
  echo "publish.sh: reclaim.$version.nupkg (dotnet tool)..." >&2
  rm -f "$out/reclaim.$version.nupkg"
  dotnet pack "$project" "${props[@]}" -p:DebugType=none -p:GenerateDocumentationFile=false -o "$out" >&2
  [ -f "$out/reclaim.$version.nupkg" ] || { echo "publish.sh: no $out/reclaim.$version.nupkg was produced" >&2; exit 1; }
  made+=("reclaim.$version.nupkg")
fi

if [ ${#made[@]} -gt 0 ]; then
  (cd "$out" && sha256sum "${made[@]}" > SHA256SUMS)
fi
for file in "${made[@]}"; do echo "$out/$file"; done
