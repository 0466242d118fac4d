#include "lifecycle/agent_registry.hpp"

namespace berth::lifecycle {

AgentEntry* AgentRegistry::Locked::Find(const AgentKey& key) {
  auto it = registry_->entries_.find(key);
  return it == registry_->entries_.end() ? nullptr : &it->second;
}

std::optional<AgentKey> AgentRegistry::Locked::KeyOfContainer(
    const std::string& container_id) const {
  auto it = registry_->by_container_id_.find(container_id);
  if (it == registry_->by_container_id_.end()) return std::nullopt;
  return it->second;
}

void AgentRegistry::InvalidateAll() {
  Locked locked = Lock();
  for (auto& [key, entry] : locked.entries()) entry.verified = false;
}

void AgentRegistry::MarkStale(const AgentKey& key) {
  Locked locked = Lock();
  AgentEntry& entry = locked.Get(key);
  entry.verified = false;
  entry.needs_recreate = true;
}

void AgentRegistry::SetIdleTimeout(const AgentKey& key, int minutes) {
  Locked locked = Lock();
  if (AgentEntry* entry = locked.Find(key)) entry->idle_timeout_min = minutes;
}

}  // namespace berth::lifecycle
