#pragma once

#include <memory>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "crypto/secret_box.hpp"
#include "lifecycle/agent_key.hpp"
#include "lifecycle/agent_notifier.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/gateway_probe.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "lifecycle/start_lease.hpp"
#include "lifecycle/start_op.hpp"
#include "lifecycle/worker_pool.hpp"
#include "runtime/container_runtime.hpp"

namespace berth::lifecycle {

class WarmPool;

// Starts agents: the warm path, single flight, the start cap, and the start itself (record,
// container create or reuse, engine start, readiness). Every replica runs it.
//
// - Warm: a running agent this process has verified, while the event stream is live, is answered
//   inline with no engine or store call.
// - Single flight: one start per agent at a time; callers meanwhile join it and hear its outcome.
//   Across replicas, the start's lease (start_lease.hpp) makes a start on another replica wait
//   for this one and then verify and reuse the container it left (the same endpoint).
// - Cap: at most options.max_concurrent_starts starts at once across agents; beyond it
//   kResourceExhausted (StartFailure::kLimit) at once.
// - Threads: starts run on a pool of max_concurrent_starts threads made at construction (no
//   thread per start); `done` callbacks run inline on the warm path and on the pool otherwise.
//   What blocks: a start blocks its pool thread on the store, the engine and readiness probes for
//   up to options.start_timeout; callers never block (EnsureRunning's async form).
// - Failures: kUnavailable with what happened (exit code, OOM, log tail, timeout, the image's
//   build command) and a StartFailure on the AgentEvent that ends it; kNotFound for an unknown
//   user. A stop cancels a start (AgentStopper), which then fails with StartFailure::kCancelled
//   and no event.
//
// Lock order: takes AgentRegistry's lock (then a StartOp's wake mutex or the pool's queue, both
// leaves); calls the engine, the store, the notifier and callbacks with no lock held.
// Thread-safe. The referenced parts must outlive it; Stop() before they go.
class AgentStarter {
 public:
  AgentStarter(const LifecycleOptions& options, const InstanceInfo& instance,
               AgentRegistry& registry, AgentRecords& records, runtime::ContainerRuntime& runtime,
               const crypto::SecretBox& secrets, GatewayProbe& probe, const AgentNotifier& notifier,
               const Clock& clock);
  ~AgentStarter();  // Stop()
  AgentStarter(const AgentStarter&) = delete;
  AgentStarter& operator=(const AgentStarter&) = delete;

  // The agent, started when needed; `done` runs exactly once (see above).
  void EnsureRunning(const AgentKey& key, StartCallback done);
  // The same, waiting for the outcome. Blocks up to options.start_timeout and more.
  Result<AgentEndpoint> EnsureRunningAndWait(const AgentKey& key);

  // Where a user's agent that never ran is taken from first (WarmPool::Adopt); none: always a
  // start. REQUIRES: before use.
  void SetWarmPool(WarmPool* pool) { pool_of_ready_ = pool; }

  // Refuses new starts, cancels those in flight and waits for them to finish. Idempotent.
  void Stop();

 private:
  // The record, the start's lease across replicas (start_lease.hpp), then AttemptClaimed; a
  // failure is recorded on the record under the lease.
  Result<AgentEndpoint> Attempt(const AgentKey& key, StartOp& op);
  Result<AgentEndpoint> AttemptOnce(const AgentKey& key, StartOp& op);
  // The start itself, every record write fenced by `lease`, which it renews between steps.
  Result<AgentEndpoint> AttemptClaimed(const AgentKey& key, const AgentRecord& record,
                                       StartLease& lease, StartOp& op);
  // The node the agent runs on: its pinned node when it can run there now (else kPlacement), or
  // on its first start the runtime's choice, pinned in the record; nullopt on one engine.
  Result<std::optional<runtime::NodePlacement>> Place(const AgentKey& key,
                                                      const AgentRecord& record, StartOp& op);
  void Finish(const AgentKey& key, const std::shared_ptr<StartOp>& op,
              Result<AgentEndpoint> result);
  // The container the record already has on the engine, if any: by its recorded id, else by name.
  Result<std::optional<runtime::ContainerInfo>> FindExisting(const AgentRecord& record,
                                                             const std::string& name, StartOp& op);
  // Keeps `existing` only when it is this record's and made from `spec`; restarts it when it
  // failed its health checks.
  Status Vet(const AgentKey& key, const AgentRecord& record, const runtime::ContainerSpec& spec,
             bool force_restart, std::optional<runtime::ContainerInfo>& existing, StartOp& op);
  Result<std::string> Create(const runtime::ContainerSpec& spec, StartOp& op);
  Result<AgentEndpoint> WaitReady(const std::string& container_id, const AgentRecord& record,
                                  const std::string& token, StartLease& lease, StartOp& op);
  void SetPhase(const AgentKey& key, const char* phase);

  const LifecycleOptions& options_;
  const InstanceInfo& instance_;
  AgentRegistry& registry_;
  AgentRecords& records_;
  runtime::ContainerRuntime& runtime_;
  const crypto::SecretBox& secrets_;
  GatewayProbe& probe_;
  const AgentNotifier& notifier_;
  const Clock& clock_;

  // Both guarded by AgentRegistry's lock, so that the cap check and the claim of an entry's
  // start are one step.
  int in_flight_ = 0;
  bool stopping_ = false;
  WorkerPool pool_;
  WarmPool* pool_of_ready_ = nullptr;
};

}  // namespace berth::lifecycle
