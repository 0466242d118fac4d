#include "lifecycle/starter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <utility>

#include "lifecycle/agent_labels.hpp"
#include "lifecycle/cpu_burst.hpp"
#include "lifecycle/spec_builder.hpp"
#include "lifecycle/warm_pool.hpp"

namespace berth::lifecycle {
namespace {

// "worker-2 (id)", or the id alone when the name is unknown.
std::string NodeText(const runtime::NodePlacement& node) {
  return node.name.empty() ? node.id : node.name + " (" + node.id + ")";
}

// Records why the start failed and passes the error on.
Status Fail(StartOp& op, StartFailure reason, Status status) {
  op.failure = reason;
  return status;
}

}  // namespace

AgentStarter::AgentStarter(const LifecycleOptions& options, const InstanceInfo& instance,
                           AgentRegistry& registry, AgentRecords& records,
                           runtime::ContainerRuntime& runtime, const crypto::SecretBox& secrets,
                           GatewayProbe& probe, const AgentNotifier& notifier, const Clock& clock)
    : options_(options),
      instance_(instance),
      registry_(registry),
      records_(records),
      runtime_(runtime),
      secrets_(secrets),
      probe_(probe),
      notifier_(notifier),
      clock_(clock),
      // One thread per admitted start and as many queue slots: an admitted start never waits.
      pool_("berth-start", options.max_concurrent_starts,
            static_cast<std::size_t>(std::max(options.max_concurrent_starts, 1))) {}

AgentStarter::~AgentStarter() { Stop(); }

void AgentStarter::EnsureRunning(const AgentKey& key, StartCallback done) {
  AgentRegistry::Locked locked = registry_.Lock();
  AgentEntry& entry = locked.Get(key);
  if (entry.Warm() && registry_.events_live()) {
    // Warm path: no engine call, no store call.
    entry.MarkActive(ToUnixMillis(clock_.Now()));
    AgentEndpoint endpoint = *entry.endpoint;
    locked.Unlock();
    done(std::move(endpoint));
    return;
  }
  if (entry.start) {
    entry.start->waiters.push_back(std::move(done));
    return;
  }
  if (in_flight_ >= options_.max_concurrent_starts) {
    locked.Unlock();
    done(ResourceExhausted("too many agents are starting (limit " +
                           std::to_string(options_.max_concurrent_starts) + "); retry in " +
                           std::to_string(options_.retry_after.count()) + " s"));
    return;
  }
  if (stopping_) {
    locked.Unlock();
    done(Unavailable("berth is shutting down"));
    return;
  }
  auto op = std::make_shared<StartOp>(clock_.SteadyNow());
  op->waiters.push_back(std::move(done));
  entry.start = op;
  ++in_flight_;
  const char* phase = entry.paused ? "resuming" : "creating";
  entry.SetStatus(AgentStatus::kStarting, phase);
  locked.Unlock();
  notifier_.Notify({key.kind, key.owner, AgentStatus::kStarting, phase, ""});
  if (!pool_.TrySubmit([this, key, op] { Finish(key, op, Attempt(key, *op)); })) {
    // Only when Stop() shut the pool between the admission and here.
    op->Cancel();
    Finish(key, op, Unavailable("berth is shutting down"));
  }
}

Result<AgentEndpoint> AgentStarter::EnsureRunningAndWait(const AgentKey& key) {
  std::promise<Result<AgentEndpoint>> promise;
  auto future = promise.get_future();
  EnsureRunning(key, [&promise](Result<AgentEndpoint> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void AgentStarter::Stop() {
  {
    AgentRegistry::Locked locked = registry_.Lock();
    stopping_ = true;
    for (auto& [key, entry] : locked.entries()) {
      if (entry.start) entry.start->Cancel();
    }
  }
  pool_.Shutdown();
  AgentRegistry::Locked locked = registry_.Lock();
  locked.Wait([this] { return in_flight_ == 0; });
}

void AgentStarter::Finish(const AgentKey& key, const std::shared_ptr<StartOp>& op,
                          Result<AgentEndpoint> result) {
  if (!result.ok() && op->cancelled) {
    result = Unavailable("the agent's start was cancelled by a stop");
    op->failure = StartFailure::kCancelled;
  }
  std::vector<StartCallback> waiters;
  AgentEvent event;
  event.kind = key.kind;
  event.owner = key.owner;
  {
    AgentRegistry::Locked locked = registry_.Lock();
    AgentEntry& entry = locked.Get(key);
    if (result.ok()) {
      entry.record_id = result->record_id;
      entry.verified = true;
      entry.needs_recreate = entry.needs_restart = false;
      entry.health_failures = 0;
      entry.oom_seen = false;
      entry.paused = false;
      entry.endpoint = *result;
      entry.MarkActive(ToUnixMillis(clock_.Now()));
      locked.BindContainer(result->container_id, key);
      entry.container_id = result->container_id;
      // A pooled agent handed over keeps what its own start saw (WarmPool).
      if (op->container_started_at) entry.container_started_at = op->container_started_at;
      if (op->burst) {
        entry.burst_until_ms = ToUnixMillis(clock_.Now()) + options_.start_burst.count() * 1000;
      }
      entry.SetStatus(AgentStatus::kRunning);
    } else if (!op->cancelled) {
      entry.verified = false;
      entry.endpoint.reset();
      entry.SetStatus(AgentStatus::kFailed, "", result.status().message());
    }
    event.status = entry.status;
    event.error = entry.error;
    event.start_seconds = std::chrono::duration<double>(clock_.SteadyNow() - op->began).count();
    entry.start.reset();
    waiters.swap(op->waiters);
    op->done = true;
    --in_flight_;
    locked.NotifyAll();
  }
  if (!op->cancelled) {
    if (result.ok()) {
      spdlog::info("lifecycle: agent {} is ready", ToString(key));
    } else {
      spdlog::warn("lifecycle: agent {} failed to start ({}): {}", ToString(key),
                   StartFailureName(op->failure), result.status().message());
      event.failure = op->failure;
    }
    notifier_.Notify(event);
  }
  for (auto& waiter : waiters) waiter(result);
}

Result<AgentEndpoint> AgentStarter::Attempt(const AgentKey& key, StartOp& op) {
  auto result = AttemptOnce(key, op);
  // The lease was taken over (this replica could not renew it in time): the replica that took
  // it finishes the start, and this one waits for it like any other caller.
  if (!result.ok() && result.status().code() == ErrorCode::kAborted && !op.cancelled) {
    spdlog::warn("lifecycle: {}: {}; waiting for that start", ToString(key),
                 result.status().message());
    result = AttemptOnce(key, op);
  }
  return result;
}

Result<AgentEndpoint> AgentStarter::AttemptOnce(const AgentKey& key, StartOp& op) {
  auto record = records_.FindOrProvision(key);
  if (!record.ok()) return record.status();
  // One start per agent across replicas: wait while another replica's start holds the lease.
  const auto deadline = op.began + options_.start_timeout + 2 * options_.lease_ttl;
  auto lease =
      options_.shared_store
          ? StartLease::Claim(records_, record->id,
                              {instance_.replica_id, options_.lease_ttl, options_.lease_poll},
                              clock_, op, deadline, [&] { SetPhase(key, "waiting_for_replica"); })
          : Result<StartLease>(StartLease::Unshared(records_, clock_));
  if (!lease.ok()) return lease.status();
  if (lease->waited()) {
    // Another replica's start ran meanwhile: go on from what it left (its container, which the
    // steps below verify and reuse, or its failure, which this start reports rather than repeats).
    auto fresh = records_.Find(key);
    if (!fresh.ok()) {
      lease->Release();
      return fresh.status();
    }
    *record = std::move(*fresh);
    if (record->status == AgentStatus::kFailed) {
      lease->Release();
      return Fail(op, StartFailure::kOther,
                  Unavailable("the agent failed to start on another berth replica; ask again to "
                              "retry (its status has the error)"));
    }
  }
  if (pool_of_ready_ != nullptr && key.is_user() && !lease->waited()) {
    // A user whose agent never ran: a ready pooled agent becomes theirs, when there is one.
    auto adopted = pool_of_ready_->Adopt(key, *record);
    if (adopted) {
      lease->Release();
      return *std::move(adopted);
    }
  }
  auto result = AttemptClaimed(key, *record, *lease, op);
  // A start whose lease was taken over leaves the record to the replica that took it.
  if (!result.ok() && !op.cancelled && result.status().code() != ErrorCode::kAborted) {
    Status saved =
        records_.SaveStartState(*record, AgentStatus::kFailed, std::nullopt, lease->fence());
    if (!saved.ok() && saved.code() != ErrorCode::kNotFound) {  // no record, nothing to mark
      spdlog::warn("lifecycle: cannot record the failed start of agent {}: {}", ToString(key),
                   saved.message());
    }
  }
  lease->Release();
  return result;
}

Result<AgentEndpoint> AgentStarter::AttemptClaimed(const AgentKey& key, const AgentRecord& record,
                                                   StartLease& lease, StartOp& op) {
  auto token = secrets_.Open(record.sealed_token);
  if (!token.ok()) return token.status();
  BERTH_RETURN_IF_ERROR(
      records_.SaveStartState(record, AgentStatus::kStarting, std::nullopt, lease.fence()));
  auto node = Place(key, record, op);
  if (!node.ok()) return node.status();
  runtime::ContainerSpec spec = BuildContainerSpec(record, *token, options_, instance_);
  if (*node) spec.node_id = (*node)->id;
  bool force_restart = false;
  {
    AgentRegistry::Locked locked = registry_.Lock();
    AgentEntry& entry = locked.Get(key);
    entry.record_id = record.id;
    entry.idle_timeout_min = record.idle_timeout_min;
    force_restart = entry.needs_restart;
  }

  auto found = FindExisting(record, spec.name, op);
  if (!found.ok()) return found.status();
  std::optional<runtime::ContainerInfo> existing = std::move(*found);
  BERTH_RETURN_IF_ERROR(lease.Keep());
  BERTH_RETURN_IF_ERROR(Vet(key, record, spec, force_restart, existing, op));
  if (op.cancelled) return Fail(op, StartFailure::kCancelled, Unavailable("cancelled"));

  std::string id;
  if (existing) {
    id = existing->id;
  } else {
    BERTH_RETURN_IF_ERROR(lease.Keep());
    auto created = Create(spec, op);
    if (!created.ok()) return created.status();
    id = *created;
  }
  {
    AgentRegistry::Locked locked = registry_.Lock();
    locked.BindContainer(id, key);
    locked.Get(key).container_id = id;
  }
  BERTH_RETURN_IF_ERROR(records_.SaveStartState(record, AgentStatus::kStarting, id, lease.fence()));
  if (op.cancelled) return Fail(op, StartFailure::kCancelled, Unavailable("cancelled"));

  if (existing && existing->state == runtime::ContainerState::kPaused) {
    // Paused when idle (Reaper): thawed in milliseconds, then checked like any running agent.
    SetPhase(key, "resuming");
    Status resumed = runtime_.Unpause(id);
    if (!resumed.ok()) {
      return Fail(op, StartFailure::kEngine,
                  Unavailable("cannot resume the paused agent container: " + resumed.message()));
    }
    existing->state = runtime::ContainerState::kRunning;
  }
  SetPhase(key, "starting");
  if (!existing || existing->state != runtime::ContainerState::kRunning) {
    BERTH_RETURN_IF_ERROR(lease.Keep());
    // From cold: with the start's CPU burst (a new container was created with it).
    op.burst = CpuBurst::Enabled(options_);
    if (op.burst && existing) CpuBurst::Raise(options_, runtime_, id);
    Status started = runtime_.Start(id);
    if (!started.ok()) {
      return Fail(op, StartFailure::kEngine,
                  Unavailable("cannot start the agent container: " + started.message()));
    }
  }
  SetPhase(key, "waiting_for_ready");
  auto endpoint = WaitReady(id, record, *token, lease, op);
  if (!endpoint.ok()) return endpoint.status();
  BERTH_RETURN_IF_ERROR(records_.SaveStartState(record, AgentStatus::kRunning, id, lease.fence()));
  return endpoint;
}

Result<std::optional<runtime::NodePlacement>> AgentStarter::Place(const AgentKey& key,
                                                                  const AgentRecord& record,
                                                                  StartOp& op) {
  using Placed = std::optional<runtime::NodePlacement>;
  if (record.node) {
    // Its state lives there: a node that cannot take it now fails the start rather than giving
    // the user a new, empty state elsewhere.
    Status usable = runtime_.CheckNode(*record.node);
    if (!usable.ok()) {
      return Fail(op, StartFailure::kPlacement,
                  Unavailable("the agent's state lives on node " + NodeText(*record.node) +
                              ", which cannot run it now: " + usable.message()));
    }
    return Placed(record.node);
  }
  auto chosen = runtime_.PlaceAgent(options_.memory_bytes);
  if (!chosen.ok()) {
    return Fail(op, StartFailure::kPlacement,
                Unavailable("no node can take the agent: " + chosen.status().message()));
  }
  if (!*chosen) return Placed();  // one engine: nothing to choose
  Status pinned = records_.PinNode(record, **chosen);
  if (pinned.code() == ErrorCode::kAlreadyExists) {
    // Another replica's start pinned it first (its lease expired under it): go where it went.
    auto fresh = records_.Find(key);
    if (!fresh.ok()) return fresh.status();
    if (fresh->node) return Place(key, *fresh, op);
  }
  if (!pinned.ok()) return pinned;
  spdlog::info("lifecycle: agent {} placed on node {}", ToString(key), NodeText(**chosen));
  return chosen;
}

Result<std::optional<runtime::ContainerInfo>> AgentStarter::FindExisting(const AgentRecord& record,
                                                                         const std::string& name,
                                                                         StartOp& op) {
  // By the recorded id, else by name: a container left by a crash between create and the record
  // update, or by an older berth.
  Result<runtime::ContainerInfo> found = NotFound("no container recorded");
  if (record.container_id) found = runtime_.Inspect(*record.container_id);
  if (!found.ok() && found.status().code() == ErrorCode::kNotFound) found = runtime_.Inspect(name);
  if (found.ok()) return std::optional<runtime::ContainerInfo>(std::move(*found));
  if (found.status().code() == ErrorCode::kNotFound) {
    return std::optional<runtime::ContainerInfo>();
  }
  return Fail(op, StartFailure::kEngine,
              Unavailable("container engine: " + found.status().message()));
}

Status AgentStarter::Vet(const AgentKey& key, const AgentRecord& record,
                         const runtime::ContainerSpec& spec, bool force_restart,
                         std::optional<runtime::ContainerInfo>& existing, StartOp& op) {
  if (!existing) return Status::Ok();
  const bool ours = LabelOf(existing->labels, kLabelInstance) == instance_.instance_id &&
                    LabelOf(existing->labels, kLabelRecord) == record.id;
  const bool current = ours && LabelOf(existing->labels, kLabelSpec) == spec.labels.at(kLabelSpec);
  if (!current) {
    spdlog::info("lifecycle: {} container {} {}; recreating it", ToString(key),
                 existing->id.substr(0, 12),
                 ours ? "was made from other settings" : "is not this record's");
    Status removed = runtime_.Remove(existing->id, /*force=*/true);
    if (!removed.ok() && removed.code() != ErrorCode::kNotFound) {
      return Fail(op, StartFailure::kEngine,
                  Unavailable("cannot remove the outdated agent container: " + removed.message()));
    }
    existing.reset();
  } else if (force_restart && existing->state == runtime::ContainerState::kRunning) {
    spdlog::info("lifecycle: {} failed its health checks; restarting its container", ToString(key));
    Status stopped = runtime_.Stop(existing->id, options_.stop_grace);
    if (!stopped.ok()) {
      // The start below then finds it running and only waits for readiness again.
      spdlog::warn("lifecycle: cannot stop the unhealthy container of agent {}: {}", ToString(key),
                   stopped.message());
    }
    existing->state = runtime::ContainerState::kExited;
  }
  return Status::Ok();
}

Result<std::string> AgentStarter::Create(const runtime::ContainerSpec& spec, StartOp& op) {
  Status image = runtime_.EnsureImage(options_.image);
  if (!image.ok()) {
    return Fail(
        op, StartFailure::kImage,
        Unavailable("agent image " + options_.image + " is not available (" + image.message() +
                    "); build it with `berth image build openclaw --tag " + options_.image + "`"));
  }
  auto created = runtime_.Create(spec);
  if (!created.ok() && created.status().code() == ErrorCode::kAlreadyExists) {
    // The name was taken between the inspect and the create: not this record's (it would have
    // been found), so it goes.
    auto squatter = runtime_.Inspect(spec.name);
    if (squatter.ok()) {
      Status removed = runtime_.Remove(squatter->id, /*force=*/true);
      if (!removed.ok()) {
        spdlog::warn("lifecycle: cannot remove container {} holding the name {}: {}",
                     squatter->id.substr(0, 12), spec.name, removed.message());
      }
    }
    created = runtime_.Create(spec);
  }
  if (!created.ok()) {
    return Fail(op, StartFailure::kEngine,
                Unavailable("cannot create the agent container: " + created.status().message()));
  }
  return created;
}

Result<AgentEndpoint> AgentStarter::WaitReady(const std::string& container_id,
                                              const AgentRecord& record, const std::string& token,
                                              StartLease& lease, StartOp& op) {
  const runtime::AgentImageContract& contract = options_.contract;
  const auto deadline = clock_.SteadyNow() + options_.start_timeout;
  std::string last_problem = "no answer yet";
  for (;;) {
    if (op.cancelled) return Fail(op, StartFailure::kCancelled, Unavailable("cancelled"));
    BERTH_RETURN_IF_ERROR(lease.Keep());
    auto info = runtime_.Inspect(container_id);
    if (!info.ok()) {
      if (info.status().code() == ErrorCode::kNotFound) {
        return Unavailable("the agent container was removed while it was starting");
      }
      last_problem = info.status().message();
    } else if (info->state == runtime::ContainerState::kExited ||
               info->state == runtime::ContainerState::kDead) {
      const runtime::ContainerInfo exited = SettleOomVerdict(runtime_, std::move(*info));
      return Fail(op, ExitFailure(exited),
                  Unavailable(DescribeExit(runtime_, exited, options_.memory_bytes,
                                           options_.log_tail_lines)));
    } else if (info->state == runtime::ContainerState::kRunning) {
      auto endpoint = EndpointOf(*info, record.container_name, record.id, token,
                                 options_.address_mode, contract.gateway_port);
      if (endpoint.ok()) {
        auto code = probe_.Get(endpoint->host, endpoint->port, contract.readiness_path,
                               options_.probe_timeout);
        if (code.ok() && *code == 200) {
          op.container_started_at = info->started_at;
          return endpoint;
        }
        last_problem = code.ok() ? contract.readiness_path + " answered " + std::to_string(*code)
                                 : code.status().message();
      } else {
        last_problem = endpoint.status().message();
      }
    }
    if (clock_.SteadyNow() >= deadline) {
      std::string message = "the agent was not ready within " +
                            SecondsText(options_.start_timeout) + " (" + last_problem + ")";
      auto logs = runtime_.Logs(container_id, options_.log_tail_lines);
      if (logs.ok() && !logs->empty()) message += "; last log lines:\n" + *logs;
      Status stopped = runtime_.Stop(container_id, options_.stop_grace);  // it would hold memory
      if (!stopped.ok()) {
        spdlog::warn("lifecycle: cannot stop container {} after its start timed out: {}",
                     container_id.substr(0, 12), stopped.message());
      }
      return Fail(op, StartFailure::kTimeout, Unavailable(message));
    }
    op.WaitCancelled(options_.ready_poll_interval);
  }
}

void AgentStarter::SetPhase(const AgentKey& key, const char* phase) {
  {
    AgentRegistry::Locked locked = registry_.Lock();
    locked.Get(key).phase = phase;
  }
  notifier_.Notify({key.kind, key.owner, AgentStatus::kStarting, phase, ""});
}

}  // namespace berth::lifecycle
