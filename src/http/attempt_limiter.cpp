#include "http/attempt_limiter.hpp"

namespace berth::http {

long AttemptLimiter::BlockedFor(const std::string& peer,
                                std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.blocked_until <= now) return 0;
  auto left = std::chrono::duration_cast<std::chrono::seconds>(it->second.blocked_until - now);
  return left.count() + 1;
}

std::size_t AttemptLimiter::tracked() {
  std::lock_guard lock(mu_);
  return peers_.size();
}

void AttemptLimiter::RecordFailure(const std::string& peer,
                                   std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  if (peers_.size() >= options_.max_peers && peers_.find(peer) == peers_.end()) {
    for (auto it = peers_.begin(); it != peers_.end();) {
      const bool expired =
          it->second.blocked_until <= now && now - it->second.window_start > options_.window;
      it = expired ? peers_.erase(it) : std::next(it);
    }
    if (peers_.size() >= options_.max_peers) peers_.clear();
  }
  Peer& p = peers_[peer];
  if (p.failures == 0 || now - p.window_start > options_.window) {
    p.failures = 0;
    p.window_start = now;
  }
  if (++p.failures >= options_.max_failures) {
    p.blocked_until = now + options_.block;
    p.failures = 0;
  }
}

}  // namespace berth::http
