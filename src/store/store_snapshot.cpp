#include "store/store_snapshot.hpp"

#include "store/snapshot_rows.hpp"

namespace berth::store {

TableCounts TableCounts::Of(const StoreSnapshot& s) {
  TableCounts c;
  c.users = s.users.size();
  c.api_tokens = s.api_tokens.size();
  c.providers = s.providers.size();
  c.agent_configs = s.agent_configs.size();
  c.user_containers = s.user_containers.size();
  c.system_containers = s.system_containers.size();
  return c;
}

std::string TableCounts::ToString() const {
  return std::to_string(users) + " users, " + std::to_string(api_tokens) + " api tokens, " +
         std::to_string(providers) + " providers, " + std::to_string(agent_configs) +
         " agent configs, " + std::to_string(user_containers) + " user containers, " +
         std::to_string(system_containers) + " system containers";
}

namespace snapshot {

Status ExpectEmpty(const TableCounts& counts) {
  if (counts.total() == 0) return Status::Ok();
  return AlreadyExists("the database is not empty (" + counts.ToString() + ")");
}

Status ExpectWritten(const TableCounts& counts, const StoreSnapshot& s) {
  const TableCounts expected = TableCounts::Of(s);
  if (counts == expected) return Status::Ok();
  return DataLoss("row counts after writing differ: expected " + expected.ToString() + ", found " +
                  counts.ToString());
}

}  // namespace snapshot
}  // namespace berth::store
