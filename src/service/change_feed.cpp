#include "service/change_feed.hpp"

#include <spdlog/spdlog.h>

#include <limits>

namespace berth::service {
namespace {

constexpr std::size_t kPageLimit = 10'000;
constexpr int64_t kPruneEveryMs = 5 * 60'000;

}  // namespace

ChangeFeed::ChangeFeed(store::StorePtr store, std::chrono::milliseconds interval)
    : store_(std::move(store)), interval_(interval) {}

ChangeFeed::~ChangeFeed() { Stop(); }

void ChangeFeed::Publish(const std::string& kind, const std::string& subject) {
  Status published = store_->PublishChange(kind, subject);
  if (!published.ok()) {
    spdlog::warn("changes: cannot tell other replicas of {} ({}): {}", kind, subject,
                 published.message());
  }
}

void ChangeFeed::On(const std::string& kind, Handler handler) {
  handlers_[kind].push_back(std::move(handler));
}

Status ChangeFeed::Poll() {
  std::lock_guard lock(poll_mu_);
  if (cursor_ms_ < 0) {
    // The first poll learns the database's clock, and handles what the overlap holds: a change
    // made while an earlier first poll failed may concern a token this replica already cached.
    auto now = store_->ChangesSince(std::numeric_limits<int64_t>::max(), 1);
    if (!now.ok()) return now.status();
    cursor_ms_ = now->db_now_ms;
  }
  auto batch = store_->ChangesSince(cursor_ms_ - kOverlapMs, kPageLimit);
  if (!batch.ok()) return batch.status();
  for (const store::Change& change : batch->changes) {
    if (!seen_.emplace(change.seq, change.at_ms).second) continue;
    auto it = handlers_.find(change.kind);
    if (it == handlers_.end()) continue;
    for (const Handler& handle : it->second) handle(change.subject);
  }
  cursor_ms_ = std::max(cursor_ms_, batch->db_now_ms);
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = it->second < cursor_ms_ - 2 * kOverlapMs ? seen_.erase(it) : std::next(it);
  }
  if (cursor_ms_ - last_prune_ms_ >= kPruneEveryMs) {
    last_prune_ms_ = cursor_ms_;
    Status pruned = store_->PruneCoordination(kKeepMs);
    if (!pruned.ok()) spdlog::warn("changes: cannot prune old changes: {}", pruned.message());
  }
  return Status::Ok();
}

void ChangeFeed::Start() {
  thread_.Start(interval_, [this] {
    Status polled = Poll();
    if (!polled.ok() && !failing_) {
      spdlog::warn("changes: cannot read the change feed (retrying): {}", polled.message());
    } else if (polled.ok() && failing_) {
      spdlog::info("changes: reading the change feed again");
    }
    failing_ = !polled.ok();
  });
}

void ChangeFeed::Stop() { thread_.Stop(); }

}  // namespace berth::service
