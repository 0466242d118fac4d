#!/usr/bin/env bash
# Quick start, part two: installs what is missing (Debian packages; Node 26 and the real OpenClaw
# gateway from npm, cached outside the build tree), builds, makes sure a Docker engine answers
# (starting dockerd when none does), builds the agent images the tests run (no registry needed;
# skipped in seconds when their inputs are unchanged), and runs the whole test suite with ctest,
# the fuzz targets' smoke runs (build-fuzz/, ctest -L fuzz) first.
# The images reach the tests as BERTH_TEST_AGENT_IMAGE and BERTH_OPENCLAW_IMAGE (preset values are
# used as they are). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's wall time, so that a slow CI run says where its time went.
step() {
  local t0=${SECONDS} rc=0
  "$@" || rc=$?
  echo "test.sh: ${1##*/} took $((SECONDS - t0)) s" >&2
  return "${rc}"
}
step scripts/install-deps.sh --test
# The house style is checked, not argued about (STYLE.md): a source clang-format would change fails.
step scripts/check-format.sh
step scripts/install-openclaw.sh
# The official openai npm client, which the chat tests drive against berth (tests/node).
step npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
step scripts/build.sh -DBERTH_BUILD_TESTS=ON -DBERTH_BUILD_BENCH=ON
# The fuzz targets (fuzz/, their own build dir) each run a few seconds on their seed corpus.
step scripts/fuzz-build.sh
step ctest --test-dir build-fuzz -L fuzz --output-on-failure -j"$(nproc)"
step scripts/start-dockerd.sh

# `berth image build` prints "<reference> <image id>".
images_t0=${SECONDS}
if [[ -z "${BERTH_TEST_AGENT_IMAGE:-}" ]]; then
  built="$(build/berth image build test-agent)"
  export BERTH_TEST_AGENT_IMAGE="${built%% *}"
fi
if [[ -z "${BERTH_OPENCLAW_IMAGE:-}" ]]; then
  built="$(build/berth image build openclaw)"
  export BERTH_OPENCLAW_IMAGE="${built%% *}"
fi
echo "test.sh: the images took $((SECONDS - images_t0)) s" >&2
echo "test.sh: BERTH_TEST_AGENT_IMAGE=${BERTH_TEST_AGENT_IMAGE} BERTH_OPENCLAW_IMAGE=${BERTH_OPENCLAW_IMAGE}"

cd build
rc=0
step ctest --output-on-failure -j"$(nproc)" "$@" || rc=$?
# CI keeps a log's tail: the reasons of the failures go after ctest's summary.
[[ ${rc} -eq 0 ]] || ../scripts/failure-digest.sh .
exit "${rc}"
