#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/start_op.hpp"
#include "store/coordination.hpp"

namespace berth::lifecycle {

// One start's claim on its agent across replicas (ARCHITECTURE.md, "Several replicas"): the
// store's lease "start:<record id>", taken before the start touches the engine, renewed while it
// runs, released at its end. No database lock is held meanwhile. A replica that dies mid-start
// stops renewing; another takes the lease over once it expires (a higher epoch), and the dead
// one's late writes are refused by the store (fencing).
//
// On SQLite (one berth) the lease is never contended: one store write per start.
//
// Threads: used by one start's thread; blocks on the store. Holds no lock of the lifecycle's.
class StartLease {
 public:
  struct Options {
    std::string holder;              // this replica (InstanceInfo::replica_id)
    std::chrono::milliseconds ttl;   // lease period
    std::chrono::milliseconds poll;  // how often a waiting start asks again
  };

  // Takes the lease of `record_id`, waiting while another replica holds it, until `deadline`
  // (kUnavailable then, StartFailure::kTimeout on `op`). `on_wait` runs once, when the first
  // attempt finds the lease held. A cancelled op ends the wait (kUnavailable, kCancelled).
  static Result<StartLease> Claim(AgentRecords& records, const std::string& record_id,
                                  const Options& options, const Clock& clock, StartOp& op,
                                  std::chrono::steady_clock::time_point deadline,
                                  const std::function<void()>& on_wait);

  // No lease at all, for a store no other replica shares (SQLite: one berth, serve_lock.hpp):
  // Keep() and Release() do nothing and the fence (empty) writes unconditionally, so a lease
  // left by a killed berth never delays the next start.
  static StartLease Unshared(AgentRecords& records, const Clock& clock);

  StartLease(StartLease&&) = default;
  StartLease& operator=(StartLease&&) = default;

  // Renews the lease when a third of its period has passed since the last renewal. kAborted
  // when another replica took it over; a store error only once the lease may have expired
  // (errors before that are logged and retried at the next call).
  Status Keep();
  // Frees the lease for the next start (logged when the store refuses). Idempotent.
  void Release();

  const store::LeaseFence& fence() const { return fence_; }
  // Whether another replica held the lease when this start first asked for it.
  bool waited() const { return waited_; }

 private:
  StartLease(AgentRecords& records, store::LeaseFence fence, const Options& options,
             const Clock& clock, bool waited);

  AgentRecords* records_;
  store::LeaseFence fence_;
  Options options_;
  const Clock* clock_;
  bool waited_ = false;
  bool released_ = false;
  std::chrono::steady_clock::time_point renewed_at_;  // the last renewal that the store took
  std::chrono::steady_clock::time_point tried_at_;    // the last renewal attempted
};

}  // namespace berth::lifecycle
