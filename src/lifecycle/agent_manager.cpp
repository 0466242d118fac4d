#include "lifecycle/agent_manager.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "lifecycle/lease_leadership.hpp"
#include "lifecycle/pool_llm.hpp"

namespace berth::lifecycle {

AgentManager::AgentManager(LifecycleOptions options, store::StorePtr store,
                           runtime::ContainerRuntimePtr runtime,
                           std::shared_ptr<service::ContainerService> containers,
                           std::shared_ptr<service::ProviderService> providers,
                           std::shared_ptr<const crypto::SecretBox> secrets, GatewayProbePtr probe,
                           ClockPtr clock, LeadershipPtr leadership)
    : options_(std::move(options)),
      store_(std::move(store)),
      runtime_(std::move(runtime)),
      containers_(std::move(containers)),
      providers_(std::move(providers)),
      secrets_(std::move(secrets)),
      probe_(std::move(probe)),
      clock_(std::move(clock)),
      leadership_(std::move(leadership)),
      records_(store_, containers_, clock_),
      starter_(options_, instance_, registry_, records_, *runtime_, *secrets_, *probe_, notifier_,
               *clock_),
      stopper_(options_, registry_, records_, *runtime_, notifier_),
      activity_(registry_, records_, *clock_),
      views_(records_, registry_),
      pusher_(options_.contract, registry_, records_, *providers_, *runtime_, *clock_),
      pool_(options_, records_, registry_, *containers_, pusher_, *runtime_, *probe_, *clock_),
      reconciler_(*runtime_, records_, registry_, instance_, *clock_),
      sweeper_(options_, instance_, *runtime_, records_, registry_, reconciler_, *secrets_,
               *probe_),
      reaper_(options_, registry_, records_, stopper_, *runtime_, *clock_),
      burst_(options_, registry_, *runtime_, *clock_),
      keeper_(options_, records_, registry_, starter_, stopper_, *clock_),
      watcher_(*runtime_, registry_, records_, notifier_, instance_, [this] { Resync(); }),
      scheduler_(*clock_, *leadership_) {
  reconciler_.SetSharedStore(options_.shared_store);
  starter_.SetWarmPool(&pool_);
  scheduler_.Add({"activity flush", options_.activity_flush_interval,
                  Scheduler::Scope::kEveryReplica, [this] { activity_.Flush(); },
                  /*run_at_stop=*/true});
  if (CpuBurst::Enabled(options_)) {
    scheduler_.Add({"cpu burst end", options_.activity_flush_interval,
                    Scheduler::Scope::kEveryReplica, [this] { burst_.EndDue(); }});
  }
  scheduler_.Add({"reap", options_.reap_interval, Scheduler::Scope::kLeaderOnly, [this] {
                    LearnFleetOnNewTerm();
                    auto reaped = Reap();
                    if (!reaped.ok()) {
                      spdlog::warn("lifecycle: reaper failed: {}", reaped.status().message());
                    }
                  }});
  // Also with no pool: it then removes pooled agents left from when there was one.
  scheduler_.Add({"warm pool", options_.pool_interval, Scheduler::Scope::kLeaderOnly,
                  [this] { KeepWarmPool(); }});
  scheduler_.Add({"health sweep", options_.health_interval, Scheduler::Scope::kLeaderOnly, [this] {
                    auto checked = HealthCheck();
                    if (!checked.ok()) {
                      spdlog::warn("lifecycle: health sweep failed: {}",
                                   checked.status().message());
                    }
                  }});
}

AgentManager::~AgentManager() { Stop(); }

Status AgentManager::Initialize() {
  BERTH_RETURN_IF_ERROR(options_.contract.Validate());
  auto instance = store_->InstanceId();
  if (!instance.ok()) return instance.status();
  instance_.instance_id = *instance;
  instance_.replica_id = options_.replica_id.empty() ? NewReplicaId() : options_.replica_id;
  auto network = runtime_->EnsureNetwork(options_.network, /*isolated=*/true);
  if (!network.ok()) {
    return Status(network.status().code(),
                  "agent network " + options_.network + ": " + network.status().message());
  }
  if (instance_.api_url.empty()) {
    if (!options_.api_url.empty()) {
      instance_.api_url = options_.api_url;
    } else if (api_url_resolver_) {
      auto resolved = api_url_resolver_(*network);
      if (!resolved.ok()) return resolved.status();
      instance_.api_url = *resolved;
    } else {
      return InvalidArgument("MOSAIC_API_URL: not set and cannot be derived");
    }
  }
  // Warm-pool agents' placeholder provider: berth's stand-in LLM (http/warmup_llm.hpp).
  containers_->SetPoolLlmUrl(instance_.api_url + kPoolLlmPath);
  providers_->SetLlmGatewayUrl(instance_.api_url + kLlmGatewayPath);
  // A replica that does not lead leaves the fleet to the leader; its warm view fills as it
  // starts agents.
  if (leadership_->IsLeader()) {
    const int64_t term = leadership_->Term();
    BERTH_RETURN_IF_ERROR(reconciler_.Reconcile());
    learned_term_ = term;
  }
  initialized_ = true;
  return Status::Ok();
}

void AgentManager::Start() {
  watcher_.Start();
  scheduler_.Start();
  pusher_.Start();
}

void AgentManager::Stop() {
  watcher_.Stop();
  scheduler_.Stop();  // flushes activity once more
  pusher_.Stop();
  pool_.Stop();
  starter_.Stop();
  sweeper_.Stop();
}

void AgentManager::Resync() {
  if (!leadership_->IsLeader()) return;
  Status reconciled = reconciler_.Reconcile();
  if (!reconciled.ok()) {
    spdlog::warn("lifecycle: reconcile after the event stream returned failed: {}",
                 reconciled.message());
  }
}

void AgentManager::LearnFleetOnNewTerm() {
  const int64_t term = leadership_->Term();
  if (term == learned_term_.load()) return;
  spdlog::info("lifecycle: leading the fleet (term {}): reconciling before the first pass", term);
  Status reconciled = reconciler_.Reconcile();
  if (!reconciled.ok()) {
    spdlog::warn("lifecycle: reconcile on becoming leader failed: {}", reconciled.message());
    return;  // tried again before the next pass
  }
  learned_term_ = term;
}

void AgentManager::EnsureRunningAsync(const std::string& user_id, StartCallback done) {
  starter_.EnsureRunning(AgentKey::User(user_id), std::move(done));
}

Result<AgentEndpoint> AgentManager::EnsureRunning(const std::string& user_id) {
  return starter_.EnsureRunningAndWait(AgentKey::User(user_id));
}

Status AgentManager::StopAgent(const std::string& user_id) {
  BERTH_RETURN_IF_ERROR(records_.CheckUser(user_id));
  return stopper_.Stop(AgentKey::User(user_id));
}

Result<AgentEndpoint> AgentManager::RestartAgent(const std::string& user_id) {
  BERTH_RETURN_IF_ERROR(StopAgent(user_id));
  return EnsureRunning(user_id);
}

Status AgentManager::RemoveAgent(const std::string& user_id) { return stopper_.Remove(user_id); }

void AgentManager::InvalidateAgent(const std::string& user_id) {
  registry_.MarkStale(AgentKey::User(user_id));
}

void AgentManager::PausedElsewhere(const std::string& user_id) {
  AgentRegistry::Locked locked = registry_.Lock();
  if (AgentEntry* entry = locked.Find(AgentKey::User(user_id))) {
    entry->paused = true;
    entry->verified = false;
  }
}

void AgentManager::RefreshAgent(const std::string& user_id) {
  const AgentKey key = AgentKey::User(user_id);
  auto record = records_.Find(key);
  if (!record.ok()) {
    if (record.status().code() != ErrorCode::kNotFound) {
      spdlog::warn("lifecycle: cannot refresh agent {}: {}", ToString(key),
                   record.status().message());
    }
    return;
  }
  registry_.SetIdleTimeout(key, record->idle_timeout_min);
}

void AgentManager::SetIdleTimeout(const std::string& user_id, int minutes) {
  registry_.SetIdleTimeout(AgentKey::User(user_id), minutes);
}

void AgentManager::Touch(const std::string& user_id) { activity_.Touch(user_id); }

AgentManager::StreamGuard AgentManager::OpenStream(const std::string& user_id) {
  return activity_.OpenStream(user_id);
}

Result<AgentView> AgentManager::GetAgent(const std::string& user_id) { return views_.Get(user_id); }

Result<std::vector<AgentView>> AgentManager::ListAgents() { return views_.List(); }

Result<std::vector<std::string>> AgentManager::Reap() { return reaper_.Reap(); }

Result<std::vector<HealthResult>> AgentManager::HealthCheck() {
  auto results = sweeper_.Sweep();
  if (results.ok()) keeper_.Keep();
  return results;
}

Status AgentManager::Reconcile() { return reconciler_.Reconcile(); }

void AgentManager::KeepWarmPool() {
  LearnFleetOnNewTerm();
  pool_.Refill();
  if (options_.warm_pool > 0) keeper_.Keep();
}

void AgentManager::ConfigChanged(const std::string& user_id) { pusher_.Changed(user_id); }

Status AgentManager::PushConfig(const std::string& user_id) { return pusher_.Push(user_id); }

Result<AgentEndpoint> AgentManager::StartSystemContainer(const std::string& id) {
  return keeper_.Start(id);
}

Status AgentManager::StopSystemContainer(const std::string& id) { return keeper_.Stop(id); }

Result<std::string> AgentManager::EnginePing() { return runtime_->Ping(); }

void AgentManager::SetObserver(std::function<void(const AgentEvent&)> observer) {
  notifier_.SetObserver(std::move(observer));
}

}  // namespace berth::lifecycle
