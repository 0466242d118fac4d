// SqliteStore's log of recent LLM calls (store.hpp): inserted in batches, kept to the newest
// kRequestLogPerUser entries of each user.
#include <set>

#include "store/request_log_rows.hpp"
#include "store/sqlite_store.hpp"
#include "store/sqlite_store_helpers.hpp"
#include "store/sqlite_transaction.hpp"

namespace berth::store {
namespace {

using namespace sqlite_helpers;  // NOLINT: this file's vocabulary

// An entry of a user deleted meanwhile is dropped instead of failing the batch on the foreign key.
constexpr const char kInsert[] =
    "INSERT INTO llm_request_log (" BERTH_REQUEST_LOG_COLUMNS
    ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15 "
    "WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1)";
// Everything older than the user's newest ?2 entries (nothing while they have no more).
constexpr const char kTrim[] =
    "DELETE FROM llm_request_log WHERE user_id = ?1 AND id <= (SELECT id FROM llm_request_log "
    "WHERE user_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
constexpr const char kList[] =
    "SELECT " BERTH_REQUEST_LOG_COLUMNS ", id FROM llm_request_log ORDER BY id DESC LIMIT ?1";
constexpr const char kListUser[] = "SELECT " BERTH_REQUEST_LOG_COLUMNS
                                   ", id FROM llm_request_log WHERE user_id = ?2 "
                                   "ORDER BY id DESC LIMIT ?1";

}  // namespace

Status SqliteStore::AddRequestLog(const std::vector<LlmRequestLogEntry>& entries) {
  if (entries.empty()) return Status::Ok();
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Status {
    auto txn = SqliteTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    std::set<std::string> users;
    for (const LlmRequestLogEntry& entry : entries) {
      auto stmt = conn.Prepare(kInsert);  // cached: re-preparing is a lookup
      if (!stmt.ok()) return stmt.status();
      rows::BindRequestLog(*stmt, entry);
      BERTH_RETURN_IF_ERROR(stmt->Run());
      users.insert(entry.user_id);
    }
    for (const std::string& user : users) {
      auto trim = conn.Prepare(kTrim);
      if (!trim.ok()) return trim.status();
      trim->Bind(1, user);
      trim->Bind(2, static_cast<int64_t>(kRequestLogPerUser));
      BERTH_RETURN_IF_ERROR(trim->Run());
    }
    return txn->Commit();
  });
}

Result<std::vector<LlmRequestLogEntry>> SqliteStore::ListRequestLog(
    const std::optional<std::string>& user_id, std::size_t limit) {
  const auto capped = static_cast<int64_t>(std::min(limit, kRequestLogPerUser));
  return QueryAll(
      *pool_, user_id ? kListUser : kList,
      [&](SqliteStatement& s) {
        s.Bind(1, capped);
        if (user_id) s.Bind(2, *user_id);
      },
      [](const SqliteStatement& s) { return rows::ReadRequestLog(s); });
}

}  // namespace berth::store
