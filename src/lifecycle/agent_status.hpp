#pragma once

#include <string_view>

namespace berth::lifecycle {

// An agent's state, in memory and (by the same names) in its record's status column.
enum class AgentStatus { kStopped, kStarting, kRunning, kStopping, kFailed };

// "stopped" | "starting" | "running" | "stopping" | "failed": the API's and the store's words.
std::string_view AgentStatusName(AgentStatus status);

// The stored form back; anything else reads as kStopped.
AgentStatus ParseAgentStatus(std::string_view stored);

}  // namespace berth::lifecycle
