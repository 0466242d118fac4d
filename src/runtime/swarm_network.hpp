#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::docker {
class DockerClient;
}  // namespace berth::docker

namespace berth::runtime {

struct SwarmBridgeOptions {
  // The subnet every node's bridge takes (IPAM of each config-only network). Nodes do not need
  // distinct subnets: a bridge is local to its node, and agents reach anything off the node
  // through the node's masquerade (measured: one task on each of two nodes both got 10.197.0.2,
  // and both reached the host). The default lies outside docker's default local pools
  // (172.17-31.0.0/16, 192.168.0.0/16), the test cluster's link (10.199.0.0/16) and swarm pool
  // (10.198.0.0/16); a swarm whose --default-addr-pool covers it (docker's default is
  // 10.0.0.0/8) hands out overlay subnets from its low end, 10.0.0.0/24 first. /20: 4093
  // agents per node.
  std::string subnet = "10.197.0.0/20";
  // Labels of the config-only networks (the swarm-scoped one cannot carry any: the engine
  // refuses labels on a network made from a config-only one).
  std::map<std::string, std::string> config_labels;
};

// The agents' network on a swarm: a swarm-scoped bridge `name` made on the manager from
// config-only networks `<name>-cfg`, one on each node engine (ARCHITECTURE.md, "Docker Swarm").
// Overlay networks have no switch for inter-container traffic; this bridge has:
// `isolated` sets com.docker.network.bridge.enable_icc=false on every node's config, so agents
// on one node cannot reach each other's addresses (agents on different nodes are on different
// bridges anyway). What it cannot stop is an agent reaching other agents' host-mode published
// ports at a node's address: scripts/swarm-node-firewall.sh on each node does.
//
// Idempotent: what exists is kept and checked, what is missing is made; calls racing on the
// same name settle on the oldest network (ascending id). `node_engines` are the engines of
// every node that may run agents (the manager's own engine too when it does); a node that joins
// later needs another call before an agent is placed on it. Every engine call runs one after
// another on the calling thread.
//
// Returns the swarm-scoped network: id, name, `subnet` as every node's bridge has it, and no
// gateway (each node's bridge has its own, the subnet's first address; berth is on none of them:
// agents reach berth at berth's own address through their node's masquerade).
//
// Errors: kAlreadyExists when `<name>-cfg` exists on a node but is not config-only, or `name`
// exists on the manager as a swarm network not made from `<name>-cfg`; kInvalidArgument when an
// existing `<name>-cfg` disagrees with `isolated`; kInvalidArgument when a node engine is null
// or the list is empty; the engines' errors (kUnavailable, ...) naming the node's endpoint.
Result<NetworkInfo> EnsureSwarmBridge(docker::DockerClient& manager,
                                      const std::vector<docker::DockerClient*>& node_engines,
                                      const std::string& name, bool isolated,
                                      const SwarmBridgeOptions& options = {});

// "<name>-cfg": the config-only networks' name.
std::string SwarmBridgeConfigName(const std::string& name);

}  // namespace berth::runtime
