#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "docker/docker_types.hpp"

// Private to the runtime module (SwarmRuntime and its tests).
namespace berth::runtime {

// The placements a SwarmRuntime made that the manager's task list does not show yet. Between
// PlaceAgent and the service's first task there are a create, a scale and the manager's own
// scheduling (up to a second or so); placements made in that window, such as a warm pool's agents
// started together, would otherwise all see the same free memory and go to the same node.
//
// A placement counts against its node from Add until a task of the service Create made for it
// (Name) is listed as meant to run on a node, or until it is `ttl` old (a start that failed
// after its create). Only this process's placements: another berth replica's are seen once their
// tasks are. Not thread-safe: SwarmRuntime holds its placement lock around it.
class PendingPlacements {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PendingPlacements(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  void Add(const std::string& node_id, int64_t memory_bytes, Clock::time_point now);
  // The service made for the oldest unnamed placement on `node_id`.
  void Name(const std::string& node_id, const std::string& service_id);
  // Drops the oldest unnamed placement on `node_id` (its create failed).
  void Forget(const std::string& node_id);
  // What the placements still pending reserve, by node id, after dropping those `tasks` show
  // and those past their ttl at `now`.
  std::map<std::string, int64_t> Reserved(const std::vector<docker::SwarmTask>& tasks,
                                          Clock::time_point now);
  std::size_t size() const { return pending_.size(); }

 private:
  struct Placement {
    std::string node_id;
    int64_t memory_bytes = 0;
    std::string service_id;  // empty until named
    Clock::time_point until;
  };
  std::vector<Placement>::iterator OldestUnnamed(const std::string& node_id);

  const std::chrono::milliseconds ttl_;
  std::vector<Placement> pending_;  // oldest first
};

}  // namespace berth::runtime
