#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "docker/docker_types.hpp"
#include "runtime/container_runtime.hpp"

// Placement decisions of SwarmRuntime, as pure functions of the manager's node and task lists.
// Private to the runtime module (SwarmRuntime and its tests).
namespace berth::runtime {

// One node and the memory its tasks have not reserved.
struct NodeMemory {
  const docker::SwarmNode* node = nullptr;
  int64_t reserved = 0;  // the reservations of the tasks meant to run on it
  int64_t free() const { return node->memory_bytes - reserved; }
};

// Every node with the memory reservations of the tasks meant to run on it (desired state
// running; tasks not yet assigned to a node count nowhere) and `pending` (placements whose tasks
// are not listed yet: PendingPlacements), by node id.
std::vector<NodeMemory> MemoryByNode(const std::vector<docker::SwarmNode>& nodes,
                                     const std::vector<docker::SwarmTask>& tasks,
                                     const std::map<std::string, int64_t>& pending = {});

// The node a new agent needing `memory_bytes` goes to: of the ready, active nodes, the one with
// the most free memory that fits it (ties: the smallest node id). kResourceExhausted when none
// fits, listing each node's free memory (and why a node does not count).
Result<NodePlacement> ChooseNode(const std::vector<docker::SwarmNode>& nodes,
                                 const std::vector<docker::SwarmTask>& tasks, int64_t memory_bytes,
                                 const std::map<std::string, int64_t>& pending = {});

// True for a node state in which the manager no longer hears from the node's engine (down,
// unknown, disconnected): its tasks' last reported states are stale.
bool IsNodeLost(std::string_view state);

using NodesById = std::map<std::string, docker::SwarmNode>;

// True when `task` has not ended but sits on a lost node, or on one that has left the swarm (not
// in `nodes`): it reads "running" on the manager for minutes while nothing of it runs. Once a
// node is lost the manager also sets such a task's desired state to shutdown (and, for a pinned
// agent, adds a task that stays pending), so look at every task, not only those meant to run.
bool OnLostNode(const docker::SwarmTask& task, const NodesById& nodes);
// The newest task of `tasks` that is OnLostNode, or nullptr.
const docker::SwarmTask* NewestOnLostNode(const std::vector<docker::SwarmTask>& tasks,
                                          const NodesById& nodes);
// Why an OnLostNode task is dead: NodeLostError of its node, or "node ID has left the swarm".
std::string LostNodeError(const docker::SwarmTask& task, const NodesById& nodes);

// Whether agents may start on `wanted` now, given the manager's view of it (`node` nullptr when
// the swarm has no such node): kUnavailable naming the node (hostname and id) when it is drained,
// paused, down or has left the swarm.
Status CheckNodeUsable(const docker::SwarmNode* node, const NodePlacement& wanted);

// "node NAME is down: MESSAGE" for a task on a lost node: what Inspect, List and Events report.
std::string NodeLostError(const docker::SwarmNode& node);

// "1.5 GiB", "512 MiB", "-256 MiB": memory for people.
std::string FormatBytes(int64_t bytes);

}  // namespace berth::runtime
