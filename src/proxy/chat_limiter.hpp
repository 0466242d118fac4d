#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/result.hpp"

namespace berth::proxy {

// Bounds the chats in flight, per user and in all: a chat holds a slot from its first byte to
// its last, and a request beyond either bound is refused at once (kResourceExhausted, answered
// 429 with Retry-After) instead of queueing without bound. Thread-safe.
class ChatLimiter {
 public:
  struct Options {
    std::size_t per_user = 32;
    std::size_t total = 20000;
  };

  // Releases its slot when destroyed. Movable.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    ~Slot();

   private:
    friend class ChatLimiter;
    Slot(ChatLimiter* limiter, std::string user_id)
        : limiter_(limiter), user_id_(std::move(user_id)) {}
    void Release();
    ChatLimiter* limiter_ = nullptr;
    std::string user_id_;
  };

  explicit ChatLimiter(Options options) : options_(options) {}
  ChatLimiter() : ChatLimiter(Options{}) {}

  // REQUIRES: the limiter outlives the slot.
  Result<Slot> Acquire(const std::string& user_id);
  std::size_t open() const;
  const Options& options() const { return options_; }

 private:
  void Release(const std::string& user_id);

  const Options options_;
  mutable std::mutex mu_;
  std::size_t total_ = 0;                                  // guarded by mu_
  std::unordered_map<std::string, std::size_t> per_user_;  // guarded by mu_; no zero entries
};

}  // namespace berth::proxy
