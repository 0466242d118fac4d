#include "lifecycle/agent_record.hpp"

#include <algorithm>
#include <variant>

namespace berth::lifecycle {
namespace {

// One row of either table. Both row types name their shared columns alike, so generic lambdas
// update them without a branch on the kind.
using Row = std::variant<store::UserContainer, store::SystemContainer>;

template <typename T>
Result<Row> AsRow(Result<T> found) {
  if (!found.ok()) return found.status();
  return Row(std::move(found).value());
}

template <typename T>
AgentRecord CommonFields(const T& row, AgentKey key) {
  AgentRecord r;
  r.key = std::move(key);
  r.id = row.id;
  r.container_name = row.container_name;
  r.container_id = row.container_id;
  r.sealed_token = row.gateway_token;
  r.status = ParseAgentStatus(row.status);
  r.last_active_at = row.last_active_at;
  r.config_json = row.config_json;
  if (row.node_id) r.node = runtime::NodePlacement{*row.node_id, row.node_name.value_or("")};
  return r;
}

}  // namespace

AgentRecord AgentRecord::From(const store::UserContainer& row) {
  AgentRecord r = CommonFields(row, AgentKey::User(row.user_id));
  r.idle_timeout_min = row.idle_timeout_min;
  return r;
}

AgentRecord AgentRecord::From(const store::SystemContainer& row) {
  AgentRecord r = CommonFields(row, AgentKey::System(row.id));
  r.name = row.name;
  return r;
}

AgentRecords::AgentRecords(store::StorePtr store,
                           std::shared_ptr<service::ContainerService> containers, ClockPtr clock)
    : store_(std::move(store)), containers_(std::move(containers)), clock_(std::move(clock)) {}

namespace {

Result<Row> ReadRow(store::Store& store, const AgentKey& key) {
  if (key.is_user()) return AsRow(store.GetUserContainerByUser(key.owner));
  return AsRow(store.GetSystemContainer(key.owner));
}

Result<Row> ReadRowById(store::Store& store, store::ContainerKind kind, const std::string& id) {
  if (kind == store::ContainerKind::kUser) return AsRow(store.GetUserContainer(id));
  return AsRow(store.GetSystemContainer(id));
}

Status WriteRow(store::Store& store, const Row& row) {
  if (const auto* user = std::get_if<store::UserContainer>(&row)) {
    return store.UpdateUserContainer(*user);
  }
  return store.UpdateSystemContainer(std::get<store::SystemContainer>(row));
}

AgentRecord ToRecord(const Row& row) {
  return std::visit([](const auto& r) { return AgentRecord::From(r); }, row);
}

}  // namespace

Result<AgentRecord> AgentRecords::Find(const AgentKey& key) const {
  auto row = ReadRow(*store_, key);
  if (!row.ok()) return row.status();
  return ToRecord(*row);
}

Result<AgentRecord> AgentRecords::FindOrProvision(const AgentKey& key) {
  auto found = Find(key);
  if (found.ok() || !key.is_user() || found.status().code() != ErrorCode::kNotFound) {
    return found;
  }
  auto provisioned = containers_->ProvisionUserContainer(key.owner, /*rotate=*/false);
  if (provisioned.ok()) return AgentRecord::From(provisioned->record);
  if (provisioned.status().code() != ErrorCode::kAlreadyExists) return provisioned.status();
  return Find(key);  // created concurrently (another replica)
}

Result<std::vector<AgentRecord>> AgentRecords::List() const {
  auto users = store_->ListUserContainers();
  if (!users.ok()) return users.status();
  auto systems = ListSystem();
  if (!systems.ok()) return systems.status();
  std::vector<AgentRecord> records;
  records.reserve(users->size() + systems->size());
  for (const auto& row : *users) records.push_back(AgentRecord::From(row));
  for (auto& record : *systems) records.push_back(std::move(record));
  return records;
}

Result<std::vector<AgentRecord>> AgentRecords::ListSystem() const {
  auto systems = store_->ListSystemContainers();
  if (!systems.ok()) return systems.status();
  std::vector<AgentRecord> records;
  records.reserve(systems->size());
  for (const auto& row : *systems) records.push_back(AgentRecord::From(row));
  return records;
}

Status AgentRecords::SaveState(const AgentKey& key, AgentStatus status,
                               const std::optional<std::string>& container_id) {
  auto record = Find(key);
  if (!record.ok()) return record.status();
  // One statement on the columns it changes: never writes back a stale token or setting that
  // another replica changed meanwhile.
  return SaveStartState(*record, status, container_id, store::LeaseFence{});
}

Status AgentRecords::SaveObserved(store::ContainerKind kind, const std::string& record_id,
                                  AgentStatus status,
                                  const std::optional<std::string>& container_id) {
  auto row = ReadRowById(*store_, kind, record_id);
  if (!row.ok()) return row.status();
  const int64_t now = ToUnixMillis(clock_->Now());
  std::visit(
      [&](auto& r) {
        r.status = std::string(AgentStatusName(status));
        r.container_id = container_id;
        r.updated_at = now;
      },
      *row);
  return WriteRow(*store_, *row);
}

Status AgentRecords::SaveConfigJson(const AgentKey& key, std::string config_json) {
  auto row = ReadRow(*store_, key);
  if (!row.ok()) return row.status();
  const int64_t now = ToUnixMillis(clock_->Now());
  std::visit(
      [&](auto& r) {
        r.config_json = std::move(config_json);
        r.updated_at = now;
      },
      *row);
  return WriteRow(*store_, *row);
}

Status AgentRecords::RecordActivity(const std::vector<std::pair<std::string, int64_t>>& stamps) {
  return store_->RecordUserActivity(stamps);
}

Result<std::optional<int64_t>> AgentRecords::AcquireLease(const std::string& name,
                                                          const std::string& holder,
                                                          std::chrono::milliseconds ttl) {
  return store_->AcquireLease(name, holder, ttl.count());
}

Result<bool> AgentRecords::RenewLease(const store::LeaseFence& fence,
                                      std::chrono::milliseconds ttl) {
  return store_->RenewLease(fence, ttl.count());
}

Status AgentRecords::ReleaseLease(const store::LeaseFence& fence) {
  return store_->ReleaseLease(fence);
}

Result<std::set<std::string>> AgentRecords::HeldStarts() const {
  static constexpr std::string_view kPrefix = "start:";
  auto held = store_->ListHeldLeases(std::string(kPrefix));
  if (!held.ok()) return held.status();
  std::set<std::string> ids;
  for (const store::Lease& lease : *held) ids.insert(lease.name.substr(kPrefix.size()));
  return ids;
}

Status AgentRecords::PinNode(const AgentRecord& record, const runtime::NodePlacement& node) {
  return store_->PinAgentNode(record.key.kind, record.id, node.id, node.name);
}

Status AgentRecords::SaveStartState(const AgentRecord& record, AgentStatus status,
                                    const std::optional<std::string>& container_id,
                                    const store::LeaseFence& fence) {
  store::AgentStateWrite write{std::string(AgentStatusName(status)), container_id,
                               ToUnixMillis(clock_->Now())};
  return store_->SaveAgentState(record.key.kind, record.id, write, fence);
}

Result<AgentRecord> AgentRecords::ClaimPoolAgent(const std::string& pool_id,
                                                 const std::string& user_id) {
  auto claimed = store_->ClaimPoolAgent(pool_id, user_id, ToUnixMillis(clock_->Now()),
                                        store::UserContainer{}.idle_timeout_min);
  if (!claimed.ok()) return claimed.status();
  return AgentRecord::From(*claimed);
}

Status AgentRecords::CheckUser(const std::string& user_id) const {
  auto user = store_->GetUser(user_id);
  return user.ok() ? Status::Ok() : user.status();
}

}  // namespace berth::lifecycle
