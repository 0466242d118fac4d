#pragma once

#include <string_view>

namespace berth::lifecycle {

// An agent's state, in memory and (by the same names) in its record's status column.
enum class AgentStatus { kStopped, kStarting, kRunning, kStopping, kFailed };

// "stopped" | "starting" | "running" | "stopping" | "failed": the API's and the store's words.
std::string_view AgentStatusName(AgentStatus status);
// The API's word for an agent's state: AgentStatusName's, or "paused" for a running agent the
// engine froze (the record keeps "running").
inline std::string_view ApiStatusName(AgentStatus status, bool paused) {
  return paused ? "paused" : AgentStatusName(status);
}

// The stored form back; anything else reads as kStopped.
AgentStatus ParseAgentStatus(std::string_view stored);

}  // namespace berth::lifecycle
