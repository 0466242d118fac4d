#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "lifecycle/agent_record.hpp"
#include "lifecycle/agent_registry.hpp"
#include "lifecycle/agent_status.hpp"
#include "store/records.hpp"

namespace berth::lifecycle {

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
  std::optional<std::string> node;  // the node its state lives on (several nodes only)
  bool paused = false;              // running, frozen while idle (Reaper)

  // The API's word for its state (ApiStatusName).
  std::string_view StatusName() const { return ApiStatusName(status, paused); }
};

// The record merged with what this process knows: its live status, phase, error, open streams,
// and the newer of the stored and the in-memory activity. Pure.
AgentView ViewOf(const AgentRecord& record, const AgentEntry* entry);

// Agents as the API shows them: records from the store, merged with this replica's warm view.
// Every replica runs it. Thread-safe; blocks on the store, then takes AgentRegistry's lock briefly
// (never both at once).
class AgentViews {
 public:
  AgentViews(AgentRecords& records, AgentRegistry& registry);

  // kNotFound for an unknown user; a user without a record shows as stopped.
  Result<AgentView> Get(const std::string& user_id);
  // Every user and system container.
  Result<std::vector<AgentView>> List();

 private:
  AgentRecords& records_;
  AgentRegistry& registry_;
};

}  // namespace berth::lifecycle
