#include "lifecycle/worker_pool.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <latch>

namespace berth::lifecycle {

WorkerPool::WorkerPool(std::string name, int threads, std::size_t queue_limit)
    : name_(std::move(name)),
      queue_limit_(queue_limit),
      thread_count_(static_cast<std::size_t>(std::max(threads, 1))) {
  threads_.reserve(thread_count_);
  for (std::size_t i = 0; i < thread_count_; ++i) {
    threads_.emplace_back([this] { Serve(); });
    pthread_setname_np(threads_.back().native_handle(), name_.substr(0, 15).c_str());
  }
}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (shutting_down_ || queue_.size() >= queue_limit_) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void WorkerPool::RunParallel(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < n; i = next++) fn(i);
  };
  const std::size_t helpers = std::min(thread_count_, n - 1);
  // Each helper counts down once, whether it ran or could not be queued; the references it holds
  // stay valid until then, since this frame waits for the latch.
  std::latch finished(static_cast<std::ptrdiff_t>(helpers));
  for (std::size_t h = 0; h < helpers; ++h) {
    if (!TrySubmit([&] {
          work();
          finished.count_down();
        })) {
      finished.count_down();
    }
  }
  work();
  finished.wait();
}

void WorkerPool::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
  }
  cv_.notify_all();
  std::lock_guard join_lock(join_mu_);
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void WorkerPool::Serve() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return shutting_down_ || !queue_.empty(); });
      if (queue_.empty()) return;  // shutting down with nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("{}: a task failed: {}", name_, e.what());
    } catch (...) {
      spdlog::error("{}: a task failed with an unknown exception", name_);
    }
  }
}

}  // namespace berth::lifecycle
