// SqliteStore as a SnapshotStore: whole-database reads and writes for `berth db copy`.
#include "store/snapshot_rows.hpp"
#include "store/sqlite_queries.hpp"
#include "store/sqlite_store.hpp"
#include "store/sqlite_store_helpers.hpp"
#include "store/sqlite_transaction.hpp"

namespace berth::store {
namespace {

namespace q = sqlite_queries;
using namespace sqlite_helpers;  // NOLINT: this file's vocabulary

// The LLM tables, copied as they are (snapshot_rows.hpp).
constexpr const char kInsertUsage[] =
    "INSERT INTO llm_usage (" BERTH_USAGE_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
constexpr const char kInsertLimits[] =
    "INSERT INTO llm_limits (" BERTH_LIMITS_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char kInsertBudget[] =
    "INSERT INTO llm_budget (" BERTH_BUDGET_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char kInsertRequestLog[] =
    "INSERT INTO llm_request_log (" BERTH_REQUEST_LOG_COLUMNS
    ", id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

constexpr snapshot::Statements kStatements = {
    .instance_id = q::kSelectInstanceId,
    .all_users = q::kListUsers,
    .all_api_tokens = q::kAllApiTokens,
    .all_providers = q::kAllProviders,
    .all_agent_configs = q::kAllAgentConfigs,
    .all_user_containers = q::kListUserContainers,
    .all_system_containers = q::kListSystemContainers,
    .insert_user = q::kInsertUser,
    .insert_api_token = q::kCopyApiToken,
    .insert_provider = q::kInsertProvider,
    .insert_agent_config = q::kUpsertAgentConfig,
    .insert_user_container = q::kInsertUserContainer,
    .insert_system_container = q::kInsertSystemContainer,
    .set_instance_id = q::kSetInstanceId,
    .insert_usage = kInsertUsage,
    .insert_limits = kInsertLimits,
    .insert_budget = kInsertBudget,
    .insert_request_log = kInsertRequestLog,
    .after_request_log = nullptr,
};

constexpr auto kNoBind = [](SqliteStatement&) {};

Result<TableCounts> CountRows(SqliteConnection& conn) {
  auto counted = CollectAll(conn, q::kCountRows, kNoBind, [](const SqliteStatement& s) {
    return snapshot::ReadCounts([&](int i) { return s.Int64(i); });
  });
  if (!counted.ok()) return counted.status();
  return counted->front();
}

}  // namespace

Result<StoreSnapshot> SqliteStore::ReadSnapshot() {
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Result<StoreSnapshot> {
    // A deferred transaction holds one read snapshot (WAL) for every statement in it; it never
    // writes, so "committing" it only ends the snapshot.
    BERTH_RETURN_IF_ERROR(conn.Exec(q::kBeginRead));
    auto read = snapshot::Read(kStatements, [&](const char* sql, auto&& reader) {
      return CollectAll(conn, sql, kNoBind, reader);
    });
    Status end = conn.Exec(q::kCommit);
    if (!read.ok()) return read.status();
    if (!end.ok()) return end;
    return read;
  });
}

Status SqliteStore::WriteSnapshot(const StoreSnapshot& s, bool replace) {
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Status {
    auto txn = SqliteTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    if (replace) {
      BERTH_RETURN_IF_ERROR(conn.ExecScript(q::kDeleteEverything));
    } else {
      auto before = CountRows(conn);
      if (!before.ok()) return before.status();
      BERTH_RETURN_IF_ERROR(snapshot::ExpectEmpty(*before));
    }
    BERTH_RETURN_IF_ERROR(snapshot::Insert(kStatements, s, [&](const char* sql, auto&& bind) {
      auto stmt = conn.Prepare(sql);
      if (!stmt.ok()) return stmt.status();
      bind(*stmt);
      return stmt->Run();
    }));
    auto after = CountRows(conn);
    if (!after.ok()) return after.status();
    BERTH_RETURN_IF_ERROR(snapshot::ExpectWritten(*after, s));
    return txn->Commit();
  });
}

}  // namespace berth::store
