#!/usr/bin/env bash
# The packet-filter rules each Docker Swarm node running berth's agents needs (ARCHITECTURE.md,
# "Docker Swarm"); run as root on every node, after its dockerd is up and at every boot:
#
#   scripts/swarm-node-firewall.sh apply --berth ADDR[,ADDR...] [--ports LO-HI]
#   scripts/swarm-node-firewall.sh remove
#
# Why: berth reaches an agent's gateway at its node's address and the port the node published it
# on (host mode, a port the node picks). The engine publishes it on every address of the node, so
# without these rules any agent reaches any other agent's gateway there, on its own node and on
# the others (measured on the test swarm). The agents' bridge (EnsureSwarmBridge, ICC off) stops
# agent-to-agent traffic by container address only.
#
# `apply` admits new TCP connections to the published port range only from berth's addresses
# (ADDR: IPv4 or IPv6, with an optional /prefix) and from the node itself (loopback), and answers
# every other one with a TCP reset. Everything lives in one chain, BERTH-AGENTS (in iptables and,
# when available, ip6tables), filled in one transaction (iptables-restore --noflush), and hooked
# in twice, each hook once however often `apply` runs:
#   - INPUT: an agent connecting to its own node's address reaches the userland proxy
#     (docker-proxy) listening there: the packet is local, never NATed;
#   - DOCKER-USER (FORWARD; made when missing, dockerd keeps it): from anywhere else the engine
#     DNATs the published port to the container's address and gateway port before the filter
#     sees it, so the hook takes only DNATed connections (conntrack state DNAT) and the chain
#     matches the port the client asked for (--ctorigdstport), in the original direction only
#     (--ctdir ORIGINAL): replies to the node's or an agent's own outgoing connections to a port
#     in the range (a registry on port 46929, say) are never touched.
# --ports defaults to the node's ip_local_port_range (/proc/sys/net/ipv4/ip_local_port_range, in
# the namespace the script runs in), which is where dockerd takes a host-mode port with no
# PublishedPort from (measured: 32768-60999 here, ports handed out from 32768 up; dockerd falls
# back to 49153-65535 when it cannot read the file). Other services listening in that range on
# the node get the same treatment.
#
# `remove` deletes the hooks and the chain. Nothing else of the node's filter is read or changed.
# Both exit 0 on success, 2 on bad arguments, 1 when a command failed.
set -euo pipefail

readonly CHAIN=BERTH-AGENTS

say() { echo "swarm-node-firewall: $*" >&2; }
usage() {
  echo "usage: $0 apply --berth ADDR[,ADDR...] [--ports LO-HI] | remove" >&2
  exit 2
}

# The commands for each family present on this node: iptables always, ip6tables when it works.
families() {
  echo iptables
  if command -v ip6tables >/dev/null 2>&1 && ip6tables -w -S INPUT >/dev/null 2>&1; then
    echo ip6tables
  fi
}

valid_addr() {
  local a=$1
  [[ "${a}" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?$ ]] ||
    [[ "${a}" =~ ^[0-9a-fA-F:]*:[0-9a-fA-F:.]*(/[0-9]{1,3})?$ ]]
}

# Is `addr` of the family `ipt` filters?
of_family() {
  local ipt=$1 addr=$2
  if [[ "${ipt}" == ip6tables ]]; then [[ "${addr}" == *:* ]]; else [[ "${addr}" != *:* ]]; fi
}

has_chain() { "$1" -w -S "$2" >/dev/null 2>&1; }

# Inserts `rule` (the words after the chain name) at the top of `chain` unless it is there.
hook() {
  local ipt=$1 chain=$2
  shift 2
  "${ipt}" -w -C "${chain}" "$@" 2>/dev/null || "${ipt}" -w -I "${chain}" 1 "$@"
}

unhook() {
  local ipt=$1 chain=$2
  shift 2
  has_chain "${ipt}" "${chain}" || return 0
  while "${ipt}" -w -C "${chain}" "$@" 2>/dev/null; do "${ipt}" -w -D "${chain}" "$@"; done
}

readonly INPUT_HOOK=(-p tcp -j "${CHAIN}")
readonly FORWARD_HOOK=(-p tcp -m conntrack --ctstate DNAT -j "${CHAIN}")

apply() {
  local berth="" ports=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --berth) [[ $# -ge 2 ]] || usage; berth=$2; shift 2 ;;
      --ports) [[ $# -ge 2 ]] || usage; ports=$2; shift 2 ;;
      *) usage ;;
    esac
  done
  [[ -n "${berth}" ]] || { say "--berth is required"; usage; }
  local addrs=() a
  IFS=, read -r -a addrs <<<"${berth}"
  for a in "${addrs[@]}"; do
    valid_addr "${a}" || { say "not an address: '${a}'"; exit 2; }
  done
  if [[ -z "${ports}" ]]; then
    ports=$(tr -s ' \t' '-' </proc/sys/net/ipv4/ip_local_port_range)
  fi
  [[ "${ports}" =~ ^([0-9]{1,5})-([0-9]{1,5})$ ]] || { say "--ports wants LO-HI, not '${ports}'"; exit 2; }
  local lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]}
  ((lo >= 1 && lo <= hi && hi <= 65535)) || { say "bad port range ${ports}"; exit 2; }

  local ipt match="-p tcp -m conntrack --ctdir ORIGINAL --ctorigdstport ${lo}:${hi}"
  for ipt in $(families); do
    local rules=":${CHAIN} - [0:0]"$'\n'"-A ${CHAIN} -i lo -j RETURN"
    for a in "${addrs[@]}"; do
      of_family "${ipt}" "${a}" && rules+=$'\n'"-A ${CHAIN} -s ${a} ${match} -j RETURN"
    done
    rules+=$'\n'"-A ${CHAIN} ${match} -j REJECT --reject-with tcp-reset"
    # Declaring the chain with --noflush empties it (or makes it) and refills it at once.
    printf '*filter\n%s\nCOMMIT\n' "${rules}" | "${ipt}-restore" -w --noflush
    hook "${ipt}" INPUT "${INPUT_HOOK[@]}"
    if [[ "${ipt}" == iptables ]] && ! has_chain "${ipt}" DOCKER-USER; then
      "${ipt}" -w -N DOCKER-USER
    fi
    # (ip6tables has DOCKER-USER only when dockerd runs with --ip6tables: only then is IPv6
    # DNATed to containers.)
    has_chain "${ipt}" DOCKER-USER && hook "${ipt}" DOCKER-USER "${FORWARD_HOOK[@]}"
  done
  say "applied: TCP ${lo}-${hi} admitted from ${berth} and loopback only"
}

remove() {
  [[ $# -eq 0 ]] || usage
  local ipt
  for ipt in $(families); do
    unhook "${ipt}" INPUT "${INPUT_HOOK[@]}"
    unhook "${ipt}" DOCKER-USER "${FORWARD_HOOK[@]}"
    if has_chain "${ipt}" "${CHAIN}"; then
      "${ipt}" -w -F "${CHAIN}"
      "${ipt}" -w -X "${CHAIN}"
    fi
  done
  say "removed"
}

[[ $# -ge 1 ]] || usage
action=$1
shift
case "${action}" in
  apply) apply "$@" ;;
  remove) remove "$@" ;;
  *) usage ;;
esac
