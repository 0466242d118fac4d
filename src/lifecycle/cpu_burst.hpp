#pragma once

#include <string>

#include "common/clock.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

// The start's CPU burst (LifecycleOptions::start_nano_cpus): an agent started from cold runs
// with the higher limit while Node loads the gateway and through its first turn, then with
// nano_cpus. AgentStarter raises the limit of an existing container before its engine start (a
// new one is created with it) and records when the burst ends on the agent's entry; EndDue(), a
// pass on every replica (each lowers the bursts of the starts it made), lowers those past due.
// A resume from pause has no burst. A replica that dies mid-burst leaves that container with
// the higher limit until its next start from cold. Runtimes that cannot change a limit in place
// (SetCpuLimit answers kInvalidArgument) never burst. Thread-safe; takes AgentRegistry's lock
// briefly, never across an engine call.
class CpuBurst {
 public:
  CpuBurst(const LifecycleOptions& options, AgentRegistry& registry,
           runtime::ContainerRuntime& runtime, const Clock& clock);

  static bool Enabled(const LifecycleOptions& options) {
    return options.nano_cpus > 0 && options.start_nano_cpus > options.nano_cpus;
  }
  // Raises `container_id`'s limit to the burst's before its start; a failure is logged (the
  // start goes on at the lower limit).
  static void Raise(const LifecycleOptions& options, runtime::ContainerRuntime& runtime,
                    const std::string& container_id);

  // Lowers every burst past its end to nano_cpus (agents still starting are left to their
  // start); returns how many it lowered.
  int EndDue();

 private:
  const LifecycleOptions& options_;
  AgentRegistry& registry_;
  runtime::ContainerRuntime& runtime_;
  const Clock& clock_;
};

}  // namespace berth::lifecycle
