#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "lifecycle/leadership.hpp"

namespace berth::lifecycle {

// Runs the lifecycle's periodic passes on one thread of its own (Start/Stop): activity flushes
// on every replica; reaping and health sweeps only while Leadership says this replica leads,
// asked again before each such pass. Time is the injected Clock's steady time; tests drive passes
// with RunDue() instead of waiting.
//
// Passes run one after another in the order added, on the scheduler's thread, and may block (a
// sweep takes as long as it takes); the next run of a pass is due one interval after its last one
// ended. A pass skipped for want of leadership is due again one interval later. Lock order: its
// mutex is a leaf and is never held while a pass runs. Thread-safe.
class Scheduler {
 public:
  enum class Scope {
    kEveryReplica,  // per-replica state (this replica's activity)
    kLeaderOnly,    // fleet-wide: exactly one replica
  };
  struct Pass {
    std::string name;
    std::chrono::milliseconds interval;
    Scope scope = Scope::kEveryReplica;
    std::function<void()> run;
    bool run_at_stop = false;  // once more when the loop stops (nothing is lost on shutdown)
  };

  Scheduler(const Clock& clock, Leadership& leadership);
  ~Scheduler();  // Stop()

  // REQUIRES: before Start().
  void Add(Pass pass);

  // Runs every pass due at the clock's steady time now (leader-only ones while leading); returns
  // the names of those that ran. Called by the loop; tests call it directly. REQUIRES: not
  // concurrently with itself.
  std::vector<std::string> RunDue();

  // Starts the loop; each pass is first due one interval from now. Idempotent; not after Stop().
  void Start();
  // Ends the loop after the pass in progress, then runs the run_at_stop passes (if the loop ran).
  void Stop();

 private:
  struct Scheduled {
    Pass pass;
    std::chrono::steady_clock::time_point next;
  };
  void Loop();

  const Clock& clock_;
  Leadership& leadership_;
  std::vector<Scheduled> passes_;  // fixed once started; touched only by RunDue's thread
  bool leading_ = true;            // what RunDue last saw, to log changes; RunDue's thread only

  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace berth::lifecycle
