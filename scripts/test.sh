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
scripts/install-deps.sh --test
# The house style is checked, not argued about (STYLE.md): a source clang-format would change fails.
scripts/check-format.sh
scripts/install-openclaw.sh
# The official openai npm client, which the chat tests drive against berth (tests/node).
npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
scripts/build.sh -DBERTH_BUILD_TESTS=ON -DBERTH_BUILD_BENCH=ON
# The fuzz targets (fuzz/, their own build dir) each run a few seconds on their seed corpus.
scripts/fuzz-build.sh
ctest --test-dir build-fuzz -L fuzz --output-on-failure -j"$(nproc)"
scripts/start-dockerd.sh

# `berth image build` prints "<reference> <image id>".
if [[ -z "${BERTH_TEST_AGENT_IMAGE:-}" ]]; then
  built="$(build/berth image build test-agent)"
  export BERTH_TEST_AGENT_IMAGE="${built%% *}"
fi
if [[ -z "${BERTH_OPENCLAW_IMAGE:-}" ]]; then
  built="$(build/berth image build openclaw)"
  export BERTH_OPENCLAW_IMAGE="${built%% *}"
fi
echo "test.sh: BERTH_TEST_AGENT_IMAGE=${BERTH_TEST_AGENT_IMAGE} BERTH_OPENCLAW_IMAGE=${BERTH_OPENCLAW_IMAGE}"

cd build
ctest --output-on-failure -j"$(nproc)" "$@"
