#include "http/work_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace berth::http {

WorkPool::WorkPool(Options options) : options_(options) {
  const int threads = std::max(1, options_.threads);
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

WorkPool::~WorkPool() { Shutdown(); }

void WorkPool::Shutdown() {
  std::unordered_map<std::string, KeyState> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(keys_);
    turns_.clear();
    queued_ = 0;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  // `dropped` goes here, outside the lock: a job's destructor may do anything.
}

bool WorkPool::Submit(const std::string& key, std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queued_ >= options_.max_queued) return false;
    KeyState& state = keys_[key];
    if (state.queued.size() >= options_.per_key_queued) {
      if (state.queued.empty() && state.running == 0) keys_.erase(key);
      return false;
    }
    state.queued.push_back(std::move(job));
    ++queued_;
    OfferTurn(key, state);
  }
  cv_.notify_one();
  return true;
}

void WorkPool::OfferTurn(const std::string& key, KeyState& state) {
  if (state.in_turns || state.queued.empty() || state.running >= options_.per_key_running) return;
  state.in_turns = true;
  turns_.push_back(key);
}

void WorkPool::Work() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !turns_.empty(); });
    if (stopping_) return;
    std::string key = std::move(turns_.front());
    turns_.pop_front();
    KeyState& state = keys_[key];
    state.in_turns = false;
    std::function<void()> job = std::move(state.queued.front());
    state.queued.pop_front();
    --queued_;
    ++state.running;
    // Another of its jobs may run beside this one, after every other key's turn.
    OfferTurn(key, state);
    if (!turns_.empty()) cv_.notify_one();
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("work pool: a job threw: {}", e.what());
    } catch (...) {
      spdlog::error("work pool: a job threw an unknown exception");
    }
    job = nullptr;  // its captures go before the lock is taken again
    lock.lock();
    if (stopping_) return;
    KeyState& after = keys_[key];
    --after.running;
    if (after.queued.empty() && after.running == 0) {
      keys_.erase(key);
    } else {
      OfferTurn(key, after);
      cv_.notify_one();
    }
  }
}

}  // namespace berth::http
