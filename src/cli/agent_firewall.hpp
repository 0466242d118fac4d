#pragma once

#include <cstdint>
#include <string>

#include "common/status.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::cli {

// BERTH_AGENT_EGRESS=berth-only, on the host: an internal Docker network routes nothing out, but
// the host still answers its agents on every address it owns (sshd, the engine's API, a database,
// listeners on other interfaces). These iptables rules on the network's bridge let through only
// what is part of a connection already allowed and new TCP connections to berth's internal
// listener (gateway:port); everything else from the agents to the host is dropped. The rules live
// in a chain of their own, BERTH-<bridge>, jumped to from INPUT for that bridge; applying them
// again replaces them (idempotent, as every start of berth does). kInvalidArgument when the
// network has no bridge or gateway; kUnavailable when iptables is missing or refuses.
Status LockAgentNetwork(const runtime::NetworkInfo& network, uint16_t listener_port);

// Removes the chain and its jump (for whoever removes the network: the tests).
Status UnlockAgentNetwork(const std::string& bridge);

}  // namespace berth::cli
