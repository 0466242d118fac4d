#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace berth::store {

// Every row of a berth database, for moving an installation between backends (`berth db copy`,
// store_copy.hpp). Each table is ordered as its lists are: oldest first, then insertion order.
struct StoreSnapshot {
  std::string instance_id;  // what the fleet's containers are labelled with
  std::vector<User> users;
  std::vector<ApiToken> api_tokens;
  std::vector<LlmProvider> providers;
  std::vector<UserAgentConfig> agent_configs;
  std::vector<UserContainer> user_containers;
  std::vector<SystemContainer> system_containers;
  // What agents used through berth's LLM gateway, the limits on it and the budget windows that
  // enforce them, and the log of recent calls (ordered by user and key; the log by id).
  std::vector<UsageRow> usage;
  std::vector<LlmLimits> limits;
  std::vector<BudgetRow> budgets;
  std::vector<LlmRequestLogEntry> request_log;
};

// Row counts per table, in StoreSnapshot's order.
struct TableCounts {
  std::size_t users = 0, api_tokens = 0, providers = 0, agent_configs = 0, user_containers = 0,
              system_containers = 0, usage = 0, limits = 0, budgets = 0, request_log = 0;
  static TableCounts Of(const StoreSnapshot& snapshot);
  std::size_t total() const {
    return users + api_tokens + providers + agent_configs + user_containers + system_containers +
           usage + limits + budgets + request_log;
  }
  bool operator==(const TableCounts&) const = default;
  // "3 users, 4 api tokens, ..."
  std::string ToString() const;
};

// A Store that can also be read and written whole. Serving code uses Store only.
class SnapshotStore : public Store {
 public:
  // Every row of every table and the instance id, read in one transaction (one consistent
  // snapshot, taken while writers go on).
  virtual Result<StoreSnapshot> ReadSnapshot() = 0;

  // In one transaction: when `replace`, first deletes every row of the record tables;
  // otherwise fails with kAlreadyExists (and writes nothing) if any of them holds a row. Then
  // inserts every record of `snapshot` in its order (so lists keep their order and tiebreaks),
  // values byte for byte (sealed secrets stay as they are), sets the instance id to the
  // snapshot's, and counts each table: kDataLoss, with nothing written, unless every count
  // equals the snapshot's. Errors of the inserts as the Store's (e.g. kAlreadyExists for two
  // records with one token hash).
  virtual Status WriteSnapshot(const StoreSnapshot& snapshot, bool replace) = 0;
};
using SnapshotStorePtr = std::shared_ptr<SnapshotStore>;

// Opens the backend named by a database URL, as OpenStore() does (store.hpp).
Result<SnapshotStorePtr> OpenSnapshotStore(const std::string& database_url);

}  // namespace berth::store
