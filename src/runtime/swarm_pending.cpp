#include "runtime/swarm_pending.hpp"

#include <algorithm>
#include <set>

namespace berth::runtime {

void PendingPlacements::Add(const std::string& node_id, int64_t memory_bytes,
                            Clock::time_point now) {
  pending_.push_back({node_id, std::max<int64_t>(memory_bytes, 0), "", now + ttl_});
}

std::vector<PendingPlacements::Placement>::iterator PendingPlacements::OldestUnnamed(
    const std::string& node_id) {
  return std::find_if(pending_.begin(), pending_.end(), [&](const Placement& p) {
    return p.node_id == node_id && p.service_id.empty();
  });
}

void PendingPlacements::Name(const std::string& node_id, const std::string& service_id) {
  auto it = OldestUnnamed(node_id);
  if (it != pending_.end()) it->service_id = service_id;
}

void PendingPlacements::Forget(const std::string& node_id) {
  auto it = OldestUnnamed(node_id);
  if (it != pending_.end()) pending_.erase(it);
}

std::map<std::string, int64_t> PendingPlacements::Reserved(
    const std::vector<docker::SwarmTask>& tasks, Clock::time_point now) {
  std::set<std::string> placed;  // services with a task meant to run on a node
  for (const docker::SwarmTask& t : tasks) {
    if (t.desired_state == "running" && !t.node_id.empty()) placed.insert(t.service_id);
  }
  std::erase_if(pending_, [&](const Placement& p) {
    return now >= p.until || (!p.service_id.empty() && placed.count(p.service_id) > 0);
  });
  std::map<std::string, int64_t> out;
  for (const Placement& p : pending_) out[p.node_id] += p.memory_bytes;
  return out;
}

}  // namespace berth::runtime
