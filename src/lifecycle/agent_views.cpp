#include "lifecycle/agent_views.hpp"

namespace berth::lifecycle {

AgentView ViewOf(const AgentRecord& record, const AgentEntry* entry) {
  AgentView view;
  view.kind = record.key.kind;
  view.owner = record.key.owner;
  view.name = record.name;
  view.record_id = record.id;
  view.container_name = record.container_name;
  view.container_id = record.container_id;
  view.status = record.status;
  view.last_active_at = record.last_active_at;
  view.idle_timeout_min = record.idle_timeout_min;
  if (record.node) view.node = record.node->name.empty() ? record.node->id : record.node->name;
  if (entry != nullptr) {
    view.status = entry->status;
    view.phase = entry->phase;
    view.error = entry->error;
    view.open_streams = entry->open_streams;
    view.paused = entry->paused && entry->status == AgentStatus::kRunning;
    if (entry->last_active_ms &&
        (!view.last_active_at || *entry->last_active_ms > *view.last_active_at)) {
      view.last_active_at = entry->last_active_ms;
    }
  }
  return view;
}

AgentViews::AgentViews(AgentRecords& records, AgentRegistry& registry)
    : records_(records), registry_(registry) {}

Result<AgentView> AgentViews::Get(const std::string& user_id) {
  BERTH_RETURN_IF_ERROR(records_.CheckUser(user_id));
  const AgentKey key = AgentKey::User(user_id);
  AgentRecord record;
  record.key = key;
  auto found = records_.Find(key);
  if (found.ok()) {
    record = std::move(*found);
  } else if (found.status().code() != ErrorCode::kNotFound) {
    return found.status();
  }
  AgentRegistry::Locked locked = registry_.Lock();
  return ViewOf(record, locked.Find(key));
}

Result<std::vector<AgentView>> AgentViews::List() {
  auto records = records_.List();
  if (!records.ok()) return records.status();
  std::vector<AgentView> views;
  views.reserve(records->size());
  AgentRegistry::Locked locked = registry_.Lock();
  for (const AgentRecord& record : *records) {
    views.push_back(ViewOf(record, locked.Find(record.key)));
  }
  return views;
}

}  // namespace berth::lifecycle
