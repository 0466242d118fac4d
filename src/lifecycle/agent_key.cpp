#include "lifecycle/agent_key.hpp"

namespace berth::lifecycle {

std::string_view AgentKindName(store::ContainerKind kind) {
  return kind == store::ContainerKind::kUser ? "user" : "system";
}

std::string ToString(const AgentKey& key) {
  return std::string(AgentKindName(key.kind)) + ":" + key.owner;
}

}  // namespace berth::lifecycle
