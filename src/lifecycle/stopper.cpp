#include "lifecycle/stopper.hpp"

namespace berth::lifecycle {

AgentStopper::AgentStopper(const LifecycleOptions& options, AgentRegistry& registry,
                           AgentRecords& records, runtime::ContainerRuntime& runtime,
                           const AgentNotifier& notifier)
    : options_(options),
      registry_(registry),
      records_(records),
      runtime_(runtime),
      notifier_(notifier) {}

Status AgentStopper::Stop(const AgentKey& key) {
  {
    AgentRegistry::Locked locked = registry_.Lock();
    AgentEntry& entry = locked.Get(key);
    std::shared_ptr<StartOp> op = entry.start;
    entry.verified = false;
    entry.SetStatus(AgentStatus::kStopping);
    if (op) {
      op->Cancel();
      locked.Wait([&] { return op->done; });
      locked.Get(key).SetStatus(AgentStatus::kStopping);
    }
  }
  notifier_.Notify({key.kind, key.owner, AgentStatus::kStopping, "", ""});
  std::optional<std::string> container_id;
  auto record = records_.Find(key);
  if (record.ok()) {
    container_id = record->container_id;
  } else if (!key.is_user() || record.status().code() != ErrorCode::kNotFound) {
    return record.status();  // a user may have no record yet; a system container always has one
  }
  if (container_id) {
    Status stopped = runtime_.Stop(*container_id, options_.stop_grace);
    if (!stopped.ok() && stopped.code() != ErrorCode::kNotFound) {
      AgentRegistry::Locked locked = registry_.Lock();
      locked.Get(key).SetStatus(AgentStatus::kFailed, "", "stop failed: " + stopped.message());
      return stopped;
    }
    BERTH_RETURN_IF_ERROR(records_.SaveState(key, AgentStatus::kStopped, std::nullopt));
  }
  {
    AgentRegistry::Locked locked = registry_.Lock();
    AgentEntry& entry = locked.Get(key);
    entry.endpoint.reset();
    entry.paused = false;  // the engine thaws a paused container to deliver the stop signal
    entry.SetStatus(AgentStatus::kStopped);
  }
  notifier_.Notify({key.kind, key.owner, AgentStatus::kStopped, "", ""});
  return Status::Ok();
}

Status AgentStopper::Remove(const std::string& user_id) {
  const AgentKey key = AgentKey::User(user_id);
  auto record = records_.Find(key);
  if (!record.ok()) {
    return record.status().code() == ErrorCode::kNotFound ? Status::Ok() : record.status();
  }
  BERTH_RETURN_IF_ERROR(Stop(key));
  if (record->container_id) {
    Status removed = runtime_.Remove(*record->container_id, /*force=*/true);
    if (!removed.ok() && removed.code() != ErrorCode::kNotFound) return removed;
  }
  Status volume = runtime_.RemoveVolume(record->container_name + "-state");
  if (!volume.ok() && volume.code() != ErrorCode::kNotFound) return volume;
  AgentRegistry::Locked locked = registry_.Lock();
  if (record->container_id) locked.UnbindContainer(*record->container_id);
  locked.Erase(key);
  return Status::Ok();
}

}  // namespace berth::lifecycle
