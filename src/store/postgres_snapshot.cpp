// PostgresStore as a SnapshotStore: whole-database reads and writes for `berth db copy`.
#include "store/postgres_queries.hpp"
#include "store/postgres_store.hpp"
#include "store/postgres_store_helpers.hpp"
#include "store/snapshot_rows.hpp"

namespace berth::store {
namespace {

namespace q = postgres_queries;
using namespace postgres_helpers;  // NOLINT: this file's vocabulary

// The LLM tables, copied as they are (snapshot_rows.hpp).
constexpr const char kInsertUsage[] =
    "INSERT INTO llm_usage (" BERTH_USAGE_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $7::bigint, $8::bigint, $9::bigint, "
    "$10::bigint, $11::bigint, $12::bigint)";
constexpr const char kInsertLimits[] = "INSERT INTO llm_limits (" BERTH_LIMITS_COLUMNS
                                       ") VALUES ($1, $2::bigint, $3::bigint, $4::bigint, "
                                       "$5::bigint, $6::bigint, $7::bigint, $8::bigint)";
constexpr const char kInsertBudget[] =
    "INSERT INTO llm_budget (" BERTH_BUDGET_COLUMNS
    ") VALUES ($1, $2, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::bigint)";
constexpr const char kInsertRequestLog[] =
    "INSERT INTO llm_request_log (" BERTH_REQUEST_LOG_COLUMNS
    ", id) VALUES ($1, $2::bigint, $3, $4, $5, $6::bigint, $7, $8::bigint, $9::bigint, "
    "$10::bigint, $11::bigint, $12::bigint, $13::bigint, $14::bigint, $15::bigint, $16::bigint)";

// Inserts with explicit ids leave the identity's sequence behind: set it past them.
constexpr const char kAfterRequestLog[] =
    "SELECT setval(pg_get_serial_sequence('llm_request_log', 'id'), "
    "COALESCE(MAX(id), 0) + 1, false) FROM llm_request_log";

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
    .after_request_log = kAfterRequestLog,
};

Result<TableCounts> CountRows(PgConnection& conn, PgDeadline deadline) {
  auto counted = conn.Execute(q::kCountRows, PgParams(), deadline);
  if (!counted.ok()) return counted.status();
  const PgRow row = counted->row(0);
  return snapshot::ReadCounts([&](int i) { return row.Int64(i); });
}

// A whole copy may take longer than one call's budget.
constexpr std::chrono::minutes kSnapshotTimeout{30};

}  // namespace

Result<StoreSnapshot> PostgresStore::ReadSnapshot() {
  const auto deadline = std::chrono::steady_clock::now() + kSnapshotTimeout;
  return WithConnection(*pool_, deadline, [&](PgConnection& conn) -> Result<StoreSnapshot> {
    auto txn = PgTransaction::Begin(conn, deadline, q::kBeginSnapshot);
    if (!txn.ok()) return txn.status();
    BERTH_RETURN_IF_ERROR(conn.ExecuteOnce("SET LOCAL statement_timeout = 0", deadline));
    auto read = snapshot::Read(kStatements, [&](const char* sql, auto&& reader) {
      auto result = conn.Execute(sql, PgParams(), deadline);
      using Rows = decltype(ReadRows(*result, reader));
      if (!result.ok()) return Rows(result.status());
      return ReadRows(*result, reader);
    });
    if (!read.ok()) return read.status();
    BERTH_RETURN_IF_ERROR(txn->Commit());
    return read;
  });
}

Status PostgresStore::WriteSnapshot(const StoreSnapshot& s, bool replace) {
  const auto deadline = std::chrono::steady_clock::now() + kSnapshotTimeout;
  return WithConnection(*pool_, deadline, [&](PgConnection& conn) -> Status {
    auto txn = PgTransaction::Begin(conn, deadline);
    if (!txn.ok()) return txn.status();
    // Waiting for the table locks (behind a running berth's writes) is bounded by the usual
    // statement timeout; only the copy itself may take longer.
    BERTH_RETURN_IF_ERROR(conn.ExecuteOnce(q::kLockContainerTables, deadline));
    BERTH_RETURN_IF_ERROR(conn.ExecuteOnce(q::kBulkCopyOn, deadline));
    BERTH_RETURN_IF_ERROR(conn.ExecuteOnce("SET LOCAL statement_timeout = 0", deadline));
    if (replace) {
      BERTH_RETURN_IF_ERROR(conn.ExecScript(q::kDeleteEverything, deadline));
    } else {
      auto before = CountRows(conn, deadline);
      if (!before.ok()) return before.status();
      BERTH_RETURN_IF_ERROR(snapshot::ExpectEmpty(*before));
    }
    BERTH_RETURN_IF_ERROR(snapshot::Insert(kStatements, s, [&](const char* sql, auto&& bind) {
      PgParams params;
      bind(params);
      auto done = conn.Execute(sql, params, deadline);
      return done.ok() ? Status::Ok() : done.status();
    }));
    auto after = CountRows(conn, deadline);
    if (!after.ok()) return after.status();
    BERTH_RETURN_IF_ERROR(snapshot::ExpectWritten(*after, s));
    return txn->Commit();
  });
}

}  // namespace berth::store
