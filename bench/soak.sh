#!/usr/bin/env bash
# Issue 16's soak (bench/README.md, "Reliability: soak"): `berth serve` on the embedded default
# (SQLite) and the host's engine under 30 minutes of mixed load (bench/soak/soak.py says what),
# its RSS and open descriptors sampled every minute; prints each slope and every error the load
# did not provoke on purpose, and exits 1 when one is not flat or an error was seen.
#
#   bench/soak.sh                      # 30 minutes
#   SOAK_MINUTES=5 bench/soak.sh       # a short try; extra arguments go to soak.py
#
# Needs build/berth and build/bench_sse_upstream (configure with -DBERTH_BUILD_BENCH=ON), a
# Docker engine (scripts/start-dockerd.sh) and python3. The agent image is the bench upstream
# (berth/bench-upstream:local, built here when missing and kept, as bench/proxy/run.sh does).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
IMAGE=${SOAK_IMAGE:-berth/bench-upstream:local}
BERTH=$BUILD_DIR/berth
UPSTREAM=$BUILD_DIR/bench_sse_upstream

die() {
  echo "soak.sh: $*" >&2
  exit 2
}
[[ -x $BERTH ]] || die "no berth binary at $BERTH (build it, or set BUILD_DIR)"
command -v python3 >/dev/null || die "python3 is not installed"
docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/start-dockerd.sh)"
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  [[ -x $UPSTREAM ]] ||
    die "no bench_sse_upstream in $BUILD_DIR (configure with -DBERTH_BUILD_BENCH=ON and build it)"
  "$BERTH" image build test-agent --binary "$UPSTREAM" --tag "$IMAGE" >/dev/null ||
    die "cannot build the agent image $IMAGE"
fi
echo "== soak $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
exec python3 "$SCRIPT_DIR/soak/soak.py" --berth "$BERTH" --image "$IMAGE" \
  --minutes "${SOAK_MINUTES:-30}" "$@"
