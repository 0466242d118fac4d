#include "lifecycle/agent_manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "agentconfig/openclaw_config.hpp"
#include "crypto/tokens.hpp"

namespace berth::lifecycle {

namespace {

constexpr const char* kLabelManaged = "berth.managed";
constexpr const char* kLabelInstance = "berth.instance";
constexpr const char* kLabelKind = "berth.kind";
constexpr const char* kLabelOwner = "berth.owner";
constexpr const char* kLabelRecord = "berth.record";
constexpr const char* kLabelSpec = "berth.spec";

std::string LabelOf(const runtime::Labels& labels, const char* name) {
  auto it = labels.find(name);
  return it == labels.end() ? std::string() : it->second;
}

std::string Seconds(std::chrono::milliseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

AgentStatus ParseStatus(const std::string& s) {
  if (s == "starting") return AgentStatus::kStarting;
  if (s == "running") return AgentStatus::kRunning;
  if (s == "stopping") return AgentStatus::kStopping;
  if (s == "failed") return AgentStatus::kFailed;
  return AgentStatus::kStopped;
}

bool DesiredStopped(const std::string& config_json) {
  auto parsed = nlohmann::json::parse(config_json, nullptr, false);
  return parsed.is_object() && parsed.value("desiredState", "") == "stopped";
}

}  // namespace

std::string_view StartFailureReason(const Status& error) {
  const std::string& m = error.message();
  auto has = [&m](std::string_view what) { return m.find(what) != std::string::npos; };
  if (error.code() == ErrorCode::kResourceExhausted) return "limit";
  if (has("OOM-killed")) return "oom";
  if (has("exited with code")) return "exited";
  if (has("not ready within")) return "timeout";
  if (has("berth image build") || has("image")) return "image";
  if (has("cancelled")) return "cancelled";
  if (has("container engine")) return "engine";
  return "other";
}

std::string_view AgentStatusName(AgentStatus status) {
  switch (status) {
    case AgentStatus::kStopped:
      return "stopped";
    case AgentStatus::kStarting:
      return "starting";
    case AgentStatus::kRunning:
      return "running";
    case AgentStatus::kStopping:
      return "stopping";
    case AgentStatus::kFailed:
      return "failed";
  }
  return "stopped";
}

// A start in flight, shared by every caller that asked for the agent meanwhile.
struct AgentManager::StartOp {
  const std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();
  std::vector<StartCallback> waiters;  // guarded by AgentManager::mu_
  std::atomic<bool> cancelled{false};
  bool done = false;  // guarded by AgentManager::mu_
  std::mutex wake_mu;
  std::condition_variable wake;  // cuts the readiness poll's wait short on cancellation
};

struct AgentManager::Entry {
  store::ContainerKind kind = store::ContainerKind::kUser;
  std::string owner;
  std::string record_id;
  AgentStatus status = AgentStatus::kStopped;
  std::string phase;
  std::string error;
  // Running and confirmed by this process while the event stream has been live: the warm path.
  bool verified = false;
  bool needs_recreate = false;  // its token changed
  bool needs_restart = false;   // failed its health checks
  int health_failures = 0;
  bool oom_seen = false;
  std::optional<AgentEndpoint> endpoint;
  std::string container_id;  // the engine's id of its container, when known
  std::shared_ptr<StartOp> start;
  std::optional<int64_t> last_active_ms;
  bool activity_dirty = false;
  int open_streams = 0;
  int idle_timeout_min = 30;
  int64_t last_push_mtime = 0;  // seconds; each push gets a newer mtime (Config push pitfall 1)
  // System containers: retry with backoff.
  std::chrono::steady_clock::time_point next_attempt{};
  std::chrono::milliseconds backoff{0};
};

// A container record of either kind, as the lifecycle needs it.
struct AgentManager::Record {
  store::ContainerKind kind = store::ContainerKind::kUser;
  std::string id;
  std::string owner;
  std::string name;
  std::string container_name;
  std::optional<std::string> container_id;
  std::string sealed_token;
  std::string status;
  std::optional<int64_t> last_active_at;
  int idle_timeout_min = 0;
  std::string config_json;
};

AgentManager::AgentManager(LifecycleOptions options, store::StorePtr store,
                           runtime::ContainerRuntimePtr runtime,
                           std::shared_ptr<service::ContainerService> containers,
                           std::shared_ptr<const service::ProviderService> providers,
                           std::shared_ptr<const crypto::SecretBox> secrets, GatewayProbePtr probe,
                           ClockPtr clock)
    : options_(std::move(options)),
      store_(std::move(store)),
      runtime_(std::move(runtime)),
      containers_(std::move(containers)),
      providers_(std::move(providers)),
      secrets_(std::move(secrets)),
      probe_(std::move(probe)),
      clock_(std::move(clock)) {}

AgentManager::~AgentManager() { Stop(); }

AgentManager::Record AgentManager::FromUser(const store::UserContainer& c) {
  AgentManager::Record r;
  r.kind = store::ContainerKind::kUser;
  r.id = c.id;
  r.owner = c.user_id;
  r.container_name = c.container_name;
  r.container_id = c.container_id;
  r.sealed_token = c.gateway_token;
  r.status = c.status;
  r.last_active_at = c.last_active_at;
  r.idle_timeout_min = c.idle_timeout_min;
  r.config_json = c.config_json;
  return r;
}

AgentManager::Record AgentManager::FromSystem(const store::SystemContainer& c) {
  AgentManager::Record r;
  r.kind = store::ContainerKind::kSystem;
  r.id = c.id;
  r.owner = c.id;
  r.name = c.name;
  r.container_name = c.container_name;
  r.container_id = c.container_id;
  r.sealed_token = c.gateway_token;
  r.status = c.status;
  r.last_active_at = c.last_active_at;
  r.config_json = c.config_json;
  return r;
}

// ---- setup and background loops ------------------------------------------------------------

Status AgentManager::Initialize() {
  BERTH_RETURN_IF_ERROR(options_.contract.Validate());
  auto instance = store_->InstanceId();
  if (!instance.ok()) return instance.status();
  instance_id_ = *instance;
  auto network = runtime_->EnsureNetwork(options_.network, /*isolated=*/true);
  if (!network.ok()) {
    return Status(network.status().code(),
                  "agent network " + options_.network + ": " + network.status().message());
  }
  if (api_url_.empty()) {
    if (!options_.api_url.empty()) {
      api_url_ = options_.api_url;
    } else if (api_url_resolver_) {
      auto resolved = api_url_resolver_(*network);
      if (!resolved.ok()) return resolved.status();
      api_url_ = *resolved;
    } else {
      return InvalidArgument("MOSAIC_API_URL: not set and cannot be derived");
    }
  }
  BERTH_RETURN_IF_ERROR(Reconcile());
  initialized_ = true;
  return Status::Ok();
}

void AgentManager::Start() {
  std::lock_guard lock(loop_mu_);
  if (started_ || stopping_) return;
  started_ = true;
  watcher_ = std::thread([this] { WatchEvents(); });
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  pusher_ = std::thread([this] { PushLoop(); });
}

void AgentManager::Stop() {
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = true;
    if (events_) events_->Close();
  }
  loop_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  if (scheduler_.joinable()) scheduler_.join();
  if (pusher_.joinable()) pusher_.join();
  // Starts in flight run on detached threads that use this object: cancel and wait for them.
  std::unique_lock lock(mu_);
  for (auto& [key, entry] : entries_) {
    if (entry->start) {
      entry->start->cancelled = true;
      entry->start->wake.notify_all();
    }
  }
  starts_cv_.wait(lock, [this] { return starts_in_flight_ == 0; });
}

bool AgentManager::WaitStopped(std::chrono::milliseconds period) {
  std::unique_lock lock(loop_mu_);
  return loop_cv_.wait_for(lock, period, [this] { return stopping_; });
}

runtime::Labels AgentManager::OwnLabels() const {
  return {{kLabelManaged, "true"}, {kLabelInstance, instance_id_}};
}

void AgentManager::SetObserver(std::function<void(const AgentEvent&)> observer) {
  std::lock_guard lock(mu_);
  observer_ = std::move(observer);
}

void AgentManager::Notify(const AgentEvent& event) {
  std::function<void(const AgentEvent&)> observer;
  {
    std::lock_guard lock(mu_);
    observer = observer_;
  }
  if (observer) observer(event);
}

AgentManager::Entry& AgentManager::EntryFor(const Key& key) {
  auto it = entries_.find(key);
  if (it != entries_.end()) return *it->second;
  auto entry = std::make_unique<Entry>();
  entry->kind = key[0] == 'u' ? store::ContainerKind::kUser : store::ContainerKind::kSystem;
  entry->owner = key.substr(2);
  return *entries_.emplace(key, std::move(entry)).first->second;
}

void AgentManager::SetStatus(Entry& entry, AgentStatus status, std::string phase,
                             std::string error) {
  entry.status = status;
  entry.phase = std::move(phase);
  entry.error = std::move(error);
}

void AgentManager::InvalidateAll() {
  std::lock_guard lock(mu_);
  for (auto& [key, entry] : entries_) entry->verified = false;
}

// ---- records -------------------------------------------------------------------------------

Result<AgentManager::Record> AgentManager::LoadRecord(const Key& key) {
  const std::string owner = key.substr(2);
  if (key[0] == 's') {
    auto found = store_->GetSystemContainer(owner);
    if (!found.ok()) return found.status();
    return FromSystem(*found);
  }
  auto found = store_->GetUserContainerByUser(owner);
  if (found.ok()) return FromUser(*found);
  if (found.status().code() != ErrorCode::kNotFound) return found.status();
  // First start: the record (name, fresh token) is created here, as the seed does.
  auto provisioned = containers_->ProvisionUserContainer(owner, /*rotate=*/false);
  if (provisioned.ok()) return FromUser(provisioned->record);
  if (provisioned.status().code() != ErrorCode::kAlreadyExists) return provisioned.status();
  found = store_->GetUserContainerByUser(owner);  // created concurrently (another replica)
  if (!found.ok()) return found.status();
  return FromUser(*found);
}

Status AgentManager::SaveRecordState(const Key& key, const std::string& status,
                                     const std::optional<std::string>& container_id) {
  const std::string owner = key.substr(2);
  const int64_t now = ToUnixMillis(clock_->Now());
  if (key[0] == 's') {
    auto found = store_->GetSystemContainer(owner);
    if (!found.ok()) return found.status();
    found->status = status;
    if (container_id) found->container_id = container_id;
    if (status == "running") found->last_active_at = now;
    found->updated_at = now;
    return store_->UpdateSystemContainer(*found);
  }
  auto found = store_->GetUserContainerByUser(owner);
  if (!found.ok()) return found.status();
  found->status = status;
  if (container_id) found->container_id = container_id;
  if (status == "running") {
    found->last_active_at = std::max<int64_t>(found->last_active_at.value_or(0), now);
  }
  found->updated_at = now;
  return store_->UpdateUserContainer(*found);
}

// ---- the start path ------------------------------------------------------------------------

runtime::ContainerSpec AgentManager::BuildSpec(const Record& record,
                                               const std::string& token) const {
  runtime::ContainerSpec spec;
  spec.name = record.container_name;
  spec.image = options_.image;
  spec.env = {{"MOSAIC_API_URL", api_url_}, {"AGENT_TOKEN", token}, {"AGENT_ID", record.id}};
  spec.env.insert(spec.env.end(), options_.contract.env.begin(), options_.contract.env.end());
  spec.volume_name = record.container_name + "-state";
  spec.volume_target = options_.contract.state_dir;
  spec.network = options_.network;
  spec.memory_bytes = options_.memory_bytes;
  spec.nano_cpus = options_.nano_cpus;
  spec.pids_limit = options_.pids_limit;
  if (options_.address_mode == AddressMode::kPublished) {
    spec.publish_port = options_.contract.gateway_port;
  }
  spec.labels = {
      {kLabelManaged, "true"},
      {kLabelInstance, instance_id_},
      {kLabelKind, record.kind == store::ContainerKind::kUser ? "user" : "system"},
      {kLabelOwner, record.kind == store::ContainerKind::kUser ? record.owner : record.name},
      {kLabelRecord, record.id}};
  // Everything the container was created from, hashed: a container whose label differs was made
  // from another image, token or setting and is recreated (its volume survives).
  nlohmann::json canonical = {
      {"image", spec.image},     {"env", spec.env},
      {"labels", spec.labels},   {"volume", {spec.volume_name, spec.volume_target}},
      {"network", spec.network}, {"limits", {spec.memory_bytes, spec.nano_cpus, spec.pids_limit}},
      {"caps", spec.cap_add},    {"publish", spec.publish_port.value_or(0)}};
  spec.labels[kLabelSpec] = crypto::TokenHash(canonical.dump()).substr(0, 16);
  return spec;
}

Result<AgentEndpoint> AgentManager::EndpointOf(const runtime::ContainerInfo& info,
                                               const Record& record,
                                               const std::string& token) const {
  AgentEndpoint endpoint;
  endpoint.port = options_.contract.gateway_port;
  endpoint.token = token;
  endpoint.container_id = info.id;
  endpoint.record_id = record.id;
  switch (options_.address_mode) {
    case AddressMode::kContainerIp:
      if (info.ip_address.empty()) return Unavailable("agent container has no address yet");
      endpoint.host = info.ip_address;
      break;
    case AddressMode::kContainerName:
      endpoint.host = record.container_name;
      break;
    case AddressMode::kPublished:
      if (!info.published_port) return Unavailable("agent container has no published port yet");
      endpoint.host = "127.0.0.1";
      endpoint.port = *info.published_port;
      break;
  }
  return endpoint;
}

std::string AgentManager::DescribeExit(const runtime::ContainerInfo& info) {
  std::string message = "agent container exited with code " + std::to_string(info.exit_code);
  if (info.oom_killed) {
    message += " (OOM-killed at the memory limit of " +
               std::to_string(options_.memory_bytes >> 20) + " MiB)";
  }
  if (!info.error.empty()) message += ": " + info.error;
  auto logs = runtime_->Logs(info.id, options_.log_tail_lines);
  if (logs.ok() && !logs->empty()) {
    std::string tail = *logs;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    message += "; last log lines:\n" + tail;
  }
  return message;
}

void AgentManager::EnsureRunningAsync(const std::string& user_id, StartCallback done) {
  EnsureRunningKey(UserKey(user_id), std::move(done));
}

Result<AgentEndpoint> AgentManager::EnsureRunning(const std::string& user_id) {
  std::promise<Result<AgentEndpoint>> promise;
  auto future = promise.get_future();
  EnsureRunningAsync(user_id, [&promise](Result<AgentEndpoint> r) { promise.set_value(r); });
  return future.get();
}

void AgentManager::EnsureRunningKey(const Key& key, StartCallback done) {
  std::unique_lock lock(mu_);
  Entry& entry = EntryFor(key);
  if (entry.status == AgentStatus::kRunning && entry.verified && entry.endpoint &&
      !entry.needs_recreate && !entry.needs_restart &&
      events_live_.load(std::memory_order_acquire)) {
    // Warm path: no engine call, no store call.
    entry.last_active_ms = ToUnixMillis(clock_->Now());
    entry.activity_dirty = true;
    AgentEndpoint endpoint = *entry.endpoint;
    lock.unlock();
    done(std::move(endpoint));
    return;
  }
  if (entry.start) {
    entry.start->waiters.push_back(std::move(done));
    return;
  }
  if (starts_in_flight_ >= options_.max_concurrent_starts) {
    lock.unlock();
    done(ResourceExhausted("too many agents are starting (limit " +
                           std::to_string(options_.max_concurrent_starts) + "); retry in " +
                           std::to_string(options_.retry_after.count()) + " s"));
    return;
  }
  {
    std::lock_guard loop_lock(loop_mu_);
    if (stopping_) {
      lock.unlock();
      done(Unavailable("berth is shutting down"));
      return;
    }
  }
  auto op = std::make_shared<StartOp>();
  op->waiters.push_back(std::move(done));
  entry.start = op;
  ++starts_in_flight_;
  SetStatus(entry, AgentStatus::kStarting, "creating", "");
  lock.unlock();
  Notify({entry.kind, key.substr(2), AgentStatus::kStarting, "creating", ""});
  // Bounded by max_concurrent_starts; Stop() waits for starts_in_flight_ to drain.
  std::thread([this, key, op] { RunStart(key, op); }).detach();
}

void AgentManager::RunStart(Key key, std::shared_ptr<StartOp> op) {
  Result<AgentEndpoint> result = DoStart(key, *op);
  if (!result.ok() && op->cancelled) {
    result = Unavailable("the agent's start was cancelled by a stop");
  }
  std::vector<StartCallback> waiters;
  AgentEvent event;
  {
    std::lock_guard lock(mu_);
    Entry& entry = EntryFor(key);
    event.kind = entry.kind;
    event.owner = entry.owner;
    if (result.ok()) {
      entry.record_id = result->record_id;
      entry.verified = true;
      entry.needs_recreate = entry.needs_restart = false;
      entry.health_failures = 0;
      entry.oom_seen = false;
      entry.endpoint = *result;
      entry.last_active_ms = ToUnixMillis(clock_->Now());
      entry.activity_dirty = true;
      by_container_id_[result->container_id] = key;
      entry.container_id = result->container_id;
      SetStatus(entry, AgentStatus::kRunning, "", "");
    } else if (!op->cancelled) {
      entry.verified = false;
      entry.endpoint.reset();
      SetStatus(entry, AgentStatus::kFailed, "", result.status().message());
    }
    event.status = entry.status;
    event.error = entry.error;
    event.start_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - op->began).count();
    entry.start.reset();
    waiters.swap(op->waiters);
    op->done = true;
    --starts_in_flight_;
  }
  starts_cv_.notify_all();
  if (!op->cancelled) {
    if (result.ok()) {
      spdlog::info("lifecycle: agent {} is ready", key);
    } else {
      spdlog::warn("lifecycle: agent {} failed to start: {}", key, result.status().message());
      (void)SaveRecordState(key, "failed", std::nullopt);
    }
    Notify(event);
  }
  for (auto& waiter : waiters) waiter(result);
}

Result<AgentEndpoint> AgentManager::DoStart(const Key& key, StartOp& op) {
  auto record = LoadRecord(key);
  if (!record.ok()) return record.status();
  auto token = secrets_->Open(record->sealed_token);
  if (!token.ok()) return token.status();
  const runtime::ContainerSpec spec = BuildSpec(*record, *token);
  BERTH_RETURN_IF_ERROR(SaveRecordState(key, "starting", std::nullopt));
  bool force_restart = false;
  {
    std::lock_guard lock(mu_);
    Entry& entry = EntryFor(key);
    entry.record_id = record->id;
    entry.idle_timeout_min = record->idle_timeout_min;
    force_restart = entry.needs_restart;
  }

  // What the engine already has: by the recorded id, else by name (a container left by a crash
  // between create and the record update, or by an older berth).
  std::optional<runtime::ContainerInfo> existing;
  Result<runtime::ContainerInfo> found = NotFound("no container recorded");
  if (record->container_id) found = runtime_->Inspect(*record->container_id);
  if (!found.ok() && found.status().code() == ErrorCode::kNotFound) {
    found = runtime_->Inspect(spec.name);
  }
  if (found.ok()) {
    existing = std::move(*found);
  } else if (found.status().code() != ErrorCode::kNotFound) {
    return Unavailable("container engine: " + found.status().message());
  }
  if (existing) {
    const bool ours = LabelOf(existing->labels, kLabelInstance) == instance_id_ &&
                      LabelOf(existing->labels, kLabelRecord) == record->id;
    const bool current =
        ours && LabelOf(existing->labels, kLabelSpec) == spec.labels.at(kLabelSpec);
    if (!current) {
      spdlog::info("lifecycle: {} container {} {}; recreating it", key, existing->id.substr(0, 12),
                   ours ? "was made from other settings" : "is not this record's");
      Status removed = runtime_->Remove(existing->id, /*force=*/true);
      if (!removed.ok() && removed.code() != ErrorCode::kNotFound) {
        return Unavailable("cannot remove the outdated agent container: " + removed.message());
      }
      existing.reset();
    } else if (force_restart && existing->state == runtime::ContainerState::kRunning) {
      spdlog::info("lifecycle: {} failed its health checks; restarting its container", key);
      (void)runtime_->Stop(existing->id, options_.stop_grace);
      existing->state = runtime::ContainerState::kExited;
    }
  }
  if (op.cancelled) return Unavailable("cancelled");

  std::string id;
  if (existing) {
    id = existing->id;
  } else {
    Status image = runtime_->EnsureImage(options_.image);
    if (!image.ok()) {
      return Unavailable("agent image " + options_.image + " is not available (" + image.message() +
                         "); build it with `berth image build openclaw --tag " + options_.image +
                         "`");
    }
    auto created = runtime_->Create(spec);
    if (!created.ok() && created.status().code() == ErrorCode::kAlreadyExists) {
      // The name was taken between the inspect and the create: not this record's (it would have
      // been found above), so it goes.
      auto squatter = runtime_->Inspect(spec.name);
      if (squatter.ok()) (void)runtime_->Remove(squatter->id, /*force=*/true);
      created = runtime_->Create(spec);
    }
    if (!created.ok()) {
      return Unavailable("cannot create the agent container: " + created.status().message());
    }
    id = *created;
  }
  {
    std::lock_guard lock(mu_);
    by_container_id_[id] = key;
    EntryFor(key).container_id = id;
  }
  BERTH_RETURN_IF_ERROR(SaveRecordState(key, "starting", id));
  if (op.cancelled) return Unavailable("cancelled");

  {
    std::lock_guard lock(mu_);
    EntryFor(key).phase = "starting";
  }
  Notify({record->kind, key.substr(2), AgentStatus::kStarting, "starting", ""});
  if (!existing || existing->state != runtime::ContainerState::kRunning) {
    Status started = runtime_->Start(id);
    if (!started.ok()) {
      return Unavailable("cannot start the agent container: " + started.message());
    }
  }
  {
    std::lock_guard lock(mu_);
    EntryFor(key).phase = "waiting_for_ready";
  }
  Notify({record->kind, key.substr(2), AgentStatus::kStarting, "waiting_for_ready", ""});
  auto endpoint = WaitReady(id, *record, *token, op);
  if (!endpoint.ok()) return endpoint.status();
  BERTH_RETURN_IF_ERROR(SaveRecordState(key, "running", id));
  return endpoint;
}

Result<AgentEndpoint> AgentManager::WaitReady(const std::string& container_id, const Record& record,
                                              const std::string& token, StartOp& op) {
  const auto deadline = clock_->SteadyNow() + options_.start_timeout;
  std::string last_problem = "no answer yet";
  for (;;) {
    if (op.cancelled) return Unavailable("cancelled");
    auto info = runtime_->Inspect(container_id);
    if (!info.ok()) {
      if (info.status().code() == ErrorCode::kNotFound) {
        return Unavailable("the agent container was removed while it was starting");
      }
      last_problem = info.status().message();
    } else if (info->state == runtime::ContainerState::kExited ||
               info->state == runtime::ContainerState::kDead) {
      return Unavailable(DescribeExit(*info));
    } else if (info->state == runtime::ContainerState::kRunning) {
      auto endpoint = EndpointOf(*info, record, token);
      if (endpoint.ok()) {
        auto code = probe_->Get(endpoint->host, endpoint->port, options_.contract.readiness_path,
                                options_.probe_timeout);
        if (code.ok() && *code == 200) return endpoint;
        last_problem = code.ok()
                           ? options_.contract.readiness_path + " answered " + std::to_string(*code)
                           : code.status().message();
      } else {
        last_problem = endpoint.status().message();
      }
    }
    if (clock_->SteadyNow() >= deadline) {
      std::string message = "the agent was not ready within " + Seconds(options_.start_timeout) +
                            " (" + last_problem + ")";
      auto logs = runtime_->Logs(container_id, options_.log_tail_lines);
      if (logs.ok() && !logs->empty()) message += "; last log lines:\n" + *logs;
      (void)runtime_->Stop(container_id, options_.stop_grace);  // it would hold its memory
      return Unavailable(message);
    }
    std::unique_lock lock(op.wake_mu);
    op.wake.wait_for(lock, options_.ready_poll_interval, [&] { return op.cancelled.load(); });
  }
}

// ---- stop, restart, remove -----------------------------------------------------------------

Status AgentManager::StopKey(const Key& key) {
  std::shared_ptr<StartOp> op;
  {
    std::unique_lock lock(mu_);
    Entry& entry = EntryFor(key);
    op = entry.start;
    entry.verified = false;
    SetStatus(entry, AgentStatus::kStopping, "", "");
    if (op) {
      op->cancelled = true;
      op->wake.notify_all();
      starts_cv_.wait(lock, [&] { return op->done; });
      SetStatus(entry, AgentStatus::kStopping, "", "");
    }
  }
  Notify({key[0] == 'u' ? store::ContainerKind::kUser : store::ContainerKind::kSystem,
          key.substr(2), AgentStatus::kStopping, "", ""});
  std::optional<std::string> container_id;
  if (key[0] == 's') {
    auto found = store_->GetSystemContainer(key.substr(2));
    if (!found.ok()) return found.status();
    container_id = found->container_id;
  } else {
    auto found = store_->GetUserContainerByUser(key.substr(2));
    if (found.ok()) {
      container_id = found->container_id;
    } else if (found.status().code() != ErrorCode::kNotFound) {
      return found.status();
    }
  }
  if (container_id) {
    Status stopped = runtime_->Stop(*container_id, options_.stop_grace);
    if (!stopped.ok() && stopped.code() != ErrorCode::kNotFound) {
      std::lock_guard lock(mu_);
      SetStatus(EntryFor(key), AgentStatus::kFailed, "", "stop failed: " + stopped.message());
      return stopped;
    }
    BERTH_RETURN_IF_ERROR(SaveRecordState(key, "stopped", std::nullopt));
  }
  {
    std::lock_guard lock(mu_);
    Entry& entry = EntryFor(key);
    entry.endpoint.reset();
    SetStatus(entry, AgentStatus::kStopped, "", "");
  }
  Notify({key[0] == 'u' ? store::ContainerKind::kUser : store::ContainerKind::kSystem,
          key.substr(2), AgentStatus::kStopped, "", ""});
  return Status::Ok();
}

Status AgentManager::StopAgent(const std::string& user_id) {
  auto user = store_->GetUser(user_id);
  if (!user.ok()) return user.status();
  return StopKey(UserKey(user_id));
}

Result<AgentEndpoint> AgentManager::RestartAgent(const std::string& user_id) {
  BERTH_RETURN_IF_ERROR(StopAgent(user_id));
  return EnsureRunning(user_id);
}

Status AgentManager::RemoveAgent(const std::string& user_id) {
  const Key key = UserKey(user_id);
  auto record = store_->GetUserContainerByUser(user_id);
  if (!record.ok())
    return record.status().code() == ErrorCode::kNotFound ? Status::Ok() : record.status();
  BERTH_RETURN_IF_ERROR(StopKey(key));
  if (record->container_id) {
    Status removed = runtime_->Remove(*record->container_id, /*force=*/true);
    if (!removed.ok() && removed.code() != ErrorCode::kNotFound) return removed;
  }
  Status volume = runtime_->RemoveVolume(record->container_name + "-state");
  if (!volume.ok() && volume.code() != ErrorCode::kNotFound) return volume;
  std::lock_guard lock(mu_);
  if (record->container_id) by_container_id_.erase(*record->container_id);
  entries_.erase(key);
  return Status::Ok();
}

void AgentManager::InvalidateAgent(const std::string& user_id) {
  std::lock_guard lock(mu_);
  Entry& entry = EntryFor(UserKey(user_id));
  entry.verified = false;
  entry.needs_recreate = true;
}

// ---- activity ------------------------------------------------------------------------------

void AgentManager::Touch(const std::string& user_id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(UserKey(user_id));
  if (it == entries_.end()) return;
  it->second->last_active_ms = ToUnixMillis(clock_->Now());
  it->second->activity_dirty = true;
}

AgentManager::StreamGuard AgentManager::OpenStream(const std::string& user_id) {
  std::lock_guard lock(mu_);
  Entry& entry = EntryFor(UserKey(user_id));
  ++entry.open_streams;
  entry.last_active_ms = ToUnixMillis(clock_->Now());
  entry.activity_dirty = true;
  return StreamGuard(this, user_id);
}

AgentManager::StreamGuard::StreamGuard(StreamGuard&& other) noexcept
    : manager_(std::exchange(other.manager_, nullptr)), user_id_(std::move(other.user_id_)) {}

AgentManager::StreamGuard& AgentManager::StreamGuard::operator=(StreamGuard&& other) noexcept {
  if (this != &other) {
    Release();
    manager_ = std::exchange(other.manager_, nullptr);
    user_id_ = std::move(other.user_id_);
  }
  return *this;
}

AgentManager::StreamGuard::~StreamGuard() { Release(); }

void AgentManager::StreamGuard::Release() {
  if (manager_ == nullptr) return;
  std::lock_guard lock(manager_->mu_);
  Entry& entry = manager_->EntryFor(UserKey(user_id_));
  --entry.open_streams;
  entry.last_active_ms = ToUnixMillis(manager_->clock_->Now());
  entry.activity_dirty = true;
  manager_ = nullptr;
}

void AgentManager::FlushActivity() {
  std::vector<std::pair<std::string, int64_t>> stamps;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, entry] : entries_) {
      if (!entry->activity_dirty || entry->kind != store::ContainerKind::kUser ||
          entry->record_id.empty() || !entry->last_active_ms) {
        continue;
      }
      stamps.emplace_back(entry->record_id, *entry->last_active_ms);
      entry->activity_dirty = false;
    }
  }
  Status written = store_->RecordUserActivity(stamps);
  if (!written.ok()) {
    spdlog::warn("lifecycle: cannot record activity of {} agents: {}", stamps.size(),
                 written.message());
    std::lock_guard lock(mu_);
    for (auto& [key, entry] : entries_) {
      for (const auto& stamp : stamps) {
        if (entry->record_id == stamp.first) entry->activity_dirty = true;
      }
    }
  }
}

// ---- views ---------------------------------------------------------------------------------

AgentView AgentManager::ViewOf(const Key& key, const Entry* entry, const Record& record) const {
  AgentView view;
  view.kind = record.kind;
  view.owner = key.substr(2);
  view.name = record.name;
  view.record_id = record.id;
  view.container_name = record.container_name;
  view.container_id = record.container_id;
  view.status = ParseStatus(record.status);
  view.last_active_at = record.last_active_at;
  view.idle_timeout_min = record.idle_timeout_min;
  if (entry != nullptr) {
    view.status = entry->status;
    view.phase = entry->phase;
    view.error = entry->error;
    view.open_streams = entry->open_streams;
    if (entry->last_active_ms &&
        (!view.last_active_at || *entry->last_active_ms > *view.last_active_at)) {
      view.last_active_at = entry->last_active_ms;
    }
  }
  return view;
}

Result<AgentView> AgentManager::GetAgent(const std::string& user_id) {
  auto user = store_->GetUser(user_id);
  if (!user.ok()) return user.status();
  const Key key = UserKey(user_id);
  Record record;
  record.kind = store::ContainerKind::kUser;
  record.owner = user_id;
  record.status = "stopped";
  auto found = store_->GetUserContainerByUser(user_id);
  if (found.ok()) {
    record = FromUser(*found);
  } else if (found.status().code() != ErrorCode::kNotFound) {
    return found.status();
  }
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  return ViewOf(key, it == entries_.end() ? nullptr : it->second.get(), record);
}

Result<std::vector<AgentView>> AgentManager::ListAgents() {
  auto users = store_->ListUserContainers();
  if (!users.ok()) return users.status();
  auto systems = store_->ListSystemContainers();
  if (!systems.ok()) return systems.status();
  std::vector<AgentView> views;
  std::lock_guard lock(mu_);
  auto add = [&](const Key& key, const Record& record) {
    auto it = entries_.find(key);
    views.push_back(ViewOf(key, it == entries_.end() ? nullptr : it->second.get(), record));
  };
  for (const auto& c : *users) add(UserKey(c.user_id), FromUser(c));
  for (const auto& c : *systems) add(SystemKey(c.id), FromSystem(c));
  return views;
}

// ---- reaper, health sweep, reconciliation ---------------------------------------------------

Result<std::vector<std::string>> AgentManager::Reap() {
  const int64_t now = ToUnixMillis(clock_->Now());
  std::vector<std::string> idle;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, entry] : entries_) {
      if (entry->kind != store::ContainerKind::kUser || entry->status != AgentStatus::kRunning ||
          entry->open_streams > 0 || !entry->last_active_ms || entry->idle_timeout_min <= 0) {
        continue;
      }
      if (now - *entry->last_active_ms >= int64_t{entry->idle_timeout_min} * 60'000) {
        idle.push_back(entry->owner);
      }
    }
  }
  std::vector<std::string> stopped;
  for (const std::string& user_id : idle) {
    {
      // Activity may have arrived since the scan.
      std::lock_guard lock(mu_);
      Entry& entry = EntryFor(UserKey(user_id));
      if (entry.open_streams > 0 || entry.status != AgentStatus::kRunning ||
          ToUnixMillis(clock_->Now()) - entry.last_active_ms.value_or(0) <
              int64_t{entry.idle_timeout_min} * 60'000) {
        continue;
      }
    }
    Status result = StopKey(UserKey(user_id));
    if (result.ok()) {
      spdlog::info("lifecycle: reaped idle agent of user {}", user_id);
      ++reaps_total_;
      stopped.push_back(user_id);
    } else {
      spdlog::warn("lifecycle: cannot reap agent of user {}: {}", user_id, result.message());
    }
  }
  return stopped;
}

Status AgentManager::Reconcile() {
  auto listed = runtime_->List(OwnLabels());
  if (!listed.ok()) return listed.status();
  return ReconcileWith(*listed);
}

Status AgentManager::ReconcileWith(const std::vector<runtime::ContainerSummary>& listed) {
  auto users = store_->ListUserContainers();
  if (!users.ok()) return users.status();
  auto systems = store_->ListSystemContainers();
  if (!systems.ok()) return systems.status();

  std::vector<Record> records;
  for (const auto& c : *users) records.push_back(FromUser(c));
  for (const auto& c : *systems) records.push_back(FromSystem(c));
  std::unordered_map<std::string, Record*> by_record;
  for (auto& r : records) by_record[r.id] = &r;
  std::unordered_map<std::string, const runtime::ContainerSummary*> by_id;
  for (const auto& c : listed) by_id[c.id] = &c;

  auto key_of = [](const Record& r) {
    return r.kind == store::ContainerKind::kUser ? UserKey(r.owner) : SystemKey(r.id);
  };
  auto starting = [&](const Record& r) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key_of(r));
    return it != entries_.end() && it->second->start != nullptr;
  };

  // Engine side: every labelled container belongs to a record, once.
  for (const auto& c : listed) {
    const std::string record_id = LabelOf(c.labels, kLabelRecord);
    auto it = by_record.find(record_id);
    if (it == by_record.end()) {
      spdlog::info("lifecycle: removing orphan container {} ({}): no record {}", c.name,
                   c.id.substr(0, 12), record_id);
      (void)runtime_->Remove(c.id, /*force=*/true);
      if (LabelOf(c.labels, kLabelKind) == "user") {
        auto owner = store_->GetUser(LabelOf(c.labels, kLabelOwner));
        if (!owner.ok() && owner.status().code() == ErrorCode::kNotFound) {
          (void)runtime_->RemoveVolume(c.name + "-state");  // its user is gone too
        }
      }
      continue;
    }
    Record& record = *it->second;
    if (starting(record) || record.container_id == c.id) continue;
    if (record.container_id && by_id.count(*record.container_id)) {
      spdlog::info("lifecycle: removing duplicate container {} of record {}", c.id.substr(0, 12),
                   record.id);
      (void)runtime_->Remove(c.id, /*force=*/true);
      continue;
    }
    spdlog::info("lifecycle: adopting container {} for record {}", c.id.substr(0, 12), record.id);
    record.container_id = c.id;
    record.status = "";  // forces the write below
  }

  // Store side: no record claims a state its container does not have.
  for (Record& record : records) {
    if (starting(record)) continue;
    const runtime::ContainerSummary* c = nullptr;
    if (record.container_id) {
      auto it = by_id.find(*record.container_id);
      if (it != by_id.end()) c = it->second;
    }
    const bool running = c != nullptr && c->state == runtime::ContainerState::kRunning;
    std::string status = running ? "running" : (record.status == "failed" ? "failed" : "stopped");
    const Key key = key_of(record);
    {
      std::lock_guard lock(mu_);
      Entry& entry = EntryFor(key);
      entry.record_id = record.id;
      entry.idle_timeout_min = record.idle_timeout_min;
      if (!entry.last_active_ms) entry.last_active_ms = record.last_active_at;
      if (c != nullptr) {
        by_container_id_[c->id] = key;
        entry.container_id = c->id;
      }
      if (running) {
        if (entry.status != AgentStatus::kRunning) {
          // Running, but not yet confirmed by this process: the next start path or sweep looks.
          entry.verified = false;
          SetStatus(entry, AgentStatus::kRunning, "", "");
          if (!entry.last_active_ms) entry.last_active_ms = ToUnixMillis(clock_->Now());
        }
      } else if (entry.status == AgentStatus::kRunning || entry.status == AgentStatus::kStarting ||
                 entry.status == AgentStatus::kStopping) {
        entry.verified = false;
        entry.endpoint.reset();
        SetStatus(entry, status == "failed" ? AgentStatus::kFailed : AgentStatus::kStopped, "",
                  entry.error);
      }
    }
    if (record.status == status) continue;
    const std::string owner = key.substr(2);
    const int64_t now = ToUnixMillis(clock_->Now());
    Status saved;
    if (record.kind == store::ContainerKind::kUser) {
      auto fresh = store_->GetUserContainer(record.id);
      if (!fresh.ok()) continue;
      fresh->status = status;
      fresh->container_id = record.container_id;
      fresh->updated_at = now;
      saved = store_->UpdateUserContainer(*fresh);
    } else {
      auto fresh = store_->GetSystemContainer(record.id);
      if (!fresh.ok()) continue;
      fresh->status = status;
      fresh->container_id = record.container_id;
      fresh->updated_at = now;
      saved = store_->UpdateSystemContainer(*fresh);
    }
    if (!saved.ok()) {
      spdlog::warn("lifecycle: cannot reconcile record {}: {}", record.id, saved.message());
    }
  }
  return Status::Ok();
}

Result<std::vector<HealthResult>> AgentManager::HealthCheck() {
  // One list call serves both the reconcile and the sweep. Containers the reconcile removes
  // (orphans, duplicates) belong to no entry, so the sweep never looks at them.
  auto listed = runtime_->List(OwnLabels());
  if (!listed.ok()) return listed.status();
  BERTH_RETURN_IF_ERROR(ReconcileWith(*listed));
  std::unordered_map<std::string, runtime::ContainerState> state_of;
  for (const auto& c : *listed) state_of[c.id] = c.state;

  struct Target {
    Key key;
    std::optional<AgentEndpoint> endpoint;
    std::string container_id;
    bool listed_running = false;
    bool healthy = false;
    std::string error;
  };
  std::vector<Target> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, entry] : entries_) {
      if (entry->status != AgentStatus::kRunning || entry->start) continue;
      Target t;
      t.key = key;
      t.endpoint = entry->endpoint;
      if (state_of.count(entry->container_id)) t.container_id = entry->container_id;
      t.listed_running =
          !t.container_id.empty() && state_of[t.container_id] == runtime::ContainerState::kRunning;
      targets.push_back(std::move(t));
    }
  }

  // Bounded parallel probes: each worker takes the next target.
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < targets.size(); i = next++) {
      Target& t = targets[i];
      if (t.container_id.empty()) {
        t.error = "the agent container vanished";
        continue;
      }
      if (!t.listed_running || !t.endpoint) {
        // Not running, or adopted and never reached: inspect for its address or exit details.
        auto info = runtime_->Inspect(t.container_id);
        if (!info.ok()) {
          t.error = info.status().message();
          continue;
        }
        if (info->state != runtime::ContainerState::kRunning) {
          t.error = DescribeExit(*info);
          continue;
        }
        auto record = LoadRecord(t.key);
        if (!record.ok()) {
          t.error = record.status().message();
          continue;
        }
        auto token = secrets_->Open(record->sealed_token);
        if (!token.ok()) {
          t.error = token.status().message();
          continue;
        }
        auto endpoint = EndpointOf(*info, *record, *token);
        if (!endpoint.ok()) {
          t.error = endpoint.status().message();
          continue;
        }
        t.endpoint = *endpoint;
      }
      auto code = probe_->Get(t.endpoint->host, t.endpoint->port, options_.contract.readiness_path,
                              options_.probe_timeout);
      if (code.ok() && *code == 200) {
        t.healthy = true;
      } else {
        t.error = "readiness probe failed: " + (code.ok() ? options_.contract.readiness_path +
                                                                " answered " + std::to_string(*code)
                                                          : code.status().message());
      }
    }
  };
  const int workers =
      std::max(1, std::min<int>(options_.health_parallelism, static_cast<int>(targets.size())));
  std::vector<std::thread> pool;
  for (int i = 1; i < workers; ++i) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();

  std::vector<HealthResult> results;
  std::vector<std::pair<Key, std::string>> to_save;
  {
    std::lock_guard lock(mu_);
    for (Target& t : targets) {
      auto it = entries_.find(t.key);
      if (it == entries_.end()) continue;
      Entry& entry = *it->second;
      if (entry.status != AgentStatus::kRunning || entry.start) continue;  // changed meanwhile
      if (!t.healthy) ++health_failures_total_;
      if (t.healthy) {
        entry.health_failures = 0;
        entry.endpoint = t.endpoint;
        if (events_live_.load()) entry.verified = true;
      } else if (t.container_id.empty() || !t.listed_running) {
        // Gone or exited: marked now, started again on next use.
        entry.verified = false;
        entry.endpoint.reset();
        SetStatus(entry, AgentStatus::kFailed, "", t.error);
        to_save.emplace_back(t.key, "failed");
      } else if (++entry.health_failures >= options_.health_failures_before_unhealthy) {
        entry.verified = false;
        entry.needs_restart = true;
        SetStatus(entry, AgentStatus::kFailed, "", t.error);
        to_save.emplace_back(t.key, "failed");
      }
      if (entry.kind == store::ContainerKind::kUser) {
        results.push_back({entry.owner, t.healthy, t.healthy ? "" : t.error});
      }
    }
  }
  for (const auto& [key, status] : to_save) {
    spdlog::warn("lifecycle: agent {} is unhealthy", key);
    (void)SaveRecordState(key, status, std::nullopt);
  }
  KeepSystemContainersRunning();
  return results;
}

void AgentManager::KeepSystemContainersRunning() {
  auto systems = store_->ListSystemContainers();
  if (!systems.ok()) return;
  const auto now = clock_->SteadyNow();
  for (const auto& c : *systems) {
    const Key key = SystemKey(c.id);
    {
      std::lock_guard lock(mu_);
      Entry& entry = EntryFor(key);
      if (DesiredStopped(c.config_json) || entry.start || entry.status == AgentStatus::kRunning ||
          entry.status == AgentStatus::kStopping || now < entry.next_attempt) {
        continue;
      }
    }
    EnsureRunningKey(key, [this, key](Result<AgentEndpoint> result) {
      std::lock_guard lock(mu_);
      Entry& entry = EntryFor(key);
      if (result.ok()) {
        entry.backoff = std::chrono::milliseconds(0);
        entry.next_attempt = {};
        return;
      }
      entry.backoff = entry.backoff.count() == 0
                          ? options_.system_backoff_initial
                          : std::min(entry.backoff * 2, options_.system_backoff_max);
      entry.next_attempt = clock_->SteadyNow() + entry.backoff;
      spdlog::warn("lifecycle: system container {} did not start ({}); next try in {}", key,
                   result.status().message(), Seconds(entry.backoff));
    });
  }
}

Result<AgentEndpoint> AgentManager::StartSystemContainer(const std::string& id) {
  auto found = store_->GetSystemContainer(id);
  if (!found.ok()) return found.status();
  if (DesiredStopped(found->config_json)) {
    found->config_json = "{}";
    found->updated_at = ToUnixMillis(clock_->Now());
    BERTH_RETURN_IF_ERROR(store_->UpdateSystemContainer(*found));
  }
  {
    std::lock_guard lock(mu_);
    Entry& entry = EntryFor(SystemKey(id));
    entry.backoff = std::chrono::milliseconds(0);
    entry.next_attempt = {};
  }
  std::promise<Result<AgentEndpoint>> promise;
  auto future = promise.get_future();
  EnsureRunningKey(SystemKey(id), [&promise](Result<AgentEndpoint> r) { promise.set_value(r); });
  return future.get();
}

Status AgentManager::StopSystemContainer(const std::string& id) {
  auto found = store_->GetSystemContainer(id);
  if (!found.ok()) return found.status();
  // Remembered in the record, so the sweep (of any replica, after any restart) leaves it stopped.
  found->config_json = nlohmann::json{{"desiredState", "stopped"}}.dump();
  found->updated_at = ToUnixMillis(clock_->Now());
  BERTH_RETURN_IF_ERROR(store_->UpdateSystemContainer(*found));
  return StopKey(SystemKey(id));
}

// ---- config push ---------------------------------------------------------------------------

void AgentManager::ConfigChanged(const std::string& user_id) {
  {
    std::lock_guard lock(loop_mu_);
    push_queue_.insert(user_id);
  }
  loop_cv_.notify_all();
}

Status AgentManager::PushConfig(const std::string& user_id) {
  const Key key = UserKey(user_id);
  std::string container_id;
  int64_t mtime = 0;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second->status != AgentStatus::kRunning) return Status::Ok();
    Entry& entry = *it->second;
    container_id = entry.container_id;
    if (container_id.empty()) return Status::Ok();
    // The gateway's watcher needs a newer mtime (whole seconds in a tar header) on every push.
    const int64_t now_s = ToUnixMillis(clock_->Now()) / 1000;
    mtime = std::max(now_s, entry.last_push_mtime + 1);
    entry.last_push_mtime = mtime;
  }
  auto config = providers_->BuildUserConfig(user_id);
  if (!config.ok()) return config.status();
  runtime::ContainerRuntime::FileSpec file;
  file.dir = options_.contract.state_dir;
  file.name = options_.contract.config_file_name;
  file.content = config->dump(2);
  file.uid = options_.contract.uid;
  file.gid = options_.contract.gid;
  file.mode = 0600;
  file.mtime = FromUnixMillis(mtime * 1000);
  Status pushed = runtime_->PutFile(container_id, file);
  if (pushed.ok()) spdlog::info("lifecycle: pushed a new openclaw.json to agent {}", key);
  return pushed;
}

void AgentManager::PushLoop() {
  for (;;) {
    std::set<std::string> batch;
    {
      std::unique_lock lock(loop_mu_);
      loop_cv_.wait(lock, [this] { return stopping_ || !push_queue_.empty(); });
      if (stopping_) return;
      batch.swap(push_queue_);
    }
    for (const std::string& user_id : batch) {
      Status pushed = PushConfig(user_id);
      if (!pushed.ok()) {
        spdlog::warn("lifecycle: config push to the agent of user {} failed: {}", user_id,
                     pushed.message());
      }
    }
  }
}

// ---- engine events and the scheduler --------------------------------------------------------

void AgentManager::WatchEvents() {
  bool first = true;
  std::chrono::milliseconds backoff(200);
  for (;;) {
    auto stream = runtime_->Events(OwnLabels());
    if (!stream.ok()) {
      events_live_ = false;
      InvalidateAll();
      spdlog::warn("lifecycle: engine event stream unavailable: {}", stream.status().message());
      if (WaitStopped(backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    runtime::EventStream* events = nullptr;
    {
      std::lock_guard lock(loop_mu_);
      if (stopping_) return;
      events_ = std::move(*stream);
      events = events_.get();
    }
    backoff = std::chrono::milliseconds(200);
    if (!first) {
      // Events were missed while the stream was down (an engine restart kills containers).
      Status reconciled = Reconcile();
      if (!reconciled.ok()) {
        spdlog::warn("lifecycle: reconcile after the event stream returned failed: {}",
                     reconciled.message());
      }
    }
    first = false;
    events_live_ = true;
    for (;;) {
      auto event = events->Next();
      if (!event.ok()) break;
      HandleEvent(*event);
    }
    events_live_ = false;
    InvalidateAll();
    {
      std::lock_guard lock(loop_mu_);
      events_.reset();
      if (stopping_) return;
    }
    spdlog::warn("lifecycle: engine event stream ended; resubscribing");
  }
}

void AgentManager::HandleEvent(const runtime::ContainerEvent& event) {
  using runtime::ContainerEventKind;
  const bool destroyed = event.kind == ContainerEventKind::kDestroyed;
  const bool died = event.kind == ContainerEventKind::kDied || destroyed;
  if (!died && event.kind != ContainerEventKind::kOomKilled) return;
  Key key;
  AgentEvent notice;
  std::string record_status;
  {
    std::lock_guard lock(mu_);
    auto found = by_container_id_.find(event.container_id);
    if (found == by_container_id_.end()) return;
    key = found->second;
    if (destroyed) by_container_id_.erase(found);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    Entry& entry = *it->second;
    if (event.kind == ContainerEventKind::kOomKilled) {
      entry.oom_seen = true;
      return;
    }
    // Starts watch their own container; stops are berth's own doing.
    if (entry.start || entry.status != AgentStatus::kRunning) return;
    if (entry.endpoint && entry.endpoint->container_id != event.container_id) return;
    entry.verified = false;
    entry.endpoint.reset();
    const int code = event.exit_code.value_or(0);
    if (entry.oom_seen || code != 0 || destroyed) {
      std::string why = destroyed ? "the agent container was removed outside berth"
                                  : "the agent container exited with code " + std::to_string(code);
      if (entry.oom_seen) why += " (OOM-killed)";
      SetStatus(entry, AgentStatus::kFailed, "", why);
      record_status = "failed";
    } else {
      SetStatus(entry, AgentStatus::kStopped, "", "");
      record_status = "stopped";
    }
    notice = {entry.kind, entry.owner, entry.status, "", entry.error};
  }
  spdlog::info("lifecycle: agent {} {} outside berth's control", key,
               record_status == "failed" ? "failed" : "stopped");
  (void)SaveRecordState(key, record_status, std::nullopt);
  Notify(notice);
}

void AgentManager::SchedulerLoop() {
  using Steady = std::chrono::steady_clock;
  auto next_reap = Steady::now() + options_.reap_interval;
  auto next_health = Steady::now() + options_.health_interval;
  auto next_flush = Steady::now() + options_.activity_flush_interval;
  for (;;) {
    const auto wake = std::min({next_reap, next_health, next_flush});
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Steady::now());
    if (WaitStopped(std::max(wait, std::chrono::milliseconds(0)))) break;
    const auto now = Steady::now();
    if (now >= next_flush) {
      FlushActivity();
      next_flush = now + options_.activity_flush_interval;
    }
    if (now >= next_reap) {
      auto reaped = Reap();
      if (!reaped.ok()) spdlog::warn("lifecycle: reaper failed: {}", reaped.status().message());
      next_reap = Steady::now() + options_.reap_interval;
    }
    if (now >= next_health) {
      auto checked = HealthCheck();
      if (!checked.ok()) {
        spdlog::warn("lifecycle: health sweep failed: {}", checked.status().message());
      }
      next_health = Steady::now() + options_.health_interval;
    }
  }
  FlushActivity();  // activity is not lost on a clean shutdown
}

Result<std::string> AgentManager::EnginePing() { return runtime_->Ping(); }

}  // namespace berth::lifecycle
