#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "lifecycle/agent_endpoint.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/config_pusher.hpp"
#include "lifecycle/gateway_probe.hpp"
#include "lifecycle/lifecycle_options.hpp"
#include "lifecycle/worker_pool.hpp"
#include "runtime/container_runtime.hpp"
#include "service/containers.hpp"

namespace berth::lifecycle {

// The warm pool (BERTH_WARM_POOL = options.warm_pool): agents started ahead with no user, so that
// a user whose agent has never run gets a ready gateway instead of a cold start.
//
// - A pooled agent is a system container record named service::kPoolNamePrefix + a random part,
//   with model agentconfig::kPoolModel: its config names only a placeholder provider with no key,
//   and its state volume is its own, empty. The
//   SystemKeeper starts it and keeps it running (a pooled agent that dies is started again; it
//   never served anyone); it counts against the start cap and is placed like any agent.
// - Warm-up: a ready pooled agent gets one chat turn from berth (its placeholder provider is
//   berth's stand-in LLM), so that the gateway's costly first turn (seconds of loading and
//   setting up: bench/README.md) is done before a user comes; only then is it handed out. The
//   turn, then two rehearsals of a hand-over (a config change through the config API, to the
//   same placeholder under another name and back, each with a turn), runs on a thread of the
//   pool's own; the
//   record says it was done ({"warmedUp":true} in its config_json), so every replica knows. Its
//   session stays in the agent's state: a chat with no user in it ("Reply with: ok" / "ok").
// - Keep-warm: an idle gateway's next config change is slow again (after 40 s idle, apply plus
//   first token 2.3-3.4 s against 0.9 s kept warm; bench/README.md), so every
//   options.pool_keep_warm the leader's pass has each ready pooled agent make the rehearsal's two
//   config changes again (no turns: the changes alone kept it as fast). Each change is a
//   compare-and-set on the gateway's config hash that only replaces a placeholder config
//   (IsPlaceholder), so a keep-warm racing a hand-over on another replica cannot undo the
//   user's config. A hand-over here waits for a keep-warm step in flight on its agent (one
//   change: under a second) and the rest of that keep-warm is dropped. The cost: a gateway's
//   config change takes about a CPU-second, so each pooled agent uses a tenth of a CPU or so at
//   the default 20 s (bench/README.md).
// - Hand-over (Adopt, from a user's start): Store::ClaimPoolAgent makes the pooled record the
//   user's in one transaction (id, container, token, volume: the container is unchanged), and
//   the gateway applies the user's config before Adopt returns: through its config API
//   (GatewayConfigRpc, which answers once applied), or, on a gateway without one, by the pushed
//   file and its log's "config hot reload applied". One replica's claim wins; the others take
//   another.
// - Only for a user whose agent never ran (no record, or one that never started): a returning
//   user's state is in their own volume, which a running container cannot take, so they take
//   the normal start (or resume from pause). A pooled agent serves one user only: the record
//   stays theirs, so when they are done it is stopped and later started as their agent, never
//   returned to the pool.
// - Refill: the leader's pass (Refill, every options.pool_interval) tops the pool up to its size
//   and removes surplus pooled records; not within options.pool_refill_delay of a hand-over here,
//   since a booting gateway would take the CPU of the user's first turn.
//
// Thread-safe: its own mutex is a leaf; the registry's lock is taken alone.
class WarmPool {
 public:
  WarmPool(const LifecycleOptions& options, AgentRecords& records, AgentRegistry& registry,
           service::ContainerService& containers, ConfigPusher& pusher,
           runtime::ContainerRuntime& runtime, GatewayProbe& probe, const Clock& clock);
  ~WarmPool();  // Stop()
  // Drops queued warm-ups and waits for the one in flight. Idempotent.
  void Stop();

  // The leader's pass, before the system keeper's: creates pooled records up to the pool's size
  // (the keeper then starts them) and deletes those beyond it (the reconciler then removes
  // their containers). Counts the ready ones. Blocks on the store.
  void Refill();

  // For the start of `record` (the user's, under its start lease): a ready pooled agent made the
  // user's, their config applied; nullopt when the pool is off or empty, the user is returning,
  // or every claim failed (the normal start then runs). Blocks up to options.pool_reload_timeout.
  std::optional<AgentEndpoint> Adopt(const AgentKey& key, const AgentRecord& record);

  int size() const { return options_.warm_pool; }
  // Pooled agents ready (and warmed up) at the last look (Refill or Adopt).
  int ready() const { return ready_.load(); }
  int64_t hits_total() const { return hits_.load(); }
  int64_t misses_total() const { return misses_.load(); }
  int64_t keep_warms_total() const { return keep_warms_.load(); }  // completed keep-warms

  // Whether `record` never ran, so the pool may serve its user.
  static bool NeverRan(const AgentRecord& record);
  // Whether the pooled agent of `record` has had its warm-up turn.
  static bool WarmedUp(const AgentRecord& record);

 private:
  struct Candidate {
    AgentRecord record;
    AgentEndpoint endpoint;
  };
  // The ready pooled agents (running, verified, not being claimed here), oldest first.
  Result<std::vector<Candidate>> ReadyAgents();
  // Moves what this process knows of the pooled agent to the user's entry.
  void Rekey(const AgentKey& from, const AgentKey& to, const AgentRecord& adopted);
  // Applies the user's config through the gateway's config API; where it has none, pushes the
  // file and waits until the gateway's log says it applied it.
  void ApplyUserConfig(const AgentKey& key, const AgentEndpoint& endpoint);
  // Queues the warm-up (or, once warmed up, a keep-warm) of a ready pooled agent (once at a time
  // per agent).
  void QueueWarmUp(const AgentRecord& record, const AgentEndpoint& endpoint);
  void WarmUp(const AgentRecord& record, const AgentEndpoint& endpoint);
  void KeepWarm(const AgentRecord& record, const AgentEndpoint& endpoint);
  // Whether a keep-warm of `record` is due (never kept warm here, or options.pool_keep_warm ago).
  bool KeepWarmDue(const AgentRecord& record);
  // One chat turn on the pooled gateway's current config; false (logged) when it failed.
  bool Turn(const AgentRecord& record, const AgentEndpoint& endpoint);
  // Applies the rehearsal config through the config API (and makes a turn on it if `turns`),
  // then the same back to the pool's config; true when the gateway has no config API. Stops,
  // false, when a hand-over of the agent begins here.
  bool Rehearse(const AgentRecord& record, const AgentEndpoint& endpoint, bool turns);
  // Whether a hand-over of `pool_id` has begun here; a keep-warm step of it starts only if not,
  // and is then in flight (Stepped() ends it).
  bool StepBegins(const std::string& pool_id);
  void Stepped(const std::string& pool_id);
  // Whether the gateway's current config is a placeholder one (the pool's or the rehearsal's):
  // the only config a warm-up or keep-warm may replace.
  bool IsPlaceholder(const nlohmann::json& current) const;

  const LifecycleOptions& options_;
  AgentRecords& records_;
  AgentRegistry& registry_;
  service::ContainerService& containers_;
  ConfigPusher& pusher_;
  runtime::ContainerRuntime& runtime_;
  GatewayProbe& probe_;
  const Clock& clock_;

  std::mutex mu_;
  std::set<std::string> claiming_;   // pooled record ids being handed over here; guarded by mu_
  std::set<std::string> warming_;    // pooled record ids queued for warm-up; guarded by mu_
  std::set<std::string> stepping_;   // ids with a keep-warm step in flight; guarded by mu_
  std::condition_variable stepped_;  // a step ended (mu_)
  // When each pooled agent was last warmed here (steady clock); guarded by mu_.
  std::map<std::string, std::chrono::steady_clock::time_point> warmed_at_;
  std::atomic<bool> stopping_{false};
  // This replica's last hand-over (real time): refills wait options.pool_refill_delay after it.
  std::atomic<std::chrono::steady_clock::time_point> last_hand_over_;
  WorkerPool warmer_;  // last member: its thread goes first
  std::atomic<int> ready_{0};
  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
  std::atomic<int64_t> keep_warms_{0};
};

}  // namespace berth::lifecycle
