#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "crypto/secret_box.hpp"
#include "lifecycle/activity_tracker.hpp"
#include "lifecycle/agent_endpoint.hpp"
#include "lifecycle/agent_notifier.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/agent_status.hpp"
#include "lifecycle/agent_views.hpp"
#include "lifecycle/config_pusher.hpp"
#include "lifecycle/cpu_burst.hpp"
#include "lifecycle/event_watcher.hpp"
#include "lifecycle/gateway_probe.hpp"
#include "lifecycle/health_sweeper.hpp"
#include "lifecycle/leadership.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "lifecycle/reaper.hpp"
#include "lifecycle/reconciler.hpp"
#include "lifecycle/scheduler.hpp"
#include "lifecycle/starter.hpp"
#include "lifecycle/stopper.hpp"
#include "lifecycle/system_keeper.hpp"
#include "lifecycle/warm_pool.hpp"
#include "runtime/container_runtime.hpp"
#include "service/containers.hpp"
#include "service/providers.hpp"
#include "store/store.hpp"

namespace berth::lifecycle {

// Runs every agent container: the seed's ContainerLifecycleService without its defects
// (ARCHITECTURE.md). A facade: it owns the lifecycle's parts, wires them, and delegates; the
// behaviour lives in the parts, each with its contract in its header.
//
//   per request, every replica     AgentStarter (warm path, single flight, cap, start pool),
//                                  AgentStopper, ActivityTracker, AgentViews, ConfigPusher,
//                                  EventWatcher; over AgentRegistry (the warm view) and
//                                  AgentRecords (the store)
//   fleet-wide, the leader only    Reconciler, HealthSweeper (persistent probe pool), Reaper,
//                                  SystemKeeper, WarmPool's refill; run by the Scheduler while
//                                  Leadership says so
//
// Threads: the event watcher, the scheduler and the config pusher (one each, Start/Stop); the
// start pool (max_concurrent_starts) and the probe pool (health_parallelism - 1), made at
// construction. Lock order: see AgentRegistry. Depends only on the ContainerRuntime seam.
//
// Thread-safe. Initialize() once (retry while it fails), then Start() the background loops;
// Stop() them before destruction (the destructor does too).
class AgentManager {
 public:
  using StartCallback = lifecycle::StartCallback;
  using StreamGuard = lifecycle::StreamGuard;
  using ApiUrlResolver = std::function<Result<std::string>(const runtime::NetworkInfo&)>;

  AgentManager(LifecycleOptions options, store::StorePtr store,
               runtime::ContainerRuntimePtr runtime,
               std::shared_ptr<service::ContainerService> containers,
               std::shared_ptr<service::ProviderService> providers,
               std::shared_ptr<const crypto::SecretBox> secrets, GatewayProbePtr probe,
               ClockPtr clock, LeadershipPtr leadership = std::make_shared<AlwaysLeader>());
  ~AgentManager();
  AgentManager(const AgentManager&) = delete;
  AgentManager& operator=(const AgentManager&) = delete;

  // Checks the image contract, reads the instance id, creates the agent network when missing,
  // settles MOSAIC_API_URL (options.api_url, else the resolver's answer for the agent network),
  // and, when leading, reconciles the engine with the database. Fails when the engine does not
  // answer; may be retried.
  Status Initialize();
  void SetApiUrlResolver(ApiUrlResolver resolver) { api_url_resolver_ = std::move(resolver); }
  // Initialize() succeeded: the agent operations below may be used.
  bool initialized() const { return initialized_.load(); }
  // Starts the event watcher, the scheduler (activity flush; reaper and health sweep while
  // leading) and the config pusher. Idempotent.
  void Start();
  // Stops the background loops (flushing activity) and waits for starts in flight. Idempotent.
  void Stop();

  // The user's agent, started when needed (AgentStarter). kResourceExhausted at the start cap
  // (see retry_after()); kNotFound for an unknown user; kUnavailable when the start failed (the
  // message says why) or was cancelled.
  void EnsureRunningAsync(const std::string& user_id, StartCallback done);
  Result<AgentEndpoint> EnsureRunning(const std::string& user_id);

  // Graceful stop (stop_grace), cancelling a start in flight. kNotFound for an unknown user.
  Status StopAgent(const std::string& user_id);
  Result<AgentEndpoint> RestartAgent(const std::string& user_id);
  // Stops and removes the user's container and volume (the user is being deleted).
  Status RemoveAgent(const std::string& user_id);
  // The user's container token changed: the running container holds the old one, so the next
  // start recreates it.
  void InvalidateAgent(const std::string& user_id);
  // Another replica paused the user's agent (Reaper): a use here goes through a start, which
  // resumes it, instead of the warm path to a frozen gateway. Memory only.
  void PausedElsewhere(const std::string& user_id);
  // Told of each pause this replica's reaper makes (to tell the other replicas); before Start().
  void SetPauseListener(std::function<void(const std::string& user_id)> listener) {
    reaper_.SetPausedListener(std::move(listener));
  }
  // Another replica changed the user's agent settings (the idle timeout): take them from the
  // record. Blocks on the store.
  void RefreshAgent(const std::string& user_id);
  // The user's idle timeout changed in their record (0: never): the reaper's next pass judges
  // their agent by `minutes`. Memory only; needs no engine.
  void SetIdleTimeout(const std::string& user_id, int minutes);

  // Activity (ActivityTracker): memory only, flushed to the store in batches.
  void Touch(const std::string& user_id);
  StreamGuard OpenStream(const std::string& user_id);

  Result<AgentView> GetAgent(const std::string& user_id);
  Result<std::vector<AgentView>> ListAgents();

  // The fleet-wide passes, also on an admin's request. Reap: users whose idle agents it stopped.
  Result<std::vector<std::string>> Reap();
  // The health sweep (with its reconcile), then the system keeper.
  Result<std::vector<HealthResult>> HealthCheck();
  Status Reconcile();
  // Lowers the start bursts past due (CpuBurst); a pass on every replica. How many it lowered.
  int EndCpuBursts() { return burst_.EndDue(); }

  // Queues a push of the user's current openclaw.json into their running agent (coalesced).
  void ConfigChanged(const std::string& user_id);
  // Pushes now. Ok (and nothing sent) when the agent is not running.
  Status PushConfig(const std::string& user_id);

  Result<AgentEndpoint> StartSystemContainer(const std::string& id);
  Status StopSystemContainer(const std::string& id);

  // Engine reachability, for /api/ready.
  Result<std::string> EnginePing();

  void SetObserver(std::function<void(const AgentEvent&)> observer);

  // True while the engine's event stream is subscribed (the warm path's precondition).
  bool events_live() const { return registry_.events_live(); }
  // Totals since this manager was made, for metrics.
  int64_t reaps_total() const { return reaper_.reaps_total(); }
  int64_t pauses_total() const { return reaper_.pauses_total(); }
  const WarmPool& warm_pool() const { return pool_; }
  // The warm pool's pass (the leader's, every few seconds): refill, then start what is not
  // running (the system keeper).
  void KeepWarmPool();
  int64_t health_failures_total() const { return sweeper_.failures_total(); }
  std::chrono::seconds retry_after() const { return options_.retry_after; }
  const std::string& instance_id() const { return instance_.instance_id; }
  const LifecycleOptions& options() const { return options_; }

 private:
  void Resync();  // the event stream came back: reconcile when leading
  // Before a leader-only pass: a replica that became leader anew learns the fleet first.
  void LearnFleetOnNewTerm();

  const LifecycleOptions options_;
  const store::StorePtr store_;
  const runtime::ContainerRuntimePtr runtime_;
  const std::shared_ptr<service::ContainerService> containers_;
  const std::shared_ptr<service::ProviderService> providers_;
  const std::shared_ptr<const crypto::SecretBox> secrets_;
  const GatewayProbePtr probe_;
  const ClockPtr clock_;
  const LeadershipPtr leadership_;
  std::atomic<int64_t> learned_term_{0};  // the leadership term of the last fleet reconcile
  InstanceInfo instance_;                 // written by Initialize() before any part runs
  ApiUrlResolver api_url_resolver_;
  std::atomic<bool> initialized_{false};

  // The parts, in dependency order (each refers only to those above it).
  AgentRegistry registry_;
  AgentNotifier notifier_;
  AgentRecords records_;
  AgentStarter starter_;
  AgentStopper stopper_;
  ActivityTracker activity_;
  AgentViews views_;
  ConfigPusher pusher_;
  WarmPool pool_;
  Reconciler reconciler_;
  HealthSweeper sweeper_;
  Reaper reaper_;
  CpuBurst burst_;
  SystemKeeper keeper_;
  EventWatcher watcher_;
  Scheduler scheduler_;
};
using AgentManagerPtr = std::shared_ptr<AgentManager>;

}  // namespace berth::lifecycle
