#!/usr/bin/env bash
# scripts/start-dockerd.sh with fake docker and dockerd commands (no engine is touched): a process
# named dockerd that is not the default socket's engine (a private engine, a swarm test node) must
# not make it wait; the engine named by the default pid file must.
set -euo pipefail
script="$(cd "$(dirname "$0")/../.." && pwd)/scripts/start-dockerd.sh"
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "${dir}"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir "${dir}/bin" "${dir}/other"
# `docker info` answers once the file "up" exists; the fake dockerd creates it and records that it
# started.
cat >"${dir}/bin/docker" <<EOS
#!/bin/sh
[ -e "${dir}/up" ]
EOS
cat >"${dir}/bin/dockerd" <<EOS
#!/bin/sh
echo started >>"${dir}/dockerd-started"
touch "${dir}/up"
EOS
chmod +x "${dir}/bin/docker" "${dir}/bin/dockerd"
# A long-lived process whose name is dockerd, like a private engine on another socket.
cp "$(command -v sleep)" "${dir}/other/dockerd"
"${dir}/other/dockerd" 300 &
pids+=($!)
private_pid=$!

run() {
  env -u DOCKER_HOST PATH="${dir}/bin:${PATH}" TMPDIR="${dir}" \
    BERTH_DOCKERD_LOG="${dir}/dockerd.log" BERTH_DOCKERD_PIDFILE="${dir}/docker.pid" \
    bash "${script}" 2>"${dir}/out"
}

# 1. No default engine (no pid file), but a private dockerd runs: start one, do not wait.
run || fail "case 1 exited non-zero: $(cat "${dir}/out")"
grep -q "starting dockerd" "${dir}/out" || fail "case 1 did not start dockerd: $(cat "${dir}/out")"
[[ $(wc -l <"${dir}/dockerd-started") -eq 1 ]] || fail "case 1 started dockerd not once"

# 2. The pid file names a process that is not dockerd (a stale file): start one.
rm -f "${dir}/up" "${dir}/dockerd-started"
echo $$ >"${dir}/docker.pid"
run || fail "case 2 exited non-zero: $(cat "${dir}/out")"
grep -q "starting dockerd" "${dir}/out" || fail "case 2 did not start dockerd: $(cat "${dir}/out")"

# 3. The pid file names a running dockerd that does not answer yet: wait for it, start nothing.
rm -f "${dir}/up" "${dir}/dockerd-started"
echo "${private_pid}" >"${dir}/docker.pid"
(sleep 2 && touch "${dir}/up") &
pids+=($!)
run || fail "case 3 exited non-zero: $(cat "${dir}/out")"
grep -q "is running but does not answer yet" "${dir}/out" ||
  fail "case 3 did not wait: $(cat "${dir}/out")"
[[ ! -e "${dir}/dockerd-started" ]] || fail "case 3 started a second dockerd"
echo "start_dockerd_test: ok"
