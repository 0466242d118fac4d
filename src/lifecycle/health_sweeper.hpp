#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "crypto/secret_box.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/gateway_probe.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "lifecycle/reconciler.hpp"
#include "lifecycle/worker_pool.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

struct HealthResult {
  std::string user_id;
  bool healthy = false;
  std::string error;
};

// Checks every agent this replica believes running. Fleet-wide: exactly one replica runs it (the
// scheduler's leader; an admin may ask any replica).
//
// One list call serves a reconcile (Reconciler::ReconcileWith) and the sweep; then the contract's
// readiness path is probed on every running agent in parallel on a persistent pool of
// options.health_parallelism - 1 threads plus the calling thread (made once, not per sweep);
// agents whose container is not listed running, or that have no endpoint yet (adopted), are
// inspected first. A gone or exited container is marked failed at once (started again on next
// use); a running one that fails options.health_failures_before_unhealthy probes in a row is
// marked failed and restarted on next use; a healthy one regains its warm path (when the event
// stream is live).
//
// Blocks the caller for the sweep: up to about probe_timeout × agents / parallelism. Errors: the
// list call's or the reconcile's; per-agent problems are results, not errors. Lock order:
// AgentRegistry's lock alone, never across a probe, engine or store call. Thread-safe.
class HealthSweeper {
 public:
  HealthSweeper(const LifecycleOptions& options, const InstanceInfo& instance,
                runtime::ContainerRuntime& runtime, AgentRecords& records, AgentRegistry& registry,
                Reconciler& reconciler, const crypto::SecretBox& secrets, GatewayProbe& probe);

  // Results for the user agents that were running.
  Result<std::vector<HealthResult>> Sweep();
  // Failed probes since construction, for metrics.
  int64_t failures_total() const { return failures_total_.load(); }
  // Joins the probe pool; a sweep after this probes on the calling thread alone.
  void Stop() { pool_.Shutdown(); }

 private:
  struct Target;
  void Check(Target& target);

  const LifecycleOptions& options_;
  const InstanceInfo& instance_;
  runtime::ContainerRuntime& runtime_;
  AgentRecords& records_;
  AgentRegistry& registry_;
  Reconciler& reconciler_;
  const crypto::SecretBox& secrets_;
  GatewayProbe& probe_;
  std::atomic<int64_t> failures_total_{0};
  WorkerPool pool_;
};

}  // namespace berth::lifecycle
