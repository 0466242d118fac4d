#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "lifecycle/stopper.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

// Two tiers for idle user agents with no stream open: past LifecycleOptions::idle_pause it
// pauses them (the engine freezes the gateway, memory kept: the next use resumes it in
// milliseconds, AgentStarter), past their own idle timeout it stops them. Fleet-wide: exactly one
// replica runs it (the scheduler's leader; an admin may ask any replica). Candidates come from
// this replica's warm view (ActivityTracker); before each pause or stop the record is read again,
// so that activity other replicas flushed there (never lowered) and an idle timeout changed on
// any replica count, and a candidate no longer idle is kept.
//
// A use that races a pause: the entry is marked paused before the engine call, so a use from
// then on goes through a start (which resumes it); a use that got in anyway shows as activity
// after the call, and the agent is resumed at once.
//
// Other replicas learn of a pause from the engine's events, except where the engine has none for
// it (Swarm: the manager never sees a pause made through a node's engine): the paused listener
// hears of each pause, to tell them.
//
// Blocks on each stop (up to stop_grace each, one after another). A failed pause or stop is
// logged and the agent skipped. Lock order: AgentRegistry's lock alone, released before each
// store and engine call. Thread-safe.
class Reaper {
 public:
  Reaper(const LifecycleOptions& options, AgentRegistry& registry, AgentRecords& records,
         AgentStopper& stopper, runtime::ContainerRuntime& runtime, const Clock& clock);

  // The users whose agents it stopped (those it paused are counted in pauses_total()).
  Result<std::vector<std::string>> Reap();
  // Agents stopped and paused since construction, for metrics.
  int64_t reaps_total() const { return reaps_total_.load(); }
  int64_t pauses_total() const { return pauses_total_.load(); }
  // Called with the user id after each pause this reaper made; set before the first Reap().
  void SetPausedListener(std::function<void(const std::string& user_id)> listener) {
    paused_listener_ = std::move(listener);
  }

 private:
  enum class Verdict { kKeep, kPause, kStop };
  Verdict Judge(const AgentEntry& entry, int64_t now_ms) const;
  // Re-reads the record into the entry; the verdict then, kKeep when the agent is gone.
  Verdict Recheck(const AgentKey& key);
  void Pause(const AgentKey& key);

  const LifecycleOptions& options_;
  AgentRegistry& registry_;
  AgentRecords& records_;
  AgentStopper& stopper_;
  runtime::ContainerRuntime& runtime_;
  const Clock& clock_;
  std::atomic<int64_t> reaps_total_{0};
  std::atomic<int64_t> pauses_total_{0};
  std::function<void(const std::string& user_id)> paused_listener_;
};

}  // namespace berth::lifecycle
