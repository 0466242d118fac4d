#include "runtime/swarm_placement.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "runtime/swarm_translate.hpp"

namespace berth::runtime {
namespace {

std::string NodeName(const docker::SwarmNode& node) {
  return (node.hostname.empty() ? std::string("?") : node.hostname) + " (" + node.id + ")";
}

// Why agents may not start on a node, or "" when they may.
std::string Unusable(const docker::SwarmNode& node) {
  if (node.state != "ready") return node.state.empty() ? "in no known state" : node.state;
  if (node.availability == "drain") return "drained";
  if (node.availability == "pause") return "paused";
  if (node.availability != "active") return "availability " + node.availability;
  return "";
}

}  // namespace

std::vector<NodeMemory> MemoryByNode(const std::vector<docker::SwarmNode>& nodes,
                                     const std::vector<docker::SwarmTask>& tasks,
                                     const std::map<std::string, int64_t>& pending) {
  std::map<std::string, int64_t> reserved = pending;
  for (const docker::SwarmTask& t : tasks) {
    if (t.desired_state != "running" || t.node_id.empty()) continue;
    reserved[t.node_id] += std::max<int64_t>(t.memory_reservation, 0);
  }
  std::vector<NodeMemory> out;
  out.reserve(nodes.size());
  for (const docker::SwarmNode& n : nodes) {
    auto it = reserved.find(n.id);
    out.push_back({&n, it == reserved.end() ? 0 : it->second});
  }
  std::sort(out.begin(), out.end(),
            [](const NodeMemory& a, const NodeMemory& b) { return a.node->id < b.node->id; });
  return out;
}

Result<NodePlacement> ChooseNode(const std::vector<docker::SwarmNode>& nodes,
                                 const std::vector<docker::SwarmTask>& tasks, int64_t memory_bytes,
                                 const std::map<std::string, int64_t>& pending) {
  const std::vector<NodeMemory> memory = MemoryByNode(nodes, tasks, pending);
  const NodeMemory* best = nullptr;
  std::string each;
  for (const NodeMemory& m : memory) {
    const std::string why_not = Unusable(*m.node);
    each += (each.empty() ? "" : "; ") + NodeName(*m.node) + " " + FormatBytes(m.free()) + " free";
    if (!why_not.empty()) {
      each += " but " + why_not;
      continue;
    }
    // By node id on ties: `memory` is sorted by id and only a strictly larger free replaces.
    if (m.free() >= memory_bytes && (best == nullptr || m.free() > best->free())) best = &m;
  }
  if (best != nullptr) return NodePlacement{best->node->id, best->node->hostname};
  if (memory.empty()) return ResourceExhausted("the swarm has no nodes to place an agent on");
  return ResourceExhausted("no swarm node that takes agents has " + FormatBytes(memory_bytes) +
                           " of memory unreserved for a new agent: " + each);
}

bool IsNodeLost(std::string_view state) {
  return state == "down" || state == "unknown" || state == "disconnected";
}

bool OnLostNode(const docker::SwarmTask& task, const NodesById& nodes) {
  if (task.node_id.empty() || IsFinalTaskState(task.state)) return false;
  auto it = nodes.find(task.node_id);
  return it == nodes.end() || IsNodeLost(it->second.state);
}

const docker::SwarmTask* NewestOnLostNode(const std::vector<docker::SwarmTask>& tasks,
                                          const NodesById& nodes) {
  const docker::SwarmTask* newest = nullptr;
  for (const docker::SwarmTask& t : tasks) {
    if (OnLostNode(t, nodes) && (newest == nullptr || t.created_at > newest->created_at)) {
      newest = &t;
    }
  }
  return newest;
}

std::string LostNodeError(const docker::SwarmTask& task, const NodesById& nodes) {
  auto it = nodes.find(task.node_id);
  if (it == nodes.end()) return "node " + task.node_id + " has left the swarm";
  return NodeLostError(it->second);
}

Status CheckNodeUsable(const docker::SwarmNode* node, const NodePlacement& wanted) {
  const std::string tail =
      ": the agent's state lives on that node, so it is not started anywhere else";
  if (node == nullptr) {
    const std::string name = wanted.name.empty() ? "?" : wanted.name;
    return Unavailable("swarm node " + name + " (" + wanted.id + ") has left the swarm" + tail);
  }
  const std::string why_not = Unusable(*node);
  if (why_not.empty()) return Status::Ok();
  std::string message = "swarm node " + NodeName(*node) + " is " + why_not;
  if (!node->message.empty() && node->state != "ready") message += " (" + node->message + ")";
  return Unavailable(message + tail);
}

std::string NodeLostError(const docker::SwarmNode& node) {
  std::string out = "node " + (node.hostname.empty() ? node.id : node.hostname) + " is " +
                    (node.state.empty() ? std::string("unknown") : node.state);
  if (!node.message.empty()) out += ": " + node.message;
  return out;
}

std::string FormatBytes(int64_t bytes) {
  char buffer[48];
  const double value = static_cast<double>(bytes);
  constexpr double kGiB = 1024.0 * 1024 * 1024;
  if (bytes >= (1LL << 30) || bytes <= -(1LL << 30)) {
    std::snprintf(buffer, sizeof buffer, "%.1f GiB", value / kGiB);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.0f MiB", value / (1024.0 * 1024));
  }
  return buffer;
}

}  // namespace berth::runtime
