#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/stopper.hpp"

namespace berth::lifecycle {

// Stops user agents idle past their own idle timeout with no stream open. Fleet-wide: exactly one
// replica runs it (the scheduler's leader; an admin may ask any replica). Candidates come from
// this replica's warm view (ActivityTracker); before each stop the record is read again, so
// that activity other replicas flushed there (never lowered) and an idle timeout changed on any
// replica count, and a candidate no longer idle is kept.
//
// Blocks on each stop (up to stop_grace each, one after another). A failed stop is logged and the
// agent skipped. Lock order: AgentRegistry's lock alone, released before each store call and
// stop. Thread-safe.
class Reaper {
 public:
  Reaper(AgentRegistry& registry, AgentRecords& records, AgentStopper& stopper, const Clock& clock);

  // The users whose agents it stopped.
  Result<std::vector<std::string>> Reap();
  // Agents stopped since construction, for metrics.
  int64_t reaps_total() const { return reaps_total_.load(); }

 private:
  bool Idle(const AgentEntry& entry, int64_t now_ms) const;

  AgentRegistry& registry_;
  AgentRecords& records_;
  AgentStopper& stopper_;
  const Clock& clock_;
  std::atomic<int64_t> reaps_total_{0};
};

}  // namespace berth::lifecycle
