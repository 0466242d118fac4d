#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace berth {

// A thread of its own that runs `tick` at once and then every `interval` until Stop(): the loop
// of the small background services (leader lease, change feed). Stop() wakes it, waits for a tick
// in progress and joins. Thread-safe; Start() after Stop() does nothing.
class PeriodicThread {
 public:
  PeriodicThread() = default;
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  void Start(std::chrono::milliseconds interval, std::function<void()> tick) {
    std::lock_guard lock(mu_);
    if (started_ || stopping_) return;
    started_ = true;
    thread_ = std::thread([this, interval, tick = std::move(tick)] {
      std::unique_lock lock(mu_);
      while (!stopping_) {
        lock.unlock();
        tick();
        lock.lock();
        cv_.wait_for(lock, interval, [this] { return stopping_; });
      }
    });
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace berth
