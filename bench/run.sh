#!/usr/bin/env bash
# Runs berth's benchmarks one after the other and writes the results to stdout:
#   1. bench_token_lookup   token lookup, hash index vs the seed's decrypt-all scan
#   2. internal_endpoint.sh the internal endpoint under wrk, against nginx in the same run
# Builds nothing: expects a build with -DBERTH_BUILD_BENCH=ON (the default) in BUILD_DIR
# (default: the repo's build/). Settings of internal_endpoint.sh (RECORDS, DURATION, ROUNDS, ...)
# pass through the environment; TOKEN_LOOKUP_ARGS adds flags to bench_token_lookup (e.g.
# --benchmark_filter=records:1000/). See bench/README.md.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}

LOOKUP=$BUILD_DIR/bench_token_lookup
if [[ ! -x $LOOKUP ]]; then
  echo "run.sh: no bench_token_lookup in $BUILD_DIR (configure with -DBERTH_BUILD_BENCH=ON and" \
    "build it, or set BUILD_DIR)" >&2
  exit 2
fi

# One temp dir for everything both benchmarks write (databases, nginx prefix), removed on exit
# even when a benchmark is interrupted. tmpfs when available: see internal_endpoint.sh.
if [[ -z ${BENCH_TMPDIR:-} ]]; then
  if [[ -d /dev/shm && -w /dev/shm ]]; then BENCH_TMPDIR=/dev/shm; else BENCH_TMPDIR=${TMPDIR:-/tmp}; fi
fi
RUN_TMP=$(mktemp -d "$BENCH_TMPDIR/berth-bench-run.XXXXXX")
trap 'rm -rf "$RUN_TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export BENCH_TMPDIR=$RUN_TMP

echo "== berth benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)"
if commit=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null); then
  echo "commit: $commit$(git -C "$REPO_DIR" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
fi

echo
echo "== 1. token lookup: hash index vs the seed's decrypt-all scan"
# shellcheck disable=SC2086  # TOKEN_LOOKUP_ARGS is a list of flags
"$LOOKUP" ${TOKEN_LOOKUP_ARGS:-}

echo
echo "== 2. internal endpoint under load"
"$SCRIPT_DIR/internal_endpoint.sh"
