#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "lifecycle/leadership.hpp"
#include "store/store.hpp"

namespace berth::lifecycle {

// A name for this process as a lease holder: host, process id and a random part, so that a
// restarted replica never passes for its former self.
std::string NewReplicaId();

// Leadership of a fleet of replicas on one database (ARCHITECTURE.md, "Several replicas"): the
// store's lease row "leader" with a fencing epoch, never a session advisory lock (freed silently
// with a dropped connection while its holder still believes it leads).
//
// A thread of its own (Start/Stop) asks for the lease every ttl/4: taking it when free or
// expired, renewing it while held. This replica believes it leads only until 3/4 of a period
// after it sent its last successful renewal, and the store's lease lasts a full period from when
// the database ran it: a replica that stops renewing (dead, paused, cut off from the database)
// stops leading before another can take over. A dead leader is replaced within ttl + ttl/4.
// Stop() releases the lease so that another replica takes over at its next try.
//
// Thread-safe; IsLeader() and Term() never block.
class LeaseLeadership final : public Leadership {
 public:
  LeaseLeadership(store::StorePtr store, std::string holder, std::chrono::milliseconds ttl,
                  ClockPtr clock);
  ~LeaseLeadership() override;  // Stop()
  LeaseLeadership(const LeaseLeadership&) = delete;
  LeaseLeadership& operator=(const LeaseLeadership&) = delete;

  bool IsLeader() override;
  int64_t Term() override { return epoch_.load(); }

  // One round now: take or renew the lease. Blocks on the store. The thread calls it; tests too.
  void Tick();
  void Start();  // idempotent; not after Stop()
  void Stop();   // joins the thread, releases a held lease; idempotent

  static constexpr const char* kLeaseName = "leader";

 private:
  void Loop();
  void Lose(const char* why);

  const store::StorePtr store_;
  const std::string holder_;
  const std::chrono::milliseconds ttl_;
  const ClockPtr clock_;

  std::atomic<int64_t> epoch_{0};  // of the lease held, or last held; 0 before the first
  // Steady-clock nanoseconds until which this replica believes it leads; 0 when it does not.
  std::atomic<int64_t> believed_until_ns_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace berth::lifecycle
