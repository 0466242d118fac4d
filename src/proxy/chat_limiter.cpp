#include "proxy/chat_limiter.hpp"

#include <utility>

namespace berth::proxy {

ChatLimiter::Slot::Slot(Slot&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)), user_id_(std::move(other.user_id_)) {}

ChatLimiter::Slot& ChatLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    user_id_ = std::move(other.user_id_);
  }
  return *this;
}

ChatLimiter::Slot::~Slot() { Release(); }

void ChatLimiter::Slot::Release() {
  if (limiter_ != nullptr) std::exchange(limiter_, nullptr)->Release(user_id_);
}

Result<ChatLimiter::Slot> ChatLimiter::Acquire(const std::string& user_id) {
  std::lock_guard lock(mu_);
  if (total_ >= options_.total) {
    return ResourceExhausted("berth is serving its limit of " + std::to_string(options_.total) +
                             " chats at once; retry shortly");
  }
  std::size_t& mine = per_user_[user_id];
  if (mine >= options_.per_user) {
    return ResourceExhausted("you have " + std::to_string(mine) +
                             " chats in flight, the limit per user; retry when one ends");
  }
  ++mine;
  ++total_;
  return Slot(this, user_id);
}

void ChatLimiter::Release(const std::string& user_id) {
  std::lock_guard lock(mu_);
  --total_;
  auto it = per_user_.find(user_id);
  if (it != per_user_.end() && --it->second == 0) per_user_.erase(it);
}

std::size_t ChatLimiter::open() const {
  std::lock_guard lock(mu_);
  return total_;
}

}  // namespace berth::proxy
