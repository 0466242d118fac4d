// SqliteStore's LLM usage (store.hpp): per user, provider, model and day, added up in batches.
#include "store/sqlite_store.hpp"
#include "store/sqlite_store_helpers.hpp"
#include "store/sqlite_transaction.hpp"
#include "store/usage_rows.hpp"

namespace berth::store {
namespace {

using namespace sqlite_helpers;  // NOLINT: this file's vocabulary

// The user's existence is checked in the statement: usage of a user deleted meanwhile is dropped
// instead of failing the whole batch on the foreign key.
constexpr const char kAddUsage[] =
    "INSERT INTO llm_usage (user_id, provider, model, day, requests, input_tokens, "
    "output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, "
    "unpriced_requests) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 "
    "WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1) "
    "ON CONFLICT (user_id, day, provider, model) DO UPDATE SET "
    "requests = requests + excluded.requests, input_tokens = input_tokens + excluded.input_tokens, "
    "output_tokens = output_tokens + excluded.output_tokens, "
    "cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, "
    "cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, "
    "reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, "
    "cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, "
    "unpriced_requests = unpriced_requests + excluded.unpriced_requests";

#define BERTH_USAGE_COLUMNS                                                                   \
  "user_id, provider, model, day, requests, input_tokens, output_tokens, cache_read_tokens, " \
  "cache_write_tokens, reasoning_tokens, cost_nano_usd, unpriced_requests"
constexpr const char kListUsage[] = "SELECT " BERTH_USAGE_COLUMNS
                                    " FROM llm_usage WHERE day >= ?1 AND day <= ?2 "
                                    "ORDER BY day, user_id, provider, model LIMIT ?3";
constexpr const char kListUserUsage[] = "SELECT " BERTH_USAGE_COLUMNS
                                        " FROM llm_usage WHERE user_id = ?4 AND day >= ?1 AND "
                                        "day <= ?2 ORDER BY day, provider, model LIMIT ?3";
#undef BERTH_USAGE_COLUMNS

}  // namespace

Status SqliteStore::AddUsage(const std::vector<UsageRow>& rows) {
  if (rows.empty()) return Status::Ok();
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Status {
    auto txn = SqliteTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    for (const UsageRow& row : rows) {
      auto stmt = conn.Prepare(kAddUsage);  // cached: re-preparing is a lookup
      if (!stmt.ok()) return stmt.status();
      rows::BindUsage(*stmt, row);
      BERTH_RETURN_IF_ERROR(stmt->Run());
    }
    return txn->Commit();
  });
}

Result<std::vector<UsageRow>> SqliteStore::ListUsage(const UsageQuery& query) {
  return QueryAll(
      *pool_, query.user_id ? kListUserUsage : kListUsage,
      [&](SqliteStatement& s) {
        s.Bind(1, query.from_day);
        s.Bind(2, query.to_day);
        s.Bind(3, static_cast<int64_t>(kMaxUsageRows));
        if (query.user_id) s.Bind(4, *query.user_id);
      },
      [](const SqliteStatement& s) { return rows::ReadUsage(s); });
}

}  // namespace berth::store
