#!/usr/bin/env bash
# Runs berth's benchmarks one after the other and writes the results to stdout:
#   1. bench_token_lookup   token lookup, hash index vs the seed's decrypt-all scan
#   2. internal_endpoint.sh the internal endpoint under wrk, against nginx in the same run
#   3. bench_lifecycle_*    the agent lifecycle on the real Docker engine: cold start against the
#                           raw engine, the warm EnsureRunning path, the health sweep over a fleet
#                           of test agents against a sequential inspect-each sweep
#   4. proxy/run.sh         the chat proxy: one SSE upstream direct, through berth, nginx and
#                           configurable-http-proxy (only when BENCH_ONLY names "proxy": it
#                           installs wrk, nginx and CHP when missing and holds 10,000 streams)
# Builds nothing: expects a build with -DBERTH_BUILD_BENCH=ON (the default) in BUILD_DIR
# (default: the repo's build/). Settings of internal_endpoint.sh (RECORDS, DURATION, ROUNDS, ...)
# and of the lifecycle benchmarks (COLD_*, WARM_*, SWEEP_*, BENCH_IMAGE) pass through the
# environment; TOKEN_LOOKUP_ARGS adds flags to bench_token_lookup (e.g.
# --benchmark_filter=records:1000/). BENCH_ONLY picks benchmarks by name, space-separated, from
# "lookup endpoint cold warm sweep proxy" (default: all but proxy; its settings, BENCH_TARGETS
# and the rest, pass through too). See bench/README.md.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}

BENCH_ONLY=${BENCH_ONLY:-lookup endpoint cold warm sweep}
selected() { [[ " $BENCH_ONLY " == *" $1 "* ]]; }

need() {
  if [[ ! -x $BUILD_DIR/$1 ]]; then
    echo "run.sh: no $1 in $BUILD_DIR (configure with -DBERTH_BUILD_BENCH=ON and build it, or" \
      "set BUILD_DIR)" >&2
    exit 2
  fi
}
LOOKUP=$BUILD_DIR/bench_token_lookup
if selected lookup; then need bench_token_lookup; fi
if selected cold; then need bench_lifecycle_cold_start; fi
if selected warm; then need bench_lifecycle_warm_ensure; fi
if selected sweep; then need bench_lifecycle_sweep; fi
if selected proxy; then need bench_sse_upstream; fi

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

if selected lookup; then
  echo
  echo "== 1. token lookup: hash index vs the seed's decrypt-all scan"
  # shellcheck disable=SC2086  # TOKEN_LOOKUP_ARGS is a list of flags
  "$LOOKUP" ${TOKEN_LOOKUP_ARGS:-}
fi

if selected endpoint; then
  echo
  echo "== 2. internal endpoint under load"
  "$SCRIPT_DIR/internal_endpoint.sh"
fi

# The lifecycle benchmarks talk to the Docker engine (DOCKER_HOST or the default socket) and
# remove everything they create, also when interrupted; each imports the test-agent image from
# $BUILD_DIR/berth-test-agent under a per-run tag unless BENCH_IMAGE names one. A failed run
# does not stop the others: its exit status is reported at the end.
exit_status=0
run_lifecycle() {
  local name=$1
  echo
  "$BUILD_DIR/$name" || {
    local rc=$?
    [[ $rc -eq 130 ]] && exit 130
    echo "run.sh: $name exited with status $rc" >&2
    exit_status=1
  }
}
if selected cold; then
  echo
  echo "== 3. agent cold start, berth vs the raw engine"
  run_lifecycle bench_lifecycle_cold_start
fi
if selected warm; then
  echo
  echo "== 4. warm EnsureRunning"
  run_lifecycle bench_lifecycle_warm_ensure
fi
if selected sweep; then
  echo
  echo "== 5. health sweep over ${SWEEP_AGENTS:-1000} running test agents"
  run_lifecycle bench_lifecycle_sweep
fi
if selected proxy; then
  echo
  echo "== 6. chat proxy: direct, berth, nginx, configurable-http-proxy"
  "$SCRIPT_DIR/proxy/run.sh" || {
    rc=$?
    [[ $rc -eq 130 ]] && exit 130
    echo "run.sh: proxy/run.sh exited with status $rc" >&2
    exit_status=1
  }
fi
exit $exit_status
