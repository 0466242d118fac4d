#include "lifecycle/warm_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "lifecycle/cpu_burst.hpp"
#include "lifecycle/gateway_config_rpc.hpp"

namespace berth::lifecycle {
namespace {

// What the gateway (OpenClaw's, and the test agent's) logs once a pushed config is in use.
constexpr std::string_view kApplied = "config hot reload applied";
constexpr int kLogLines = 200;
constexpr std::chrono::milliseconds kLogPoll{50};
// A fresh gateway's first turn took 5.8-14 s here (bench/README.md); under load, more.
constexpr std::chrono::milliseconds kWarmUpTimeout{120'000};

int CountApplied(const Result<std::string>& logs) {
  if (!logs.ok()) return -1;
  int n = 0;
  for (std::size_t at = logs->find(kApplied); at != std::string::npos;
       at = logs->find(kApplied, at + kApplied.size())) {
    ++n;
  }
  return n;
}

}  // namespace

WarmPool::WarmPool(const LifecycleOptions& options, AgentRecords& records, AgentRegistry& registry,
                   service::ContainerService& containers, ConfigPusher& pusher,
                   runtime::ContainerRuntime& runtime, GatewayProbe& probe, const Clock& clock)
    : options_(options),
      records_(records),
      registry_(registry),
      containers_(containers),
      pusher_(pusher),
      runtime_(runtime),
      probe_(probe),
      clock_(clock),
      // As if the last hand-over were a whole wait ago: the steady clock's epoch is the machine's
      // boot, so a default time point made the first refills wait on a machine up for less.
      last_hand_over_(std::chrono::steady_clock::now() - options.pool_refill_delay),
      warmer_("berth-warmup", 1, 1024) {}

WarmPool::~WarmPool() { Stop(); }

bool WarmPool::WarmedUp(const AgentRecord& record) {
  const auto config = nlohmann::json::parse(record.config_json, nullptr, false);
  return config.is_object() && config.value("warmedUp", false);
}

void WarmPool::QueueWarmUp(const AgentRecord& record, const AgentEndpoint& endpoint) {
  {
    std::lock_guard lock(mu_);
    if (!warming_.insert(record.id).second) return;
  }
  const bool warmed = WarmedUp(record);
  if (!warmer_.TrySubmit([this, record, endpoint, warmed] {
        warmed ? KeepWarm(record, endpoint) : WarmUp(record, endpoint);
      })) {
    std::lock_guard lock(mu_);
    warming_.erase(record.id);
  }
}

void WarmPool::Stop() {
  stopping_ = true;
  warmer_.Shutdown();
}

bool WarmPool::Turn(const AgentRecord& record, const AgentEndpoint& endpoint) {
  const nlohmann::json turn = {{"model", "openclaw"},
                               {"stream", true},
                               {"messages", {{{"role", "user"}, {"content", "Reply with: ok"}}}}};
  auto answered = probe_.Post(endpoint.host, endpoint.port, "/v1/chat/completions", endpoint.token,
                              turn.dump(), kWarmUpTimeout);
  if (answered.ok() && answered->status == 200) return true;
  spdlog::warn(
      "lifecycle: warm pool: a warm-up turn of {} failed ({}); trying again later", record.name,
      answered.ok() ? "status " + std::to_string(answered->status) : answered.status().message());
  return false;
}

bool WarmPool::IsPlaceholder(const nlohmann::json& current) const {
  static const nlohmann::json::json_pointer kProviders("/models/providers");
  // The providers, but for where they point (berth's stand-in LLM may have moved since the
  // gateway took its config: a restart of berth on another address) and their keys (config.get
  // shows each as "__OPENCLAW_REDACTED__").
  const auto providers_of = [](const nlohmann::json& config) {
    if (!config.is_object() || !config.contains(kProviders)) return nlohmann::json();
    nlohmann::json providers = config.at(kProviders);
    if (!providers.is_object()) return nlohmann::json();
    for (auto& provider : providers) {
      if (!provider.is_object()) continue;
      provider.erase("baseUrl");
      provider.erase("apiKey");
    }
    return providers;
  };
  const nlohmann::json providers = providers_of(current);
  if (providers.empty()) return false;
  for (const bool rehearsal : {false, true}) {
    if (providers == providers_of(containers_.PoolConfig(rehearsal))) return true;
  }
  return false;
}

bool WarmPool::StepBegins(const std::string& pool_id) {
  std::lock_guard lock(mu_);
  if (stopping_ || claiming_.count(pool_id) > 0) return false;
  stepping_.insert(pool_id);
  return true;
}

void WarmPool::Stepped(const std::string& pool_id) {
  {
    std::lock_guard lock(mu_);
    stepping_.erase(pool_id);
  }
  stepped_.notify_all();
}

bool WarmPool::Rehearse(const AgentRecord& record, const AgentEndpoint& endpoint, bool turns) {
  // Twice, to the rehearsal config and back to the pool's: a first change applied in 1.0-1.3 s
  // and its turn took 0.7 s, a second one 0.8-1.0 s and 0.7 s, later ones 0.5 s and 0.4 s
  // (measured, each after 20-40 s idle).
  for (const bool rehearsal : {true, false}) {
    if (!StepBegins(record.id)) return false;
    const nlohmann::json config = containers_.PoolConfig(rehearsal);
    Status applied = GatewayConfigRpc(probe_, endpoint)
                         .Apply(config, kWarmUpTimeout,
                                [this](const nlohmann::json& now) { return IsPlaceholder(now); });
    // Turns only in the warm-up, before the agent can be handed out: no user's config can be in
    // place by then. The keep-warm makes none.
    const bool turned = applied.ok() && (!turns || Turn(record, endpoint));
    Stepped(record.id);
    if (applied.code() == ErrorCode::kNotFound) return true;  // no config API: nothing to rehearse
    if (!applied.ok()) {
      spdlog::warn(
          "lifecycle: warm pool: the config rehearsal of {} failed ({}); trying again later",
          record.name, applied.message());
      return false;
    }
    if (!turned) return false;
  }
  return true;
}

void WarmPool::WarmUp(const AgentRecord& record, const AgentEndpoint& endpoint) {
  if (stopping_) return;
  const auto begin = std::chrono::steady_clock::now();
  // A fresh gateway's first turn, and its first config change and the turn after it, are the
  // slow ones (seconds, then 1.0-1.2 s and 0.6 s; bench/README.md): made here, off a user's path.
  if (Turn(record, endpoint) && !stopping_ && Rehearse(record, endpoint, /*turns=*/true)) {
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - begin);
    Status saved = records_.SaveConfigJson(record.key, nlohmann::json{{"warmedUp", true}}.dump());
    if (saved.ok()) {
      spdlog::info("lifecycle: warm pool: {} warmed up in {} ms", record.name, took.count());
      std::lock_guard lock(mu_);
      warmed_at_[record.id] = clock_.SteadyNow();
    }
  }
  std::lock_guard lock(mu_);
  warming_.erase(record.id);
}

bool WarmPool::KeepWarmDue(const AgentRecord& record) {
  if (options_.pool_keep_warm.count() <= 0) return false;
  std::lock_guard lock(mu_);
  auto at = warmed_at_.find(record.id);
  return at == warmed_at_.end() || clock_.SteadyNow() - at->second >= options_.pool_keep_warm;
}

void WarmPool::KeepWarm(const AgentRecord& record, const AgentEndpoint& endpoint) {
  const auto begin = std::chrono::steady_clock::now();
  // The changes alone: they kept the next one as fast as changes with turns did (an idle
  // gateway's apply plus first token: 1.2 s kept so, 1.2-1.3 s with turns, 2.3-5.3 s left idle
  // 40 s), and no turn can then ever reach a provider.
  const bool kept = Rehearse(record, endpoint, /*turns=*/false);
  std::lock_guard lock(mu_);
  warming_.erase(record.id);
  // Even when it failed or was dropped: the next try waits its turn.
  warmed_at_[record.id] = clock_.SteadyNow();
  if (kept) {
    ++keep_warms_;
    spdlog::debug("lifecycle: warm pool: {} kept warm in {} ms", record.name,
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - begin)
                      .count());
  }
}

bool WarmPool::NeverRan(const AgentRecord& record) {
  return !record.container_id && !record.last_active_at && record.status == AgentStatus::kStopped;
}

void WarmPool::Refill() {
  auto systems = records_.ListSystem();
  if (!systems.ok()) {
    spdlog::warn("lifecycle: cannot list the warm pool: {}", systems.status().message());
    return;
  }
  int pooled = 0;
  int ready = 0;
  for (const AgentRecord& record : *systems) {
    if (!service::IsPoolName(record.name)) continue;
    if (++pooled > options_.warm_pool) {
      spdlog::info("lifecycle: the warm pool is over its size {}; removing {}", options_.warm_pool,
                   record.name);
      Status deleted = containers_.DeleteSystemContainer(record.id);
      if (!deleted.ok() && deleted.code() != ErrorCode::kNotFound) {
        spdlog::warn("lifecycle: cannot remove pooled agent {}: {}", record.name,
                     deleted.message());
      }
      continue;
    }
    std::optional<AgentEndpoint> endpoint;
    bool down = true;
    {
      AgentRegistry::Locked locked = registry_.Lock();
      const AgentEntry* entry = locked.Find(record.key);
      if (entry != nullptr && entry->Warm() && !entry->start) endpoint = entry->endpoint;
      down = entry == nullptr || (entry->status != AgentStatus::kRunning && !entry->start);
    }
    if (down && WarmedUp(record)) {
      // It died: the process that had its warm-up is gone; the next one gets its own.
      (void)records_.SaveConfigJson(record.key, "{}");
      continue;
    }
    if (!endpoint) continue;
    if (WarmedUp(record)) {
      ++ready;
      if (KeepWarmDue(record)) QueueWarmUp(record, *endpoint);
    } else {
      QueueWarmUp(record, *endpoint);
    }
  }
  ready_ = ready;
  {
    std::lock_guard lock(mu_);
    std::erase_if(warmed_at_, [&](const auto& at) {
      return std::none_of(systems->begin(), systems->end(),
                          [&](const AgentRecord& r) { return r.id == at.first; });
    });
  }
  if (std::chrono::steady_clock::now() - last_hand_over_.load() < options_.pool_refill_delay) {
    return;  // a booting gateway would take the CPU the user's first turn needs (bench/README.md)
  }
  for (; pooled < options_.warm_pool; ++pooled) {
    auto made = containers_.CreatePoolContainer();
    if (!made.ok()) {
      spdlog::warn("lifecycle: cannot add to the warm pool: {}", made.status().message());
      return;
    }
    spdlog::info("lifecycle: warm pool: added {}", made->record.name);
  }
}

Result<std::vector<WarmPool::Candidate>> WarmPool::ReadyAgents() {
  auto systems = records_.ListSystem();
  if (!systems.ok()) return systems.status();
  std::vector<Candidate> ready;
  {
    AgentRegistry::Locked locked = registry_.Lock();
    for (AgentRecord& record : *systems) {
      if (!service::IsPoolName(record.name) || !WarmedUp(record)) continue;
      const AgentEntry* entry = locked.Find(record.key);
      if (entry == nullptr || !entry->Warm() || entry->start) continue;
      ready.push_back({std::move(record), *entry->endpoint});
    }
  }
  std::lock_guard lock(mu_);
  std::erase_if(ready, [this](const Candidate& c) { return claiming_.count(c.record.id) > 0; });
  // One without a keep-warm step in flight first: it needs no wait.
  std::stable_partition(ready.begin(), ready.end(),
                        [this](const Candidate& c) { return stepping_.count(c.record.id) == 0; });
  return ready;
}

std::optional<AgentEndpoint> WarmPool::Adopt(const AgentKey& key, const AgentRecord& record) {
  if (options_.warm_pool <= 0 || !key.is_user() || !NeverRan(record)) return std::nullopt;
  auto ready = ReadyAgents();
  if (!ready.ok()) {
    spdlog::warn("lifecycle: cannot read the warm pool: {}", ready.status().message());
    return std::nullopt;
  }
  ready_ = static_cast<int>(ready->size());
  for (const Candidate& candidate : *ready) {
    const std::string& pool_id = candidate.record.id;
    {
      std::unique_lock lock(mu_);
      if (!claiming_.insert(pool_id).second) continue;
      // A keep-warm step in flight on it ends first (a change or a turn: under a second); no
      // other begins while it is claimed.
      stepped_.wait_for(lock, options_.pool_reload_timeout,
                        [&] { return stepping_.count(pool_id) == 0; });
    }
    auto adopted = records_.ClaimPoolAgent(pool_id, key.owner);
    {
      std::lock_guard lock(mu_);
      claiming_.erase(pool_id);
    }
    if (!adopted.ok()) {
      if (adopted.status().code() == ErrorCode::kNotFound) continue;  // another replica's now
      if (adopted.status().code() != ErrorCode::kAlreadyExists) {
        spdlog::warn("lifecycle: cannot hand pooled agent {} to {}: {}", candidate.record.name,
                     ToString(key), adopted.status().message());
      }
      return std::nullopt;  // the user's record is theirs after all: the normal start
    }
    // From here, not from the end: a refill pass during the config's apply would boot a
    // replacement on the CPU the apply and the first turn need (measured: 1.4-1.9 s applies).
    last_hand_over_ = std::chrono::steady_clock::now();
    spdlog::info("lifecycle: agent {} is pooled agent {} (container {})", ToString(key),
                 candidate.record.name, candidate.endpoint.container_id.substr(0, 12));
    Rekey(candidate.record.key, key, *adopted);
    if (CpuBurst::Enabled(options_)) {
      // The reload and the user's first turn run with the start's burst, lowered as any.
      CpuBurst::Raise(options_, runtime_, candidate.endpoint.container_id);
      AgentRegistry::Locked locked = registry_.Lock();
      locked.Get(key).burst_until_ms =
          ToUnixMillis(clock_.Now()) + options_.start_burst.count() * 1000;
    }
    ApplyUserConfig(key, candidate.endpoint);
    ++hits_;
    ready_ = std::max(0, ready_.load() - 1);
    last_hand_over_ = std::chrono::steady_clock::now();  // the wait counts from the user's turn
    return candidate.endpoint;
  }
  ++misses_;
  return std::nullopt;
}

void WarmPool::Rekey(const AgentKey& from, const AgentKey& to, const AgentRecord& adopted) {
  AgentRegistry::Locked locked = registry_.Lock();
  AgentEntry* pooled = locked.Find(from);
  std::optional<int64_t> burst_until;
  std::optional<std::chrono::system_clock::time_point> started_at;
  if (pooled != nullptr) {
    burst_until = pooled->burst_until_ms;  // if its own is still on
    started_at = pooled->container_started_at;
    locked.Erase(from);
  }
  AgentEntry& entry = locked.Get(to);  // its start is in flight: Finish() makes it running
  entry.record_id = adopted.id;
  entry.idle_timeout_min = adopted.idle_timeout_min;
  entry.burst_until_ms = burst_until;
  entry.container_started_at = started_at;
  if (adopted.container_id) {
    entry.container_id = *adopted.container_id;
    locked.BindContainer(*adopted.container_id, to);
  }
}

void WarmPool::ApplyUserConfig(const AgentKey& key, const AgentEndpoint& endpoint) {
  // Real time, whatever the clock: this waits on a process, not on berth's schedule.
  const auto begin = std::chrono::steady_clock::now();
  auto config = pusher_.UserConfig(key.owner);
  if (config.ok()) {
    Status applied =
        GatewayConfigRpc(probe_, endpoint).Apply(*config, options_.pool_reload_timeout);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - begin);
    if (applied.ok()) {
      spdlog::info("lifecycle: the pooled agent of {} applied its config in {} ms", ToString(key),
                   took.count());
      // The gateway kept the pool's config as its backup (ConfigPusher says why that must go).
      Status backed_up = pusher_.WriteBackup(endpoint.container_id, *config);
      if (!backed_up.ok()) {
        spdlog::warn("lifecycle: cannot write the config backup of {}: {}", ToString(key),
                     backed_up.message());
      }
      return;
    }
    if (applied.code() != ErrorCode::kNotFound) {
      spdlog::warn("lifecycle: cannot apply the config of {} through its gateway ({}); pushing it",
                   ToString(key), applied.message());
    }
  }
  const std::string& container_id = endpoint.container_id;
  const int before = CountApplied(runtime_.Logs(container_id, kLogLines));
  Status pushed = pusher_.Push(key.owner);
  if (!pushed.ok()) {
    // The record is the user's now: a restart fetches their config from berth.
    spdlog::warn("lifecycle: cannot push the config of {} into its pooled agent: {}", ToString(key),
                 pushed.message());
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.pool_reload_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const int now = CountApplied(runtime_.Logs(container_id, kLogLines));
    if (now > before) return;
    std::this_thread::sleep_for(kLogPoll);
  }
  spdlog::warn("lifecycle: the pooled agent of {} did not report its new config within {} ms",
               ToString(key), options_.pool_reload_timeout.count());
}

}  // namespace berth::lifecycle
