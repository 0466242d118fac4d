#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "lifecycle/agent_key.hpp"
#include "lifecycle/agent_status.hpp"
#include "runtime/container_runtime.hpp"
#include "service/containers.hpp"
#include "store/store.hpp"

namespace berth::lifecycle {

// An agent's container record, of either kind, as the lifecycle reads it: the store's
// UserContainer and SystemContainer rows in one shape.
struct AgentRecord {
  AgentKey key;
  std::string id;    // the record's id (AGENT_ID, the berth.record label)
  std::string name;  // a system container's name; empty for users
  std::string container_name;
  std::optional<std::string> container_id;  // the engine's id, once created
  std::string sealed_token;                 // crypto::SecretBox form; open it only to start
  AgentStatus status = AgentStatus::kStopped;
  std::optional<int64_t> last_active_at;  // Unix ms
  int idle_timeout_min = 0;               // users only
  std::string config_json = "{}";
  // The node its state lives on (runtimes of several nodes); unset until its first start there.
  std::optional<runtime::NodePlacement> node;

  static AgentRecord From(const store::UserContainer& row);
  static AgentRecord From(const store::SystemContainer& row);
};

// The lifecycle's only door to the store: agent records read and written in the one shape above,
// so no caller branches on the kind. Thread-safe (the store is); every call blocks on the store.
// Holds no lock of the lifecycle's: never call it while holding AgentRegistry's lock.
class AgentRecords {
 public:
  AgentRecords(store::StorePtr store, std::shared_ptr<service::ContainerService> containers,
               ClockPtr clock);

  // kNotFound when the agent has no record.
  Result<AgentRecord> Find(const AgentKey& key) const;
  // Find; a user without a record gets one (name, fresh token) as the seed did at first start,
  // also when another replica provisions it concurrently. kNotFound for an unknown user.
  Result<AgentRecord> FindOrProvision(const AgentKey& key);
  // Every record: users', then system containers'.
  Result<std::vector<AgentRecord>> List() const;
  Result<std::vector<AgentRecord>> ListSystem() const;

  // Writes the agent's status (and its container id, when given) and stamps updated_at; a
  // running agent's last_active_at moves to now (never backwards).
  Status SaveState(const AgentKey& key, AgentStatus status,
                   const std::optional<std::string>& container_id);
  // Reconciliation's write: the status and the container id (none included) of the record with
  // this id. kNotFound when the record is gone (deleted meanwhile).
  Status SaveObserved(store::ContainerKind kind, const std::string& record_id, AgentStatus status,
                      const std::optional<std::string>& container_id);
  Status SaveConfigJson(const AgentKey& key, std::string config_json);
  // Batched activity of user agents: (record id, Unix ms) pairs.
  Status RecordActivity(const std::vector<std::pair<std::string, int64_t>>& stamps);

  // Leases shared by the replicas (store.hpp), judged by the database's clock.
  Result<std::optional<int64_t>> AcquireLease(const std::string& name, const std::string& holder,
                                              std::chrono::milliseconds ttl);
  Result<bool> RenewLease(const store::LeaseFence& fence, std::chrono::milliseconds ttl);
  Status ReleaseLease(const store::LeaseFence& fence);
  // Ids of the records whose start some replica (this one included) holds the lease of now.
  Result<std::set<std::string>> HeldStarts() const;
  // A start's write under its lease: the status, the container id when given, last_active_at
  // raised to now when running. kAborted when another replica took the lease over.
  Status SaveStartState(const AgentRecord& record, AgentStatus status,
                        const std::optional<std::string>& container_id,
                        const store::LeaseFence& fence);

  // Pins the record's agent to `node` once (store.hpp, PinAgentNode): kAlreadyExists naming the
  // node when another replica pinned it elsewhere meanwhile.
  Status PinNode(const AgentRecord& record, const runtime::NodePlacement& node);

  // The warm pool's hand-over (Store::ClaimPoolAgent): pooled record `pool_id` becomes the
  // user's record, running, stamped now.
  Result<AgentRecord> ClaimPoolAgent(const std::string& pool_id, const std::string& user_id);

  // Ok when the user exists; kNotFound when not; the store's error otherwise.
  Status CheckUser(const std::string& user_id) const;

 private:
  const store::StorePtr store_;
  const std::shared_ptr<service::ContainerService> containers_;
  const ClockPtr clock_;
};

}  // namespace berth::lifecycle
