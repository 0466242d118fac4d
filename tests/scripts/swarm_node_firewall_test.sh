#!/usr/bin/env bash
# scripts/swarm-node-firewall.sh in throwaway network namespaces of its own (the host's packet
# filter is never touched): the rules it writes, that `apply` is idempotent, that a connection to
# the port range is admitted from berth's address and reset from another, that ports outside the
# range are untouched, and that `remove` leaves nothing. The swarm's own behaviour (userland proxy,
# DNAT into containers) is covered by tests/runtime/swarm_isolation_test.cpp on the test swarm.
# Exit 77 (skipped) when this machine cannot make namespaces or lacks iptables or python3.
set -euo pipefail
script="$(cd "$(dirname "$0")/../.." && pwd)/scripts/swarm-node-firewall.sh"
ns_server="bswfw$$-s"
ns_client="bswfw$$-c"
skip() { echo "swarm_node_firewall_test: skipped: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root"
for tool in ip nsenter iptables iptables-restore python3; do
  command -v "${tool}" >/dev/null 2>&1 || skip "${tool} is missing"
done
ip netns add "${ns_server}" 2>/dev/null || skip "cannot create network namespaces"
server=""
cleanup() {
  if [[ -n "${server}" ]]; then kill "${server}" 2>/dev/null || true; fi
  ip netns del "${ns_server}" 2>/dev/null || true
  ip netns del "${ns_client}" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "${ns_client}"
ip -n "${ns_server}" link set lo up
ip -n "${ns_client}" link set lo up
ip link add "bswfw$$" type veth peer name eth0 netns "${ns_server}"
ip link set "bswfw$$" netns "${ns_client}"
ip -n "${ns_client}" link set "bswfw$$" name eth0
ip -n "${ns_server}" addr add 10.77.0.1/24 dev eth0
ip -n "${ns_client}" addr add 10.77.0.2/24 dev eth0
ip -n "${ns_client}" addr add 10.77.0.3/24 dev eth0
ip -n "${ns_server}" link set eth0 up
ip -n "${ns_client}" link set eth0 up

in_server() { nsenter --net="/run/netns/${ns_server}" "$@"; }
fw() { in_server bash "${script}" "$@" 2>/dev/null; }

# 1. Bad arguments: exit 2, nothing written.
set +e
fw apply; [[ $? -eq 2 ]] || fail "apply without --berth did not exit 2"
fw apply --berth not-an-address; [[ $? -eq 2 ]] || fail "a bad address did not exit 2"
fw apply --berth 10.77.0.2 --ports 50000-40000; [[ $? -eq 2 ]] || fail "a bad range did not exit 2"
set -e
in_server iptables -S | grep -q BERTH && fail "bad arguments wrote rules"

# 2. The rules, hooked once however often apply runs.
fw apply --berth 10.77.0.9 --ports 40000-40099
fw apply --berth 10.77.0.2,fd00::2 --ports 40000-40099
rules=$(in_server iptables -S)
expected="-A BERTH-AGENTS -i lo -j RETURN
-A BERTH-AGENTS -s 10.77.0.2/32 -p tcp -m conntrack --ctorigdstport 40000:40099 --ctdir ORIGINAL -j RETURN
-A BERTH-AGENTS -p tcp -m conntrack --ctorigdstport 40000:40099 --ctdir ORIGINAL -j REJECT --reject-with tcp-reset"
[[ $(grep '^-A BERTH-AGENTS' <<<"${rules}") == "${expected}" ]] || fail "unexpected chain: ${rules}"
[[ $(grep -c -- '-A INPUT -p tcp -j BERTH-AGENTS' <<<"${rules}") -eq 1 ]] || fail "INPUT hook not once: ${rules}"
[[ $(grep -c -- '-A DOCKER-USER -p tcp -m conntrack --ctstate DNAT -j BERTH-AGENTS' <<<"${rules}") -eq 1 ]] ||
  fail "DOCKER-USER hook not once: ${rules}"
if command -v ip6tables >/dev/null && in_server ip6tables -S INPUT >/dev/null 2>&1; then
  in_server ip6tables -S BERTH-AGENTS | grep -q -- '-s fd00::2/128' || fail "no IPv6 rule for fd00::2"
  in_server ip6tables -S BERTH-AGENTS | grep -q '10.77' && fail "an IPv4 address in ip6tables"
fi

# 3. Connections: from berth's address admitted, from another reset, outside the range untouched.
# Started by nsenter itself (not through the shell function) so that $! is the python process
# (nsenter execs it) and killing it ends the listener instead of an idle subshell.
nsenter --net="/run/netns/${ns_server}" python3 - <<'PY' &
import socket, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.77.0.1", port)); s.listen(16); s.settimeout(20)
    try:
        while True:
            c, _ = s.accept(); c.close()
    except OSError:
        pass
for p in (40050, 39999):
    threading.Thread(target=serve, args=(p,)).start()
PY
server=$!
connect() {  # connect SOURCE PORT → prints ok | refused | timeout
  nsenter --net="/run/netns/${ns_client}" python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(2); s.bind((sys.argv[1], 0))
try:
    s.connect(("10.77.0.1", int(sys.argv[2]))); print("ok")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
PY
}
for _ in $(seq 50); do [[ $(connect 10.77.0.2 39999) == ok ]] && break; sleep 0.1; done
[[ $(connect 10.77.0.2 40050) == ok ]] || fail "berth's address was not admitted"
[[ $(connect 10.77.0.3 40050) == refused ]] || fail "another address was not reset"
[[ $(connect 10.77.0.3 39999) == ok ]] || fail "a port outside the range was filtered"

# 4. Remove: no hook and no chain left; twice is fine.
fw remove
fw remove
in_server iptables -S | grep -q BERTH-AGENTS && fail "remove left: $(in_server iptables -S)"
[[ $(connect 10.77.0.3 40050) == ok ]] || fail "still filtered after remove"
kill "${server}" 2>/dev/null || true
wait "${server}" 2>/dev/null || true
server=""
echo "swarm_node_firewall_test: ok"
