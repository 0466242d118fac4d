#!/usr/bin/env bash
# Quick start, part one: installs what is missing, builds, and runs `berth serve` on the embedded
# default (SQLite under ./data). Settings come from flags, BERTH_* environment variables or
# --config FILE; see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DBERTH_BUILD_TESTS=OFF -DBERTH_BUILD_BENCH=OFF
exec build/berth serve "$@"
