#!/usr/bin/env bash
# Installs the Debian 12 packages berth builds with; with --run also those `berth serve` needs to
# run agents (the Docker engine, and what `berth image build` puts into agent images); with --test
# also those the tests use (including the PostgreSQL server, whose own cluster is stopped: the tests
# run throwaway clusters of their own). Idempotent: installs only what is missing. Needs root (or
# sudo).
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
  # docker-registry: the image registry of the swarm tests' nodes (scripts/swarm-cluster.sh).
  # clang: the libFuzzer targets (fuzz/), built with ASan and UBSan in build-fuzz/.
  packages+=(clang-format clang libgtest-dev libgmock-dev libbenchmark-dev sqlite3 postgresql
            docker-registry)
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
  # Debian creates and starts a cluster with the server package; berth's tests start throwaway
  # clusters of their own (tests/support/postgres_test_cluster.hpp) and need none: stop the one
  # this install made and keep it from starting at boot.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters --no-header 2>/dev/null | while read -r version cluster _; do
      $sudo pg_ctlcluster "$version" "$cluster" stop 2>/dev/null || true
      echo manual | $sudo tee "/etc/postgresql/$version/$cluster/start.conf" >/dev/null
    done
  fi
  # Likewise the registry service the package starts (on :5000, every interface): the swarm tests
  # run a registry of their own on their nodes' link.
  if [[ " ${missing[*]} " == *" docker-registry "* ]] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
fi
