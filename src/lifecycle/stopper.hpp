#pragma once

#include <string>

#include "common/result.hpp"
#include "lifecycle/agent_key.hpp"
#include "lifecycle/agent_notifier.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

// Stops and removes agents. Every replica runs it (API requests); the reaper and the system
// keeper use it too.
//
// Stop cancels the agent's start in flight and waits until that start has finished, then stops
// the container gracefully (options.stop_grace) and records it stopped. Blocks on the engine for
// up to the grace period. Errors: the store's; the engine's (then the agent shows kFailed with
// "stop failed: ..."); a container already gone is not an error.
//
// Lock order: takes AgentRegistry's lock (and a StartOp's wake mutex under it); waits for a start
// on the registry's condition variable; calls the engine, the store and the notifier with no lock
// held. Thread-safe. The referenced parts must outlive it.
class AgentStopper {
 public:
  AgentStopper(const LifecycleOptions& options, AgentRegistry& registry, AgentRecords& records,
               runtime::ContainerRuntime& runtime, const AgentNotifier& notifier);

  // Stopping a stopped agent, or a user's that was never created, is ok.
  Status Stop(const AgentKey& key);
  // Stops the user's agent and removes its container and volume, and forgets it (the user is
  // being deleted). Ok when it has none.
  Status Remove(const std::string& user_id);

 private:
  const LifecycleOptions& options_;
  AgentRegistry& registry_;
  AgentRecords& records_;
  runtime::ContainerRuntime& runtime_;
  const AgentNotifier& notifier_;
};

}  // namespace berth::lifecycle
