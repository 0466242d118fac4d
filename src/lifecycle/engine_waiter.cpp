#include "lifecycle/engine_waiter.hpp"

#include <spdlog/spdlog.h>

namespace berth::lifecycle {

void EngineWaiter::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Wait(); });
}

void EngineWaiter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EngineWaiter::Wait() {
  for (int attempt = 0;; ++attempt) {
    Status ready = agents_.Initialize();
    if (ready.ok()) {
      agents_.Start();
      const LifecycleOptions& o = agents_.options();
      spdlog::info("lifecycle ready: agent network {}, image {}", o.network, o.image);
      return;
    }
    if (attempt % 30 == 0) {
      spdlog::warn("container engine not usable yet ({}); agent operations answer 503 until it is",
                   ready.message());
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, retry_, [this] { return stopping_; })) return;
  }
}

}  // namespace berth::lifecycle
