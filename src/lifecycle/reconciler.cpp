#include "lifecycle/reconciler.hpp"

#include <spdlog/spdlog.h>

#include <set>
#include <unordered_map>

#include "lifecycle/agent_labels.hpp"
#include "service/containers.hpp"

namespace berth::lifecycle {
namespace {

// A record and whether the engine side found it a container of its own (adopted), which must
// then be written even when its status did not change.
struct Observed {
  AgentRecord record;
  bool adopted = false;
};

void LogFailedRemoval(const char* what, const std::string& name, const Status& status) {
  if (status.ok() || status.code() == ErrorCode::kNotFound) return;
  spdlog::warn("lifecycle: cannot remove {} {}: {}", what, name, status.message());
}

}  // namespace

Reconciler::Reconciler(runtime::ContainerRuntime& runtime, AgentRecords& records,
                       AgentRegistry& registry, const InstanceInfo& instance, const Clock& clock)
    : runtime_(runtime),
      records_(records),
      registry_(registry),
      instance_(instance),
      clock_(clock) {}

Status Reconciler::Reconcile() {
  auto listed = runtime_.List(OwnLabels(instance_.instance_id));
  if (!listed.ok()) return listed.status();
  return ReconcileWith(*listed);
}

bool Reconciler::Starting(const AgentKey& key) {
  AgentRegistry::Locked locked = registry_.Lock();
  const AgentEntry* entry = locked.Find(key);
  return entry != nullptr && entry->start != nullptr;
}

void Reconciler::RemoveOrphan(const runtime::ContainerSummary& c) {
  spdlog::info("lifecycle: removing orphan container {} ({}): no record {}", c.name,
               c.id.substr(0, 12), LabelOf(c.labels, kLabelRecord));
  LogFailedRemoval("orphan container", c.name, runtime_.Remove(c.id, /*force=*/true));
  if (service::IsPoolName(LabelOf(c.labels, kLabelOwner))) {
    // Made for the warm pool: its state was the pool's, or that of the user it was handed to,
    // whose record is gone (the user deleted); nobody's volume can name it again.
    LogFailedRemoval("orphan volume", c.name + "-state", runtime_.RemoveVolume(c.name + "-state"));
    return;
  }
  if (LabelOf(c.labels, kLabelKind) != AgentKindName(store::ContainerKind::kUser)) return;
  Status owner = records_.CheckUser(LabelOf(c.labels, kLabelOwner));
  if (owner.code() == ErrorCode::kNotFound) {  // its user is gone too
    LogFailedRemoval("orphan volume", c.name + "-state", runtime_.RemoveVolume(c.name + "-state"));
  }
}

Status Reconciler::ReconcileWith(const std::vector<runtime::ContainerSummary>& listed) {
  auto records = records_.List();
  if (!records.ok()) return records.status();
  // Starts in flight on any replica (their leases): each such record is its start's to write.
  Result<std::set<std::string>> held = std::set<std::string>();
  if (shared_) held = records_.HeldStarts();
  if (!held.ok()) return held.status();
  auto starting = [&](const AgentRecord& r) { return held->count(r.id) > 0 || Starting(r.key); };
  std::vector<Observed> observed;
  observed.reserve(records->size());
  for (AgentRecord& r : *records) observed.push_back({std::move(r)});
  std::unordered_map<std::string, Observed*> by_record;
  for (auto& o : observed) by_record[o.record.id] = &o;
  std::unordered_map<std::string, const runtime::ContainerSummary*> by_id;
  for (const auto& c : listed) by_id[c.id] = &c;

  // Engine side: every labelled container belongs to a record, once.
  for (const auto& c : listed) {
    auto it = by_record.find(LabelOf(c.labels, kLabelRecord));
    if (it == by_record.end()) {
      RemoveOrphan(c);
      continue;
    }
    Observed& o = *it->second;
    if (starting(o.record) || o.record.container_id == c.id) continue;
    if (o.record.container_id && by_id.count(*o.record.container_id)) {
      spdlog::info("lifecycle: removing duplicate container {} of record {}", c.id.substr(0, 12),
                   o.record.id);
      LogFailedRemoval("duplicate container", c.id.substr(0, 12),
                       runtime_.Remove(c.id, /*force=*/true));
      continue;
    }
    spdlog::info("lifecycle: adopting container {} for record {}", c.id.substr(0, 12), o.record.id);
    o.record.container_id = c.id;
    o.adopted = true;
  }

  // Store side: no record claims a state its container does not have.
  for (Observed& o : observed) {
    const AgentRecord& record = o.record;
    if (starting(record)) continue;
    const runtime::ContainerSummary* c = nullptr;
    if (record.container_id) {
      auto it = by_id.find(*record.container_id);
      if (it != by_id.end()) c = it->second;
    }
    // A paused container is a running agent (frozen when idle; its next use resumes it).
    const bool paused = c != nullptr && c->state == runtime::ContainerState::kPaused;
    const bool running = paused || (c != nullptr && c->state == runtime::ContainerState::kRunning);
    // A failed agent stays failed until it starts again, unless it just got a container adopted.
    const bool failed = !o.adopted && record.status == AgentStatus::kFailed;
    const AgentStatus status = running  ? AgentStatus::kRunning
                               : failed ? AgentStatus::kFailed
                                        : AgentStatus::kStopped;
    {
      AgentRegistry::Locked locked = registry_.Lock();
      AgentEntry& entry = locked.Get(record.key);
      entry.record_id = record.id;
      entry.idle_timeout_min = record.idle_timeout_min;
      if (!entry.last_active_ms) entry.last_active_ms = record.last_active_at;
      if (c != nullptr) {
        locked.BindContainer(c->id, record.key);
        entry.container_id = c->id;
      }
      if (running) {
        entry.paused = paused;
        if (entry.status != AgentStatus::kRunning) {
          // Running, but not yet confirmed by this process: the next start path or sweep looks.
          entry.verified = false;
          entry.SetStatus(AgentStatus::kRunning);
          if (!entry.last_active_ms) entry.last_active_ms = ToUnixMillis(clock_.Now());
        }
      } else if (entry.status == AgentStatus::kRunning || entry.status == AgentStatus::kStarting ||
                 entry.status == AgentStatus::kStopping) {
        entry.verified = false;
        entry.endpoint.reset();
        entry.SetStatus(status, "", entry.error);
      }
    }
    if (!o.adopted && record.status == status) continue;
    Status saved = records_.SaveObserved(record.key.kind, record.id, status, record.container_id);
    if (!saved.ok() && saved.code() != ErrorCode::kNotFound) {
      spdlog::warn("lifecycle: cannot reconcile record {}: {}", record.id, saved.message());
    }
  }
  return Status::Ok();
}

}  // namespace berth::lifecycle
