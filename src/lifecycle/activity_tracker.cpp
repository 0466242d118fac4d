#include "lifecycle/activity_tracker.hpp"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace berth::lifecycle {

StreamGuard::StreamGuard(StreamGuard&& other) noexcept
    : tracker_(std::exchange(other.tracker_, nullptr)), user_id_(std::move(other.user_id_)) {}

StreamGuard& StreamGuard::operator=(StreamGuard&& other) noexcept {
  if (this != &other) {
    Release();
    tracker_ = std::exchange(other.tracker_, nullptr);
    user_id_ = std::move(other.user_id_);
  }
  return *this;
}

StreamGuard::~StreamGuard() { Release(); }

void StreamGuard::Release() {
  if (tracker_ == nullptr) return;
  tracker_->CloseStream(user_id_);
  tracker_ = nullptr;
}

ActivityTracker::ActivityTracker(AgentRegistry& registry, AgentRecords& records, const Clock& clock)
    : registry_(registry), records_(records), clock_(clock) {}

void ActivityTracker::Touch(const std::string& user_id) {
  AgentRegistry::Locked locked = registry_.Lock();
  if (AgentEntry* entry = locked.Find(AgentKey::User(user_id))) {
    entry->MarkActive(ToUnixMillis(clock_.Now()));
  }
}

StreamGuard ActivityTracker::OpenStream(const std::string& user_id) {
  AgentRegistry::Locked locked = registry_.Lock();
  AgentEntry& entry = locked.Get(AgentKey::User(user_id));
  ++entry.open_streams;
  entry.MarkActive(ToUnixMillis(clock_.Now()));
  return StreamGuard(this, user_id);
}

void ActivityTracker::CloseStream(const std::string& user_id) {
  AgentRegistry::Locked locked = registry_.Lock();
  AgentEntry& entry = locked.Get(AgentKey::User(user_id));
  --entry.open_streams;
  entry.MarkActive(ToUnixMillis(clock_.Now()));
}

void ActivityTracker::Flush() {
  std::vector<std::pair<std::string, int64_t>> stamps;
  {
    const int64_t now = ToUnixMillis(clock_.Now());
    AgentRegistry::Locked locked = registry_.Lock();
    for (auto& [key, entry] : locked.entries()) {
      // An open stream is activity until it closes: stamped at every flush, so that the leader
      // (perhaps another replica, judging from the store) never reaps an agent mid-stream.
      if (entry.open_streams > 0 && key.is_user()) entry.MarkActive(now);
      if (!entry.activity_dirty || !key.is_user() || entry.record_id.empty() ||
          !entry.last_active_ms) {
        continue;
      }
      stamps.emplace_back(entry.record_id, *entry.last_active_ms);
      entry.activity_dirty = false;
    }
  }
  Status written = records_.RecordActivity(stamps);
  if (written.ok()) return;
  spdlog::warn("lifecycle: cannot record activity of {} agents: {}", stamps.size(),
               written.message());
  AgentRegistry::Locked locked = registry_.Lock();
  for (auto& [key, entry] : locked.entries()) {
    for (const auto& stamp : stamps) {
      if (entry.record_id == stamp.first) entry.activity_dirty = true;
    }
  }
}

}  // namespace berth::lifecycle
