#!/usr/bin/env bash
# A throwaway three-node Docker Swarm on this one machine, for the swarm tests:
#
#   scripts/swarm-cluster.sh up DIR     # ~15-25 s; DIR must not hold a cluster already
#   scripts/swarm-cluster.sh down DIR   # stops and removes everything `up` made; safe to re-run
#
# `up` makes, all named with a per-run prefix P (bsw + 5 hex digits):
#   - network namespaces P-sw (a switch holding bridge br0) and P-n0, P-n1, P-n2 (the nodes), each
#     node joined to the bridge by a veth (eth0 inside), and a veth P-h from the host to the bridge:
#     the host is 10.199.K.1, node i is 10.199.K.(i+2) on a free 10.199.K.0/24. The bridge lives in
#     its own namespace so the host's packet filter (Docker's FORWARD policy DROP) never sees
#     node-to-node traffic, and nothing of the host's firewall is changed. Nodes get no default
#     route: they reach the link and nothing else;
#   - one dockerd per node (own data-root under DIR, exec-root, pidfile and socket under
#     /run/berth-swarm-P), started as ARCHITECTURE.md says ("Docker Swarm"): nsenter into the node's
#     namespace, unshare --uts for the node's own hostname. Not `ip netns exec`, which remounts /sys.
#     With --no-new-privileges, which berth's agents need and a service spec cannot ask for. They
#     share the host's /etc/docker/key.json, so GET /info's ID is the same on every node (and the
#     host): tell nodes apart by Swarm.NodeID;
#   - a swarm: P-n0 the manager (swarm init --advertise-addr, --default-addr-pool 10.198.0.0/16), the
#     others workers;
#   - a registry (Debian's docker-registry) on 10.199.K.1:<free port>, in every daemon's
#     insecure-registries, holding the test agent image: BERTH_TEST_AGENT_IMAGE (default
#     berth/test-agent:0.1.0) taken from the host's engine (built there with
#     `$BERTH_BINARY image build test-agent` when missing; BERTH_BINARY defaults to build/berth),
#     loaded into the manager and pushed from there (the host's engine is only read, never
#     reconfigured), then pulled by digest on every node.
#
# When `up` succeeds it writes DIR/cluster.env (KEY=VALUE lines, READY=1 last) naming the sockets,
# addresses, the registry and the image's digest reference; the tests read it. When this machine
# cannot run the cluster (not root, a tool missing) `up` writes the reason to DIR/unavailable and
# exits 3 (0 with BERTH_SWARM_UNAVAILABLE_OK=1, for a ctest fixture: the tests then skip with the
# reason). When `up` fails part-way it removes what it made (as `down`) and exits 1; the logs are
# printed first.
#
# `down` reads DIR/state (written step by step while `up` works, so a broken `up` is cleaned up
# too), stops the daemons (SIGTERM, then SIGKILL after 30 s, then every process left in a node's
# namespace or a container cgroup of that node), stops the registry, unmounts what is left under
# the cluster's dirs, deletes the namespaces (and with them the bridge and veths), removes the
# dirs, and checks that no namespace, link or process of the prefix is left (exit 1 when one is).
# Everything is found through the state file: nothing else on the machine is touched. (What stays
# is /run/berth-swarm.lock, the empty lock file concurrent `up`s take while they pick a subnet.)
#
# Measured here (2 cores, busy): up 9-12 s, down 8-9 s (the daemons' own shutdown; 8 s too when
# they were SIGKILLed with tasks running).
set -euo pipefail

readonly NODES=3
readonly LINK_PREFIX=10.199
readonly ADDR_POOL=10.198.0.0/16
readonly WAIT_SECONDS=60

say() { echo "swarm-cluster: $*" >&2; }
die() {
  say "$*"
  exit 1
}

usage() {
  echo "usage: $0 up|down DIR" >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
readonly ACTION=$1
DIR=$2
[[ -n "${DIR}" ]] || usage
DIR=$(realpath -m "${DIR}")
readonly DIR
readonly STATE="${DIR}/state"
readonly REPO="$(cd "$(dirname "$0")/.." && pwd)"

# ---------------------------------------------------------------------------------------------
# down

# Every value of KEY in the state file (one line per value).
state_get() { [[ -f "${STATE}" ]] && sed -n "s/^$1=//p" "${STATE}" || true; }

alive() { [[ -n "$1" && -d "/proc/$1" ]]; }

# Pids of processes inside network namespace $1 (empty when it is gone).
netns_pids() { ip netns pids "$1" 2>/dev/null || true; }

# The cgroup dirs of the containers a node's daemon made (cgroupfs driver: <controller>/docker/<id>,
# or v2's docker/<id>), found from the container ids under its data-root. A killed daemon leaves
# them behind.
container_cgroups() {
  local data=$1 id d
  [[ -d "${data}/containers" ]] || return 0
  for id in $(ls "${data}/containers" 2>/dev/null); do
    [[ "${id}" =~ ^[0-9a-f]{64}$ ]] || continue
    for d in /sys/fs/cgroup/*/docker/"${id}" /sys/fs/cgroup/docker/"${id}"; do
      [[ -d "$d" ]] && echo "$d"
    done
  done
  return 0
}

stop_daemons() {
  local prefix=$1 run=$2 i pid pids=() deadline
  for ((i = 0; i < NODES; i++)); do
    pid=$(cat "${run}/n${i}.pid" 2>/dev/null || true)
    [[ -z "${pid}" ]] && pid=$(state_get "DOCKERD_PID_${i}" | tail -n 1)
    if alive "${pid}" && [[ $(cat "/proc/${pid}/comm" 2>/dev/null) == dockerd ]]; then
      kill -TERM "${pid}" 2>/dev/null || true
      pids+=("${pid}")
    fi
  done
  deadline=$((SECONDS + 30))
  for pid in "${pids[@]}"; do
    while alive "${pid}" && ((SECONDS < deadline)); do sleep 0.2; done
    if alive "${pid}"; then
      say "dockerd ${pid} did not stop within 30 s: killing it"
      kill -KILL "${pid}" 2>/dev/null || true
    fi
  done
  # What a killed daemon leaves: its containerd, shims and proxies (in the node's namespace) and
  # its containers' processes (in their own namespaces, found by cgroup).
  for ((i = 0; i < NODES; i++)); do
    local left cgroups d
    cgroups=$(container_cgroups "${DIR}/n${i}/data")
    # (A container's processes are listed once per cgroup controller: each pid once.)
    left=$(
      netns_pids "${prefix}-n${i}"
      for d in ${cgroups}; do cat "$d/cgroup.procs" 2>/dev/null; done
    )
    left=$(sort -un <<<"${left}")
    if [[ -n "${left}" ]]; then
      say "killing what node ${i} left: $(echo ${left})"
      # shellcheck disable=SC2086
      kill -KILL ${left} 2>/dev/null || true
      sleep 0.5
    fi
    for d in ${cgroups}; do rmdir "$d" 2>/dev/null || say "cannot remove cgroup $d"; done
  done
}

unmount_under() {
  local root=$1 target
  [[ -n "${root}" ]] || return 0
  findmnt -rn -o TARGET | awk -v r="${root}/" 'index($0 "/", r) == 1' | sort -r |
    while read -r target; do
      umount -l "${target}" 2>/dev/null || say "cannot unmount ${target}"
    done
}

down() {
  if [[ ! -e "${DIR}" ]]; then
    say "${DIR} does not exist: nothing to remove"
    return 0
  fi
  local prefix run reg_pid i ns left=0
  prefix=$(state_get PREFIX | tail -n 1)
  if [[ -z "${prefix}" ]]; then
    [[ -f "${DIR}/unavailable" || ! -f "${STATE}" ]] || die "${STATE} names no prefix"
    rm -rf "${DIR}"
    return 0
  fi
  [[ "${prefix}" =~ ^bsw[0-9a-f]{5}$ ]] || die "${STATE}: unexpected prefix '${prefix}'"
  run=/run/berth-swarm-${prefix}
  say "removing cluster ${prefix}"

  stop_daemons "${prefix}" "${run}"

  reg_pid=$(state_get REGISTRY_PID | tail -n 1)
  if alive "${reg_pid}" && grep -qa "${DIR}/registry.yml" "/proc/${reg_pid}/cmdline" 2>/dev/null; then
    kill -TERM "${reg_pid}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do alive "${reg_pid}" || break; sleep 0.1; done
    alive "${reg_pid}" && kill -KILL "${reg_pid}" 2>/dev/null || true
  fi

  unmount_under "${run}"
  unmount_under "${DIR}"
  for ns in $(state_get NETNS); do
    ip netns del "${ns}" 2>/dev/null || true
  done
  ip link del "${prefix}-h" 2>/dev/null || true
  rm -rf "${run}"
  rm -rf "${DIR}" || {
    unmount_under "${DIR}"
    rm -rf "${DIR}"
  }

  # Nothing of this prefix may be left.
  if ip netns list | grep -q "^${prefix}-"; then
    say "left behind: namespaces $(ip netns list | grep "^${prefix}-" | tr '\n' ' ')"
    left=1
  fi
  if ip -o link show | grep -q ": ${prefix}-"; then
    say "left behind: links $(ip -o link show | grep ": ${prefix}-" | cut -d: -f2 | tr '\n' ' ')"
    left=1
  fi
  if pgrep -f -- "berth-swarm-${prefix}|${DIR}/" >/dev/null; then
    say "left behind: processes $(pgrep -f -- "berth-swarm-${prefix}|${DIR}/" | tr '\n' ' ')"
    left=1
  fi
  ((left == 0)) || return 1
  say "cluster ${prefix} removed"
}

# ---------------------------------------------------------------------------------------------
# up

unavailable() {
  mkdir -p "${DIR}"
  echo "$*" >"${DIR}/unavailable"
  say "this machine cannot run the swarm cluster: $*"
  if [[ "${BERTH_SWARM_UNAVAILABLE_OK:-0}" == 1 ]]; then exit 0; fi
  exit 3
}

check_prerequisites() {
  [[ $(id -u) -eq 0 ]] || unavailable "needs root (network namespaces and dockerd)"
  local tool
  for tool in ip nsenter unshare dockerd docker docker-registry curl findmnt flock; do
    command -v "${tool}" >/dev/null 2>&1 || unavailable "${tool} is not installed${tool/docker-registry/ (apt-get install docker-registry)}"
  done
  docker info >/dev/null 2>&1 || unavailable "the host's Docker engine does not answer (it holds the test agent image)"
  ip netns add "berth-swarm-probe-$$" 2>/dev/null || unavailable "cannot create network namespaces"
  ip netns del "berth-swarm-probe-$$"
}

record() { echo "$1=$2" >>"${STATE}"; }

node_sock() { echo "unix:///run/berth-swarm-${PREFIX}/n$1.sock"; }
ndocker() {
  local i=$1
  shift
  docker -H "$(node_sock "$i")" "$@"
}

# A 10.199.K.0/24 no address or route of the host uses. REQUIRES: the setup lock.
pick_link_subnet() {
  local k used
  used=$( (
    ip -4 -o addr show
    ip -4 route show table all
  ) | grep -oE "${LINK_PREFIX//./\\.}\.[0-9]+\." | sort -u)
  for k in $(shuf -i 1-254); do
    grep -qx "${LINK_PREFIX//./\\.}\.${k}\." <<<"${used}" || {
      echo "${k}"
      return 0
    }
  done
  return 1
}

# A TCP port nothing listens on (the registry's).
pick_port() {
  local port
  for port in $(shuf -i 30000-60999 -n 50); do
    ss -Htln "sport = :${port}" | grep -q . || {
      echo "${port}"
      return 0
    }
  done
  return 1
}

wait_for() {
  local what=$1
  shift
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "${what} did not happen within ${WAIT_SECONDS} s"
    sleep 0.2
  done
}

make_network() {
  local k=$1 i
  ip netns add "${PREFIX}-sw"
  record NETNS "${PREFIX}-sw"
  ip -n "${PREFIX}-sw" link add br0 type bridge
  ip -n "${PREFIX}-sw" link set br0 up
  ip link add "${PREFIX}-h" type veth peer name hostport netns "${PREFIX}-sw"
  ip -n "${PREFIX}-sw" link set hostport master br0 up
  ip addr add "${LINK_PREFIX}.${k}.1/24" dev "${PREFIX}-h"
  ip link set "${PREFIX}-h" up
  for ((i = 0; i < NODES; i++)); do
    local ns="${PREFIX}-n${i}"
    ip netns add "${ns}"
    record NETNS "${ns}"
    ip link add "${ns}" type veth peer name eth0 netns "${ns}"
    ip link set "${ns}" netns "${PREFIX}-sw"
    ip -n "${PREFIX}-sw" link set "${ns}" master br0 up
    ip -n "${ns}" link set lo up
    ip -n "${ns}" addr add "${LINK_PREFIX}.${k}.$((i + 2))/24" dev eth0
    ip -n "${ns}" link set eth0 up
  done
}

start_registry() {
  local addr=$1
  mkdir -p "${DIR}/registry"
  cat >"${DIR}/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${DIR}/registry
  delete:
    enabled: true
http:
  addr: ${addr}
EOF
  setsid docker-registry serve "${DIR}/registry.yml" >"${DIR}/registry.log" 2>&1 </dev/null &
  record REGISTRY_PID $!
}

start_daemon() {
  local i=$1 k=$2 registry=$3 ns="${PREFIX}-n$1" run="/run/berth-swarm-${PREFIX}"
  mkdir -p "${DIR}/n${i}/data" "${run}/n${i}"
  # Its own configuration file: nothing of the host's /etc/docker/daemon.json applies.
  echo '{}' >"${DIR}/n${i}/daemon.json"
  setsid nsenter --net="/run/netns/${ns}" unshare --uts sh -c "hostname ${ns}; exec dockerd \
    --config-file ${DIR}/n${i}/daemon.json --data-root ${DIR}/n${i}/data --exec-root ${run}/n${i} \
    --pidfile ${run}/n${i}.pid -H unix://${run}/n${i}.sock --insecure-registry ${registry} \
    --no-new-privileges --log-level warn" >"${DIR}/n${i}/dockerd.log" 2>&1 </dev/null &
  record "DOCKERD_PID_${i}" $!
}

print_logs() {
  local f
  for f in "${DIR}"/n*/dockerd.log "${DIR}/registry.log"; do
    [[ -s "$f" ]] || continue
    say "--- the end of ${f}:"
    tail -n 15 "$f" >&2
  done
}

up() {
  if [[ -f "${STATE}" ]]; then
    die "${DIR} holds a cluster ($(state_get PREFIX | tail -n 1)); run: $0 down ${DIR}"
  fi
  rm -f "${DIR}/unavailable"
  check_prerequisites
  local start=${SECONDS} image=${BERTH_TEST_AGENT_IMAGE:-berth/test-agent:0.1.0}
  local binary=${BERTH_BINARY:-${REPO}/build/berth}
  if ! docker image inspect "${image}" >/dev/null 2>&1; then
    [[ -x "${binary}" ]] || die "${image} is not on the host's engine and ${binary} is not built to build it"
    say "building ${image} on the host's engine"
    "${binary}" image build test-agent >&2
    docker image inspect "${image}" >/dev/null 2>&1 || die "${binary} image build test-agent did not make ${image}"
  fi

  mkdir -p "${DIR}"
  PREFIX="bsw$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 5)"
  readonly PREFIX
  echo "PREFIX=${PREFIX}" >"${STATE}"
  trap 'status=$?; trap - EXIT; if ((status != 0)); then say "up failed; removing what it made"; print_logs; down || true; fi; exit ${status}' EXIT
  mkdir -p "/run/berth-swarm-${PREFIX}"

  local k
  {
    flock 9
    k=$(pick_link_subnet) || die "no free ${LINK_PREFIX}.K.0/24 for the nodes' link"
    make_network "${k}"
  } 9>/run/berth-swarm.lock
  local host_addr="${LINK_PREFIX}.${k}.1" port
  port=$(pick_port) || die "no free port for the registry"
  local registry="${host_addr}:${port}" i
  start_registry "${registry}"
  for ((i = 0; i < NODES; i++)); do start_daemon "$i" "$k" "${registry}"; done

  wait_for "the registry answering on ${registry}" curl -fsS "http://${registry}/v2/"
  for ((i = 0; i < NODES; i++)); do
    wait_for "dockerd of node ${i} answering" ndocker "$i" version
  done
  say "daemons up after $((SECONDS - start)) s"

  # The image: from the host's engine into the manager, pushed to the registry from there.
  local repo="${registry}/berth/test-agent" tag=${image##*:} digest_ref
  [[ "${image}" == *:* ]] || tag=latest
  docker save "${image}" | ndocker 0 load -q >/dev/null
  ndocker 0 tag "${image}" "${repo}:${tag}"
  ndocker 0 push -q "${repo}:${tag}" >/dev/null
  digest_ref=$(ndocker 0 image inspect --format '{{index .RepoDigests 0}}' "${repo}:${tag}")
  [[ "${digest_ref}" == "${repo}@sha256:"* ]] || die "no digest for ${repo}:${tag} (got '${digest_ref}')"

  local manager_addr="${LINK_PREFIX}.${k}.2" token pids=()
  ndocker 0 swarm init --advertise-addr "${manager_addr}" --listen-addr "${manager_addr}:2377" \
    --default-addr-pool "${ADDR_POOL}" >/dev/null
  token=$(ndocker 0 swarm join-token -q worker)
  for ((i = 1; i < NODES; i++)); do
    (ndocker "$i" swarm join --token "${token}" --advertise-addr "${LINK_PREFIX}.${k}.$((i + 2))" \
      "${manager_addr}:2377" >/dev/null && ndocker "$i" pull -q "${digest_ref}" >/dev/null) &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || die "a worker did not join or could not pull ${digest_ref}"; done
  ready_nodes() { [[ $(ndocker 0 node ls --format '{{.Status}}' | grep -c '^Ready$') -eq ${NODES} ]]; }
  wait_for "${NODES} nodes ready" ready_nodes

  {
    echo "PREFIX=${PREFIX}"
    echo "NODES=${NODES}"
    echo "MANAGER_HOST=$(node_sock 0)"
    for ((i = 0; i < NODES; i++)); do
      echo "NODE${i}_HOST=$(node_sock "$i")"
      echo "NODE${i}_ADDR=${LINK_PREFIX}.${k}.$((i + 2))"
      echo "NODE${i}_NAME=${PREFIX}-n${i}"
    done
    echo "HOST_ADDR=${host_addr}"
    echo "REGISTRY=${registry}"
    echo "TEST_AGENT_IMAGE=${digest_ref}"
    echo "ADDR_POOL=${ADDR_POOL}"
    echo "READY=1"
  } >"${DIR}/cluster.env.tmp"
  mv "${DIR}/cluster.env.tmp" "${DIR}/cluster.env"
  trap - EXIT
  say "cluster ${PREFIX} up in $((SECONDS - start)) s: manager $(node_sock 0) (${manager_addr}), registry ${registry}"
}

case "${ACTION}" in
  up) up ;;
  down) down ;;
  *) usage ;;
esac
