#include "lifecycle/reaper.hpp"

#include <spdlog/spdlog.h>

namespace berth::lifecycle {

Reaper::Reaper(const LifecycleOptions& options, AgentRegistry& registry, AgentRecords& records,
               AgentStopper& stopper, runtime::ContainerRuntime& runtime, const Clock& clock)
    : options_(options),
      registry_(registry),
      records_(records),
      stopper_(stopper),
      runtime_(runtime),
      clock_(clock) {}

Reaper::Verdict Reaper::Judge(const AgentEntry& entry, int64_t now_ms) const {
  if (entry.status != AgentStatus::kRunning || entry.start || entry.open_streams != 0 ||
      !entry.last_active_ms || entry.idle_timeout_min <= 0) {
    return Verdict::kKeep;
  }
  const int64_t idle_ms = now_ms - *entry.last_active_ms;
  if (idle_ms >= int64_t{entry.idle_timeout_min} * 60'000) return Verdict::kStop;
  const int64_t pause_ms = options_.idle_pause.count() * 1000;
  if (pause_ms > 0 && !entry.paused && !entry.container_id.empty() && idle_ms >= pause_ms &&
      runtime_.SupportsPause()) {
    return Verdict::kPause;
  }
  return Verdict::kKeep;
}

Reaper::Verdict Reaper::Recheck(const AgentKey& key) {
  auto record = records_.Find(key);
  if (!record.ok()) {
    if (record.status().code() != ErrorCode::kNotFound) {
      spdlog::warn("lifecycle: cannot read the record of agent {} before reaping it: {}",
                   ToString(key), record.status().message());
    }
    return Verdict::kKeep;
  }
  // Activity may have arrived since the scan, here or on another replica.
  AgentRegistry::Locked locked = registry_.Lock();
  AgentEntry* entry = locked.Find(key);
  if (entry == nullptr) return Verdict::kKeep;
  if (record->last_active_at && *record->last_active_at > entry->last_active_ms.value_or(0)) {
    entry->last_active_ms = record->last_active_at;
  }
  entry->idle_timeout_min = record->idle_timeout_min;
  return Judge(*entry, ToUnixMillis(clock_.Now()));
}

Result<std::vector<std::string>> Reaper::Reap() {
  std::vector<AgentKey> candidates;
  {
    const int64_t now = ToUnixMillis(clock_.Now());
    AgentRegistry::Locked locked = registry_.Lock();
    for (const auto& [key, entry] : locked.entries()) {
      if (key.is_user() && Judge(entry, now) != Verdict::kKeep) candidates.push_back(key);
    }
  }
  std::vector<std::string> stopped;
  for (const AgentKey& key : candidates) {
    const Verdict verdict = Recheck(key);
    if (verdict == Verdict::kPause) {
      Pause(key);
      continue;
    }
    if (verdict != Verdict::kStop) continue;
    Status result = stopper_.Stop(key);
    if (result.ok()) {
      spdlog::info("lifecycle: reaped idle agent of user {}", key.owner);
      ++reaps_total_;
      stopped.push_back(key.owner);
    } else {
      spdlog::warn("lifecycle: cannot reap agent of user {}: {}", key.owner, result.message());
    }
  }
  return stopped;
}

void Reaper::Pause(const AgentKey& key) {
  std::string container_id;
  std::optional<int64_t> active_before;
  {
    AgentRegistry::Locked locked = registry_.Lock();
    AgentEntry* entry = locked.Find(key);
    if (entry == nullptr || Judge(*entry, ToUnixMillis(clock_.Now())) != Verdict::kPause) return;
    entry->paused = true;  // from here on a use goes through a start, which resumes it
    container_id = entry->container_id;
    active_before = entry->last_active_ms;
  }
  Status paused = runtime_.Pause(container_id);
  bool raced = false;
  {
    AgentRegistry::Locked locked = registry_.Lock();
    AgentEntry* entry = locked.Find(key);
    const bool same = entry != nullptr && entry->container_id == container_id;
    raced = same && (entry->start || entry->open_streams != 0 ||
                     entry->last_active_ms != active_before || !entry->paused);
    if (same && (!paused.ok() || raced)) entry->paused = false;
  }
  if (!paused.ok()) {
    spdlog::warn("lifecycle: cannot pause idle agent of user {}: {}", key.owner, paused.message());
    return;
  }
  if (raced) {
    // Used while the engine froze it: thaw it again (the use may already be on its way).
    Status resumed = runtime_.Unpause(container_id);
    if (!resumed.ok()) {
      spdlog::warn("lifecycle: cannot resume agent of user {} used as it was paused: {}", key.owner,
                   resumed.message());
    }
    return;
  }
  spdlog::info("lifecycle: paused idle agent of user {}", key.owner);
  ++pauses_total_;
  if (paused_listener_) paused_listener_(key.owner);
}

}  // namespace berth::lifecycle
