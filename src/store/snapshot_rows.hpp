#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "common/result.hpp"
#include "store/record_rows.hpp"
#include "store/request_log_rows.hpp"
#include "store/store_snapshot.hpp"
#include "store/usage_rows.hpp"

// Whole-database reads and writes (SnapshotStore) in terms of statements, shared by the SQL
// backends. Private to the store module.
namespace berth::store::snapshot {

// One backend's statements. Selects return every row of a table in list order with the columns
// of its record_rows.hpp reader; inserts take the parameters of its binder.
struct Statements {
  const char* instance_id;  // SELECT value: one row
  const char* all_users;
  const char* all_api_tokens;
  const char* all_providers;
  const char* all_agent_configs;
  const char* all_user_containers;
  const char* all_system_containers;
  const char* insert_user;
  const char* insert_api_token;  // with last_used_at as parameter 7
  const char* insert_provider;
  const char* insert_agent_config;
  const char* insert_user_container;
  const char* insert_system_container;
  const char* set_instance_id;  // parameter 1: the id
  const char* insert_usage;
  const char* insert_limits;
  const char* insert_budget;
  const char* insert_request_log;  // with the id as parameter 16
  const char* after_request_log;   // run once after the log's inserts (nullptr: none)
};

// The LLM tables' selects: the same SQL on both backends.
inline constexpr const char kAllUsage[] =
    "SELECT " BERTH_USAGE_COLUMNS " FROM llm_usage ORDER BY user_id, day, provider, model";
inline constexpr const char kAllLimits[] =
    "SELECT " BERTH_LIMITS_COLUMNS " FROM llm_limits ORDER BY user_id";
inline constexpr const char kAllBudgets[] =
    "SELECT " BERTH_BUDGET_COLUMNS " FROM llm_budget ORDER BY user_id, period";
inline constexpr const char kAllRequestLog[] =
    "SELECT " BERTH_REQUEST_LOG_COLUMNS ", id FROM llm_request_log ORDER BY id";

// Reads every table with `query(sql, read)`, which returns Result<std::vector<T>> of the rows
// `read(row)` made, inside the caller's read transaction.
template <typename Query>
Result<StoreSnapshot> Read(const Statements& sql, Query&& query) {
  StoreSnapshot s;
  auto id = query(sql.instance_id, [](const auto& r) { return r.Text(0); });
  if (!id.ok()) return id.status();
  if (id->empty()) return Internal("database has no instance id");
  s.instance_id = id->front();
#define BERTH_SNAPSHOT_READ(field, statement, reader)                           \
  {                                                                             \
    auto all = query(statement, [](const auto& r) { return rows::reader(r); }); \
    if (!all.ok()) return all.status();                                         \
    s.field = std::move(*all);                                                  \
  }
  BERTH_SNAPSHOT_READ(users, sql.all_users, ReadUser)
  BERTH_SNAPSHOT_READ(api_tokens, sql.all_api_tokens, ReadApiToken)
  BERTH_SNAPSHOT_READ(providers, sql.all_providers, ReadProvider)
  BERTH_SNAPSHOT_READ(agent_configs, sql.all_agent_configs, ReadAgentConfig)
  BERTH_SNAPSHOT_READ(user_containers, sql.all_user_containers, ReadUserContainer)
  BERTH_SNAPSHOT_READ(system_containers, sql.all_system_containers, ReadSystemContainer)
  BERTH_SNAPSHOT_READ(usage, kAllUsage, ReadUsage)
  BERTH_SNAPSHOT_READ(limits, kAllLimits, ReadLimits)
  BERTH_SNAPSHOT_READ(budgets, kAllBudgets, ReadBudget)
  BERTH_SNAPSHOT_READ(request_log, kAllRequestLog, ReadRequestLog)
#undef BERTH_SNAPSHOT_READ
  return s;
}

// Inserts every record of `s` (users first: the others refer to them) and sets the instance
// id, with `exec(sql, bind)`, which runs one statement whose parameters `bind(params)` sets and
// returns a Status, inside the caller's write transaction.
template <typename Exec>
Status Insert(const Statements& sql, const StoreSnapshot& s, Exec&& exec) {
  for (const User& u : s.users) {
    BERTH_RETURN_IF_ERROR(exec(sql.insert_user, [&](auto& p) { rows::BindUser(p, u); }));
  }
  for (const UserAgentConfig& c : s.agent_configs) {
    BERTH_RETURN_IF_ERROR(
        exec(sql.insert_agent_config, [&](auto& p) { rows::BindAgentConfig(p, c); }));
  }
  for (const ApiToken& t : s.api_tokens) {
    BERTH_RETURN_IF_ERROR(exec(sql.insert_api_token, [&](auto& p) {
      rows::BindApiToken(p, t, t.user_id, /*with_last_use=*/true);
    }));
  }
  for (const LlmProvider& provider : s.providers) {
    BERTH_RETURN_IF_ERROR(exec(sql.insert_provider, [&](auto& p) {
      rows::BindProvider(p, provider, /*for_update=*/false);
    }));
  }
  for (const UserContainer& c : s.user_containers) {
    BERTH_RETURN_IF_ERROR(
        exec(sql.insert_user_container, [&](auto& p) { rows::BindUserContainerInsert(p, c); }));
  }
  for (const SystemContainer& c : s.system_containers) {
    BERTH_RETURN_IF_ERROR(exec(sql.insert_system_container, [&](auto& p) {
      rows::BindSystemContainer(p, c, /*for_update=*/false);
    }));
  }
  for (const UsageRow& u : s.usage) {
    BERTH_RETURN_IF_ERROR(exec(sql.insert_usage, [&](auto& p) { rows::BindUsage(p, u); }));
  }
  for (const LlmLimits& l : s.limits) {
    BERTH_RETURN_IF_ERROR(exec(sql.insert_limits, [&](auto& p) { rows::BindLimits(p, l); }));
  }
  for (const BudgetRow& b : s.budgets) {
    BERTH_RETURN_IF_ERROR(exec(sql.insert_budget, [&](auto& p) { rows::BindBudget(p, b); }));
  }
  for (const LlmRequestLogEntry& e : s.request_log) {
    BERTH_RETURN_IF_ERROR(exec(sql.insert_request_log, [&](auto& p) {
      rows::BindRequestLog(p, e);
      p.Bind(16, e.id);
    }));
  }
  if (sql.after_request_log != nullptr) {
    BERTH_RETURN_IF_ERROR(exec(sql.after_request_log, [](auto&) {}));
  }
  return exec(sql.set_instance_id, [&](auto& p) { p.Bind(1, s.instance_id); });
}

// The ten counts of a backend's count statement, column i read by `column(i)`.
TableCounts ReadCounts(const std::function<int64_t(int)>& column);

// kAlreadyExists unless `counts` (a database's tables before writing) are all zero.
Status ExpectEmpty(const TableCounts& counts);
// kDataLoss unless `counts` (after writing) equal the snapshot's.
Status ExpectWritten(const TableCounts& counts, const StoreSnapshot& s);

}  // namespace berth::store::snapshot
