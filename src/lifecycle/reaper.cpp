#include "lifecycle/reaper.hpp"

#include <spdlog/spdlog.h>

namespace berth::lifecycle {

Reaper::Reaper(AgentRegistry& registry, AgentRecords& records, AgentStopper& stopper,
               const Clock& clock)
    : registry_(registry), records_(records), stopper_(stopper), clock_(clock) {}

bool Reaper::Idle(const AgentEntry& entry, int64_t now_ms) const {
  return entry.status == AgentStatus::kRunning && entry.open_streams == 0 && entry.last_active_ms &&
         entry.idle_timeout_min > 0 &&
         now_ms - *entry.last_active_ms >= int64_t{entry.idle_timeout_min} * 60'000;
}

Result<std::vector<std::string>> Reaper::Reap() {
  std::vector<std::string> idle;
  {
    const int64_t now = ToUnixMillis(clock_.Now());
    AgentRegistry::Locked locked = registry_.Lock();
    for (const auto& [key, entry] : locked.entries()) {
      if (key.is_user() && Idle(entry, now)) idle.push_back(key.owner);
    }
  }
  std::vector<std::string> stopped;
  for (const std::string& user_id : idle) {
    const AgentKey key = AgentKey::User(user_id);
    auto record = records_.Find(key);
    if (!record.ok()) {
      if (record.status().code() != ErrorCode::kNotFound) {
        spdlog::warn("lifecycle: cannot read the record of agent {} before reaping it: {}",
                     ToString(key), record.status().message());
      }
      continue;
    }
    {
      // Activity may have arrived since the scan, here or on another replica.
      AgentRegistry::Locked locked = registry_.Lock();
      AgentEntry* entry = locked.Find(key);
      if (entry == nullptr) continue;
      if (record->last_active_at && *record->last_active_at > entry->last_active_ms.value_or(0)) {
        entry->last_active_ms = record->last_active_at;
      }
      entry->idle_timeout_min = record->idle_timeout_min;
      if (!Idle(*entry, ToUnixMillis(clock_.Now()))) continue;
    }
    Status result = stopper_.Stop(key);
    if (result.ok()) {
      spdlog::info("lifecycle: reaped idle agent of user {}", user_id);
      ++reaps_total_;
      stopped.push_back(user_id);
    } else {
      spdlog::warn("lifecycle: cannot reap agent of user {}: {}", user_id, result.message());
    }
  }
  return stopped;
}

}  // namespace berth::lifecycle
