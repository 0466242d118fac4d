#include "lifecycle/cpu_burst.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace berth::lifecycle {

CpuBurst::CpuBurst(const LifecycleOptions& options, AgentRegistry& registry,
                   runtime::ContainerRuntime& runtime, const Clock& clock)
    : options_(options), registry_(registry), runtime_(runtime), clock_(clock) {}

void CpuBurst::Raise(const LifecycleOptions& options, runtime::ContainerRuntime& runtime,
                     const std::string& container_id) {
  Status raised = runtime.SetCpuLimit(container_id, options.start_nano_cpus);
  if (!raised.ok() && raised.code() != ErrorCode::kInvalidArgument) {
    spdlog::warn("lifecycle: cannot raise the CPU limit of container {} for its start: {}",
                 container_id.substr(0, 12), raised.message());
  }
}

int CpuBurst::EndDue() {
  if (!Enabled(options_)) return 0;
  std::vector<std::string> due;
  {
    const int64_t now = ToUnixMillis(clock_.Now());
    AgentRegistry::Locked locked = registry_.Lock();
    for (auto& [key, entry] : locked.entries()) {
      if (!entry.burst_until_ms || *entry.burst_until_ms > now || entry.start) continue;
      entry.burst_until_ms.reset();
      if (!entry.container_id.empty()) due.push_back(entry.container_id);
    }
  }
  int lowered = 0;
  for (const std::string& id : due) {
    Status done = runtime_.SetCpuLimit(id, options_.nano_cpus);
    if (done.ok()) {
      ++lowered;
    } else if (done.code() != ErrorCode::kInvalidArgument && done.code() != ErrorCode::kNotFound) {
      spdlog::warn("lifecycle: cannot end the start burst of container {}: {}", id.substr(0, 12),
                   done.message());
    }
  }
  return lowered;
}

}  // namespace berth::lifecycle
