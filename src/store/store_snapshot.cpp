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
  c.usage = s.usage.size();
  c.limits = s.limits.size();
  c.budgets = s.budgets.size();
  c.request_log = s.request_log.size();
  return c;
}

std::string TableCounts::ToString() const {
  return std::to_string(users) + " users, " + std::to_string(api_tokens) + " api tokens, " +
         std::to_string(providers) + " providers, " + std::to_string(agent_configs) +
         " agent configs, " + std::to_string(user_containers) + " user containers, " +
         std::to_string(system_containers) + " system containers, " + std::to_string(usage) +
         " usage rows, " + std::to_string(limits) + " limits, " + std::to_string(budgets) +
         " budget windows, " + std::to_string(request_log) + " logged requests";
}

namespace snapshot {

TableCounts ReadCounts(const std::function<int64_t(int)>& column) {
  auto at = [&](int i) { return static_cast<std::size_t>(column(i)); };
  TableCounts c;
  c.users = at(0);
  c.api_tokens = at(1);
  c.providers = at(2);
  c.agent_configs = at(3);
  c.user_containers = at(4);
  c.system_containers = at(5);
  c.usage = at(6);
  c.limits = at(7);
  c.budgets = at(8);
  c.request_log = at(9);
  return c;
}

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
