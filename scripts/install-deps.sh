#!/usr/bin/env bash
# Installs the Debian 12 packages berth builds with; with --run also those `berth serve` needs to
# run agents (the Docker engine, and what `berth image build` puts into agent images); with --test
# also those the tests use. Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

packages=(build-essential cmake pkg-config libboost-dev libboost-system-dev nlohmann-json3-dev
          libsqlite3-dev libpq-dev libspdlog-dev libcli11-dev libssl-dev)
if [[ "${1:-}" == "--run" || "${1:-}" == "--test" ]]; then
  # The busybox and CA bundle of the locally built agent images, and the engine (unless one is
  # installed already, e.g. docker-ce, which conflicts with docker.io).
  packages+=(busybox-static ca-certificates)
  command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
  # npm (with any node) bootstraps Node 24+ and OpenClaw (scripts/install-openclaw.sh).
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi
if [[ "${1:-}" == "--test" ]]; then
  packages+=(libgtest-dev libgmock-dev libbenchmark-dev sqlite3)
fi
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(libbenchmark-dev wrk nginx-light)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
