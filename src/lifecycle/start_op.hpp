#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "common/result.hpp"
#include "lifecycle/agent_endpoint.hpp"
#include "lifecycle/start_failure.hpp"

namespace berth::lifecycle {

// Told the outcome of a start, exactly once.
using StartCallback = std::function<void(Result<AgentEndpoint>)>;

// One start in flight, shared by every caller that asked for the agent meanwhile (single
// flight). Made by AgentStarter, referenced from the agent's AgentEntry while it runs.
//
// Thread-safety: `waiters` and `done` are guarded by AgentRegistry's lock; `cancelled` is atomic;
// the wake mutex below is a leaf (nothing else is locked while holding it).
struct StartOp {
  explicit StartOp(std::chrono::steady_clock::time_point began_at) : began(began_at) {}

  const std::chrono::steady_clock::time_point began;  // Clock::SteadyNow() at admission
  std::vector<StartCallback> waiters;                 // guarded by AgentRegistry's lock
  bool done = false;                                  // guarded by AgentRegistry's lock
  std::atomic<bool> cancelled{false};
  // Why the attempt failed, when it did: written and read only by the start's own thread.
  StartFailure failure = StartFailure::kOther;
  // When the engine says the ready container's current run began; start thread only.
  std::optional<std::chrono::system_clock::time_point> container_started_at;
  // The container was started from cold with the start's CPU burst (CpuBurst); start thread only.
  bool burst = false;

  // Marks the start cancelled and cuts its readiness wait short. Thread-safe; idempotent.
  void Cancel() {
    {
      std::lock_guard lock(wake_mu_);
      cancelled = true;
    }
    wake_.notify_all();
  }
  // Waits up to `period` (the readiness poll's pause); returns early, true, once cancelled.
  bool WaitCancelled(std::chrono::milliseconds period) {
    std::unique_lock lock(wake_mu_);
    return wake_.wait_for(lock, period, [this] { return cancelled.load(); });
  }

 private:
  std::mutex wake_mu_;
  std::condition_variable wake_;
};

}  // namespace berth::lifecycle
