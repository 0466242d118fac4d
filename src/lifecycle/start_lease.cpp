#include "lifecycle/start_lease.hpp"

#include <spdlog/spdlog.h>

namespace berth::lifecycle {

StartLease::StartLease(AgentRecords& records, store::LeaseFence fence, const Options& options,
                       const Clock& clock, bool waited)
    : records_(&records),
      fence_(std::move(fence)),
      options_(options),
      clock_(&clock),
      waited_(waited),
      renewed_at_(clock.SteadyNow()),
      tried_at_(renewed_at_) {}

Result<StartLease> StartLease::Claim(AgentRecords& records, const std::string& record_id,
                                     const Options& options, const Clock& clock, StartOp& op,
                                     std::chrono::steady_clock::time_point deadline,
                                     const std::function<void()>& on_wait) {
  const std::string name = "start:" + record_id;
  bool waited = false;
  for (;;) {
    if (op.cancelled) {
      op.failure = StartFailure::kCancelled;
      return Unavailable("cancelled");
    }
    auto epoch = records.AcquireLease(name, options.holder, options.ttl);
    if (!epoch.ok()) {
      op.failure = StartFailure::kOther;
      return Unavailable("cannot claim the agent's start: " + epoch.status().message());
    }
    if (epoch->has_value()) {
      return StartLease(records, {name, options.holder, **epoch}, options, clock, waited);
    }
    if (!waited) {
      waited = true;
      on_wait();
    }
    if (clock.SteadyNow() >= deadline) {
      op.failure = StartFailure::kTimeout;
      return Unavailable("another berth replica is still starting this agent");
    }
    op.WaitCancelled(options.poll);
  }
}

StartLease StartLease::Unshared(AgentRecords& records, const Clock& clock) {
  StartLease lease(records, store::LeaseFence{}, Options{}, clock, /*waited=*/false);
  lease.released_ = true;
  return lease;
}

Status StartLease::Keep() {
  if (fence_.name.empty()) return Status::Ok();
  const auto now = clock_->SteadyNow();
  if (now - tried_at_ < options_.ttl / 3) return Status::Ok();
  tried_at_ = now;
  auto renewed = records_->RenewLease(fence_, options_.ttl);
  if (renewed.ok() && *renewed) {
    renewed_at_ = now;
    return Status::Ok();
  }
  if (renewed.ok()) {
    return Aborted("another berth replica took over this start (its lease expired)");
  }
  if (now - renewed_at_ < options_.ttl * 2 / 3) {
    spdlog::warn("lifecycle: cannot renew lease {} (will retry): {}", fence_.name,
                 renewed.status().message());
    return Status::Ok();
  }
  return Unavailable("cannot renew the start's lease: " + renewed.status().message());
}

void StartLease::Release() {
  if (released_) return;
  released_ = true;
  Status freed = records_->ReleaseLease(fence_);
  if (!freed.ok()) {
    spdlog::warn("lifecycle: cannot release lease {} (it expires by itself): {}", fence_.name,
                 freed.message());
  }
}

}  // namespace berth::lifecycle
