#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "crypto/secret_box.hpp"
#include "lifecycle/gateway_probe.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "runtime/container_runtime.hpp"
#include "service/containers.hpp"
#include "service/providers.hpp"
#include "store/store.hpp"

namespace berth::lifecycle {

enum class AgentStatus { kStopped, kStarting, kRunning, kStopping, kFailed };
std::string_view AgentStatusName(AgentStatus status);

// Where and how to reach a running agent's gateway.
struct AgentEndpoint {
  std::string host;
  int port = 0;
  std::string token;  // the gateway token (the container's AGENT_TOKEN); never logged
  std::string container_id;
  std::string record_id;
};

// One agent as the API reports it.
struct AgentView {
  store::ContainerKind kind = store::ContainerKind::kUser;
  std::string owner;  // user id, or the system container's id
  std::string name;   // system container name; empty for users
  std::string record_id;
  std::string container_name;
  std::optional<std::string> container_id;
  AgentStatus status = AgentStatus::kStopped;
  std::string phase;                      // while starting: creating | starting | waiting_for_ready
  std::optional<int64_t> last_active_at;  // Unix ms
  int idle_timeout_min = 0;               // users only
  int open_streams = 0;
  std::string error;  // why the last start or health check failed, when status is failed
};

struct HealthResult {
  std::string user_id;
  bool healthy = false;
  std::string error;
};

// A start or state change, for observers (progress streams, metrics).
struct AgentEvent {
  store::ContainerKind kind = store::ContainerKind::kUser;
  std::string owner;
  AgentStatus status = AgentStatus::kStopped;
  std::string phase;
  std::string error;
  // On the event that ends a start (status running or failed): how long it took, in seconds;
  // negative on every other event.
  double start_seconds = -1;
};

// Why a start failed, as a short stable label for metrics: "exited", "oom", "timeout", "image",
// "engine", "cancelled", "limit" or "other".
std::string_view StartFailureReason(const Status& error);

// Runs every agent container: the seed's ContainerLifecycleService without its defects
// (ARCHITECTURE.md). Depends only on the ContainerRuntime seam.
//
// State: an in-memory entry per agent mirrors its record; a running, verified entry answers
// EnsureRunning with no engine or store call (the warm path). The engine's event stream and the
// health sweep keep that knowledge true; whenever the event stream drops, every entry loses its
// verification until the next start path or sweep has looked again.
//
// Starts: one in flight per agent, shared by every concurrent caller; at most
// max_concurrent_starts at once across agents (callers beyond get kResourceExhausted); each on
// its own thread, bounded by that cap. StopAgent cancels a start in flight.
//
// Thread-safe. Initialize() once, then Start() the background loops; Stop() them before
// destruction (the destructor does too).
class AgentManager {
 public:
  AgentManager(LifecycleOptions options, store::StorePtr store,
               runtime::ContainerRuntimePtr runtime,
               std::shared_ptr<service::ContainerService> containers,
               std::shared_ptr<const service::ProviderService> providers,
               std::shared_ptr<const crypto::SecretBox> secrets, GatewayProbePtr probe,
               ClockPtr clock);
  ~AgentManager();
  AgentManager(const AgentManager&) = delete;
  AgentManager& operator=(const AgentManager&) = delete;

  // Reads the instance id, creates the agent network when missing, settles MOSAIC_API_URL
  // (options.api_url, else the resolver's answer for the agent network), and reconciles the
  // engine with the database. Fails when the engine does not answer; may be retried.
  Status Initialize();
  using ApiUrlResolver = std::function<Result<std::string>(const runtime::NetworkInfo&)>;
  void SetApiUrlResolver(ApiUrlResolver resolver) { api_url_resolver_ = std::move(resolver); }
  // Initialize() succeeded: the agent operations below may be used.
  bool initialized() const { return initialized_.load(); }
  // Starts the event watcher and the scheduler (reaper, health sweep, activity flush, config
  // push). Idempotent.
  void Start();
  // Stops the background loops and waits for starts in flight to finish. Idempotent.
  void Stop();

  using StartCallback = std::function<void(Result<AgentEndpoint>)>;
  // The user's agent, started when needed. `done` runs exactly once: inline on the warm path,
  // else on the start's thread. kResourceExhausted when the start cap is reached (see
  // retry_after()); kNotFound for an unknown user; kUnavailable when the start failed (the
  // message says why: exit code, OOM, log tail, timeout, missing image) or was cancelled.
  void EnsureRunningAsync(const std::string& user_id, StartCallback done);
  Result<AgentEndpoint> EnsureRunning(const std::string& user_id);

  // Graceful stop (stop_grace), cancelling a start in flight. Stopping a stopped agent is ok.
  Status StopAgent(const std::string& user_id);
  Result<AgentEndpoint> RestartAgent(const std::string& user_id);
  // Stops and removes the user's container and volume (the user is being deleted).
  Status RemoveAgent(const std::string& user_id);
  // The user's container token changed: the running container holds the old one, so the next
  // start recreates it.
  void InvalidateAgent(const std::string& user_id);

  // Activity: pushes the idle deadline out. Memory only; flushed to the store in batches.
  void Touch(const std::string& user_id);
  // An open stream counts as activity for as long as the guard lives: the reaper never stops an
  // agent with a stream open.
  class StreamGuard {
   public:
    StreamGuard() = default;
    StreamGuard(StreamGuard&& other) noexcept;
    StreamGuard& operator=(StreamGuard&& other) noexcept;
    ~StreamGuard();

   private:
    friend class AgentManager;
    void Release();
    StreamGuard(AgentManager* manager, std::string user_id)
        : manager_(manager), user_id_(std::move(user_id)) {}
    AgentManager* manager_ = nullptr;
    std::string user_id_;
  };
  StreamGuard OpenStream(const std::string& user_id);

  Result<AgentView> GetAgent(const std::string& user_id);
  // Every user and system container with its status.
  Result<std::vector<AgentView>> ListAgents();

  // Stops user agents idle past their own idle timeout with no stream open; returns their users.
  Result<std::vector<std::string>> Reap();
  // One list call, then bounded parallel probes (and inspects of containers that stopped);
  // marks what it finds, keeps system containers running, removes orphans. Results for user
  // agents that were running.
  Result<std::vector<HealthResult>> HealthCheck();
  // Adopts or removes labelled containers; marks records whose container vanished as stopped.
  Status Reconcile();

  // Queues a push of the user's current openclaw.json into their running container (coalesced).
  void ConfigChanged(const std::string& user_id);
  // Pushes now. ok (and nothing sent) when the agent is not running.
  Status PushConfig(const std::string& user_id);

  Result<AgentEndpoint> StartSystemContainer(const std::string& id);
  Status StopSystemContainer(const std::string& id);

  // Engine reachability, for /api/ready.
  Result<std::string> EnginePing();

  void SetObserver(std::function<void(const AgentEvent&)> observer);

  // True while the engine's event stream is subscribed (the warm path's precondition).
  bool events_live() const { return events_live_.load(); }
  // Totals since this manager was made, for metrics.
  int64_t reaps_total() const { return reaps_total_.load(); }
  int64_t health_failures_total() const { return health_failures_total_.load(); }
  std::chrono::seconds retry_after() const { return options_.retry_after; }
  const std::string& instance_id() const { return instance_id_; }
  const LifecycleOptions& options() const { return options_; }

 private:
  struct StartOp;
  struct Entry;
  struct Record;

  using Key = std::string;  // "u:<user id>" or "s:<system container id>"
  static Key UserKey(const std::string& user_id) { return "u:" + user_id; }
  static Key SystemKey(const std::string& id) { return "s:" + id; }

  static Record FromUser(const store::UserContainer& c);
  static Record FromSystem(const store::SystemContainer& c);

  void EnsureRunningKey(const Key& key, StartCallback done);
  Status ReconcileWith(const std::vector<runtime::ContainerSummary>& listed);
  void RunStart(Key key, std::shared_ptr<StartOp> op);
  Result<AgentEndpoint> DoStart(const Key& key, StartOp& op);
  Status StopKey(const Key& key);
  Result<Record> LoadRecord(const Key& key);
  Status SaveRecordState(const Key& key, const std::string& status,
                         const std::optional<std::string>& container_id);
  runtime::ContainerSpec BuildSpec(const Record& record, const std::string& token) const;
  Result<AgentEndpoint> EndpointOf(const runtime::ContainerInfo& info, const Record& record,
                                   const std::string& token) const;
  Result<AgentEndpoint> WaitReady(const std::string& container_id, const Record& record,
                                  const std::string& token, StartOp& op);
  std::string DescribeExit(const runtime::ContainerInfo& info);
  Result<std::string> BuildConfig(const Key& key);
  AgentView ViewOf(const Key& key, const Entry* entry, const Record& record) const;

  static void SetStatus(Entry& entry, AgentStatus status, std::string phase,
                        std::string error);  // REQUIRES: mu_ held
  void Notify(const AgentEvent& event);
  Entry& EntryFor(const Key& key);  // REQUIRES: mu_ held
  void InvalidateAll();             // every entry loses its verification

  void WatchEvents();
  void HandleEvent(const runtime::ContainerEvent& event);
  void SchedulerLoop();
  void PushLoop();
  void FlushActivity();
  void KeepSystemContainersRunning();
  bool WaitStopped(std::chrono::milliseconds period);  // true when Stop() was called

  runtime::Labels OwnLabels() const;

  const LifecycleOptions options_;
  const store::StorePtr store_;
  const runtime::ContainerRuntimePtr runtime_;
  const std::shared_ptr<service::ContainerService> containers_;
  const std::shared_ptr<const service::ProviderService> providers_;
  const std::shared_ptr<const crypto::SecretBox> secrets_;
  const GatewayProbePtr probe_;
  const ClockPtr clock_;
  std::string instance_id_;
  std::string api_url_;
  ApiUrlResolver api_url_resolver_;
  std::atomic<bool> initialized_{false};

  mutable std::mutex mu_;
  std::condition_variable starts_cv_;                // a start finished
  std::map<Key, std::unique_ptr<Entry>> entries_;    // guarded by mu_
  std::map<std::string, Key> by_container_id_;       // engine id -> key; guarded by mu_
  int starts_in_flight_ = 0;                         // guarded by mu_
  std::function<void(const AgentEvent&)> observer_;  // guarded by mu_

  std::atomic<bool> events_live_{false};
  std::atomic<int64_t> reaps_total_{0};
  std::atomic<int64_t> health_failures_total_{0};

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;                         // guarded by loop_mu_
  bool started_ = false;                          // guarded by loop_mu_
  std::set<std::string> push_queue_;              // user ids; guarded by loop_mu_
  std::unique_ptr<runtime::EventStream> events_;  // guarded by loop_mu_
  std::thread watcher_;
  std::thread scheduler_;
  std::thread pusher_;
};
using AgentManagerPtr = std::shared_ptr<AgentManager>;

}  // namespace berth::lifecycle
