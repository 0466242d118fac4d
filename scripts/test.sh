#!/usr/bin/env bash
# Quick start, part two: installs what is missing (Debian packages; Node 26 and the real OpenClaw
# gateway from npm, cached outside the build tree), builds, and runs the whole test suite with
# ctest. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/install-openclaw.sh
scripts/build.sh -DBERTH_BUILD_TESTS=ON -DBERTH_BUILD_BENCH=ON
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
