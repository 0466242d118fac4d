#!/usr/bin/env bash
# Makes sure a Docker engine answers, for the quick start and CI (berth runs its agents on it):
#   - an engine that answers (`docker info`) is left alone: never restarted;
#   - DOCKER_HOST naming another engine: that one must answer, nothing is started;
#   - otherwise docker.io is installed when dockerd is missing (Debian 12), dockerd is started in
#     the background (log: /var/log/berth-dockerd.log; extra flags: BERTH_DOCKERD_ARGS) unless one
#     is already starting, and the script waits up to 60 s for it to answer.
# Idempotent. Needs root (or sudo) to install or start. Exits non-zero when no engine answers.
set -euo pipefail

readonly LOG="${BERTH_DOCKERD_LOG:-/var/log/berth-dockerd.log}"
readonly WAIT_SECONDS=60
# The default engine's pid file (overridable for tests/scripts/start_dockerd_test.sh).
readonly PID_FILE="${BERTH_DOCKERD_PIDFILE:-/var/run/docker.pid}"

say() { echo "start-dockerd: $*" >&2; }

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"

answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  say "the engine answers"
  exit 0
fi

host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
if [[ "${host}" != "unix:///var/run/docker.sock" && "${host}" != "/var/run/docker.sock" ]]; then
  say "DOCKER_HOST=${host} does not answer; start that engine, or unset DOCKER_HOST to use a local one"
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  say "installing docker.io"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends docker.io
fi

# Two callers at once must not start two engines.
exec 9>"${TMPDIR:-/tmp}/berth-start-dockerd.lock"
flock 9

if answers; then
  say "the engine answers"
  exit 0
fi
# Only the engine of the default socket counts: other dockerd processes (a private engine on its
# own socket, a rootless one, the tests' swarm nodes) neither answer here nor block starting one.
default_engine_starting() {
  local pid
  pid=$(cat "${PID_FILE}" 2>/dev/null) || return 1
  [[ -n $pid && -d /proc/$pid ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]]
}
if default_engine_starting; then
  say "dockerd (pid $(cat "${PID_FILE}")) is running but does not answer yet; waiting for it"
else
  say "starting dockerd (log: ${LOG})"
  # shellcheck disable=SC2086  # BERTH_DOCKERD_ARGS is a list of flags
  $sudo sh -c "setsid dockerd ${BERTH_DOCKERD_ARGS:-} >>'${LOG}' 2>&1 < /dev/null &"
fi

for ((i = 0; i < WAIT_SECONDS; i++)); do
  if answers; then
    say "the engine answers ($(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo "?"))"
    exit 0
  fi
  sleep 1
done
say "dockerd did not answer within ${WAIT_SECONDS} s; the end of ${LOG}:"
$sudo tail -n 30 "${LOG}" >&2 || true
exit 1
