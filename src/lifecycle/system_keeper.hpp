#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "lifecycle/starter.hpp"
#include "lifecycle/stopper.hpp"

namespace berth::lifecycle {

// Keeps system containers running unless an admin stopped them. Keep() is fleet-wide (exactly
// one replica runs it: after each health sweep of the scheduler's leader, or an admin's); Start()
// and Stop() serve admin requests on any replica.
//
// A stop is remembered in the record (`{"desiredState":"stopped"}` in its config_json), so the
// keeper of any replica, after any restart, leaves it stopped; an admin's start clears it. A
// system container that fails to start is retried after options.system_backoff_initial, doubling
// up to system_backoff_max (per container, in memory).
//
// Keep() only begins starts (AgentStarter; they complete on its pool) and never blocks on them;
// Start() waits for the start, Stop() for the graceful stop. Lock order: its backoff mutex is a
// leaf; AgentRegistry's lock is taken alone. Thread-safe.
class SystemKeeper {
 public:
  SystemKeeper(const LifecycleOptions& options, AgentRecords& records, AgentRegistry& registry,
               AgentStarter& starter, AgentStopper& stopper, const Clock& clock);

  void Keep();
  Result<AgentEndpoint> Start(const std::string& id);
  Status Stop(const std::string& id);

  // While the system container is backed off after failed starts: the current delay between
  // tries. Set when a failed start has finished (on the start pool, after Keep() returned).
  std::optional<std::chrono::milliseconds> Backoff(const std::string& id) const;

 private:
  struct Retry {
    std::chrono::steady_clock::time_point next_attempt{};
    std::chrono::milliseconds delay{0};
  };
  void StartFinished(const std::string& id, const Result<AgentEndpoint>& result);

  const LifecycleOptions& options_;
  AgentRecords& records_;
  AgentRegistry& registry_;
  AgentStarter& starter_;
  AgentStopper& stopper_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::map<std::string, Retry> backoff_;  // by system container id; guarded by mu_
};

}  // namespace berth::lifecycle
