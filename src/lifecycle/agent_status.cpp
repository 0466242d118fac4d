#include "lifecycle/agent_status.hpp"

namespace berth::lifecycle {

std::string_view AgentStatusName(AgentStatus status) {
  switch (status) {
    case AgentStatus::kStopped:
      return "stopped";
    case AgentStatus::kStarting:
      return "starting";
    case AgentStatus::kRunning:
      return "running";
    case AgentStatus::kStopping:
      return "stopping";
    case AgentStatus::kFailed:
      return "failed";
  }
  return "stopped";
}

AgentStatus ParseAgentStatus(std::string_view stored) {
  if (stored == "starting") return AgentStatus::kStarting;
  if (stored == "running") return AgentStatus::kRunning;
  if (stored == "stopping") return AgentStatus::kStopping;
  if (stored == "failed") return AgentStatus::kFailed;
  return AgentStatus::kStopped;
}

}  // namespace berth::lifecycle
