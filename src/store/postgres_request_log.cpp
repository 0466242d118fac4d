// PostgresStore's log of recent LLM calls (store.hpp): inserted in batches from every replica,
// kept to the newest kRequestLogPerUser entries of each user (trimmed in user order, so that two
// replicas' batches never wait on each other in a cycle).
#include <set>

#include "store/postgres_store.hpp"
#include "store/postgres_store_helpers.hpp"
#include "store/request_log_rows.hpp"

namespace berth::store {
namespace {

using namespace postgres_helpers;  // NOLINT: this file's vocabulary

// An entry of a user deleted meanwhile is dropped instead of failing the batch on the foreign key.
constexpr const char kInsert[] =
    "INSERT INTO llm_request_log (" BERTH_REQUEST_LOG_COLUMNS
    ") SELECT $1, $2::bigint, $3, $4, $5, $6::bigint, $7, $8::bigint, $9::bigint, $10::bigint, "
    "$11::bigint, $12::bigint, $13::bigint, $14::bigint, $15::bigint "
    "WHERE EXISTS (SELECT 1 FROM users WHERE id = $1)";
// Everything older than the user's newest $2 entries (nothing while they have fewer).
constexpr const char kTrim[] =
    "DELETE FROM llm_request_log WHERE user_id = $1 AND id <= (SELECT id FROM llm_request_log "
    "WHERE user_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2::bigint)";
constexpr const char kList[] = "SELECT " BERTH_REQUEST_LOG_COLUMNS
                               ", id FROM llm_request_log ORDER BY id DESC LIMIT $1::bigint";
constexpr const char kListUser[] = "SELECT " BERTH_REQUEST_LOG_COLUMNS
                                   ", id FROM llm_request_log WHERE user_id = $2 "
                                   "ORDER BY id DESC LIMIT $1::bigint";

}  // namespace

Status PostgresStore::AddRequestLog(const std::vector<LlmRequestLogEntry>& entries) {
  if (entries.empty()) return Status::Ok();
  const auto deadline = Deadline();
  return WithConnection(*pool_, deadline, [&](PgConnection& conn) -> Status {
    auto txn = PgTransaction::Begin(conn, deadline);
    if (!txn.ok()) return txn.status();
    std::set<std::string> users;
    for (const LlmRequestLogEntry& entry : entries) {
      PgParams p;
      rows::BindRequestLog(p, entry);
      BERTH_RETURN_IF_ERROR(conn.Execute(kInsert, p, deadline));
      users.insert(entry.user_id);
    }
    for (const std::string& user : users) {
      PgParams p;
      p.Bind(1, user);
      p.Bind(2, static_cast<int64_t>(kRequestLogPerUser));
      BERTH_RETURN_IF_ERROR(conn.Execute(kTrim, p, deadline));
    }
    return txn->Commit();
  });
}

Result<std::vector<LlmRequestLogEntry>> PostgresStore::ListRequestLog(
    const std::optional<std::string>& user_id, std::size_t limit) {
  const auto capped = static_cast<int64_t>(std::min(limit, kRequestLogPerUser));
  return QueryAll(
      *pool_, Deadline(), user_id ? kListUser : kList,
      [&](PgParams& p) {
        p.Bind(1, capped);
        if (user_id) p.Bind(2, *user_id);
      },
      [](const PgRow& r) { return rows::ReadRequestLog(r); });
}

}  // namespace berth::store
