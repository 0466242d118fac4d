#!/usr/bin/env bash
# Quick start, part one: installs what is missing (Debian packages, the Docker engine, Node 26 and
# OpenClaw from npm), builds, makes sure a Docker engine answers (starting dockerd when none does),
# builds the OpenClaw agent image locally when it is missing or out of date, and runs
# `berth serve` on the embedded default (SQLite under ./data) with OPENCLAW_IMAGE set to that
# image, unless OPENCLAW_IMAGE or --image names another. Settings come from flags, BERTH_*
# environment variables or --config FILE; see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --run
scripts/build.sh -DBERTH_BUILD_TESTS=OFF -DBERTH_BUILD_BENCH=OFF
scripts/start-dockerd.sh

own_image=""
for arg in "$@"; do
  [[ "${arg}" == "--image" || "${arg}" == --image=* ]] && own_image=yes
done
if [[ -z "${OPENCLAW_IMAGE:-}" && -z "${own_image}" ]]; then
  # The npm cache makes later image builds (and their up-to-date checks) fast.
  scripts/install-openclaw.sh
  built="$(build/berth image build openclaw)"  # prints "<reference> <image id>"
  export OPENCLAW_IMAGE="${built%% *}"
fi
exec build/berth serve "$@"
