// SqliteStore's LLM usage (store.hpp): per user, provider, model and day, added up in batches;
// the users' limits and the budget windows that enforce them.
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

constexpr const char kListUsage[] = "SELECT " BERTH_USAGE_COLUMNS
                                    " FROM llm_usage WHERE day >= ?1 AND day <= ?2 "
                                    "ORDER BY day, user_id, provider, model LIMIT ?3";
constexpr const char kListUserUsage[] = "SELECT " BERTH_USAGE_COLUMNS
                                        " FROM llm_usage WHERE user_id = ?4 AND day >= ?1 AND "
                                        "day <= ?2 ORDER BY day, provider, model LIMIT ?3";

constexpr const char kSetLimits[] =
    "INSERT INTO llm_limits (user_id, nano_usd_per_day, nano_usd_per_month, tokens_per_day, "
    "tokens_per_month, requests_per_minute, tokens_per_minute, updated_at) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1) "
    "ON CONFLICT (user_id) DO UPDATE SET nano_usd_per_day = excluded.nano_usd_per_day, "
    "nano_usd_per_month = excluded.nano_usd_per_month, tokens_per_day = excluded.tokens_per_day, "
    "tokens_per_month = excluded.tokens_per_month, "
    "requests_per_minute = excluded.requests_per_minute, "
    "tokens_per_minute = excluded.tokens_per_minute, updated_at = excluded.updated_at";
constexpr const char kGetLimits[] =
    "SELECT user_id, nano_usd_per_day, nano_usd_per_month, tokens_per_day, tokens_per_month, "
    "requests_per_minute, tokens_per_minute, updated_at FROM llm_limits WHERE user_id = ?1";
constexpr const char kOpenWindow[] =
    "INSERT INTO llm_budget (user_id, period, spent_nano_usd, spent_tokens, requests, "
    "reserved_nano_usd, reserved_tokens, expires_at) VALUES (?1, ?2, 0, 0, 0, 0, 0, ?3) "
    "ON CONFLICT (user_id, period) DO NOTHING";
constexpr const char kReserve[] =
    "UPDATE llm_budget SET reserved_nano_usd = reserved_nano_usd + ?3, "
    "reserved_tokens = reserved_tokens + ?4, requests = requests + ?5 "
    "WHERE user_id = ?1 AND period = ?2 "
    "AND (?6 IS NULL OR spent_nano_usd + reserved_nano_usd + ?3 <= ?6) "
    "AND (?7 IS NULL OR spent_tokens + reserved_tokens + ?4 <= ?7) "
    "AND (?8 IS NULL OR requests + ?5 <= ?8)";
constexpr const char kSettle[] =
    "UPDATE llm_budget SET reserved_nano_usd = MAX(0, reserved_nano_usd - ?3), "
    "reserved_tokens = MAX(0, reserved_tokens - ?4), spent_nano_usd = spent_nano_usd + ?5, "
    "spent_tokens = spent_tokens + ?6 WHERE user_id = ?1 AND period = ?2";
constexpr const char kPruneBudgets[] = "DELETE FROM llm_budget WHERE expires_at < ?1";

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

Status SqliteStore::SetLlmLimits(const LlmLimits& limits) {
  auto changed =
      Write(*pool_, kSetLimits, [&](SqliteStatement& s) { rows::BindLimits(s, limits); });
  if (!changed.ok()) return changed.status();
  return *changed == 0 ? NotFound("user not found") : Status::Ok();
}

Result<std::optional<LlmLimits>> SqliteStore::GetLlmLimits(const std::string& user_id) {
  auto found = QueryAll(
      *pool_, kGetLimits, [&](SqliteStatement& s) { s.Bind(1, user_id); },
      [](const SqliteStatement& s) { return rows::ReadLimits(s); });
  if (!found.ok()) return found.status();
  if (found->empty()) return std::optional<LlmLimits>();
  return std::optional<LlmLimits>(std::move(found->front()));
}

Result<std::optional<std::string>> SqliteStore::ReserveBudget(
    const std::string& user_id, const std::vector<BudgetWindow>& windows,
    const BudgetCharge& charge) {
  using Out = Result<std::optional<std::string>>;
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Out {
    auto txn = SqliteTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    for (const BudgetWindow& window : windows) {
      auto open = conn.Prepare(kOpenWindow);
      if (!open.ok()) return open.status();
      open->Bind(1, user_id);
      open->Bind(2, window.period);
      open->Bind(3, window.expires_at_ms);
      BERTH_RETURN_IF_ERROR(open->Run());
      auto reserve = conn.Prepare(kReserve);
      if (!reserve.ok()) return reserve.status();
      rows::BindReservation(*reserve, user_id, window, charge);
      BERTH_RETURN_IF_ERROR(reserve->Run());
      // The transaction is dropped unfinished: nothing of this reservation stays.
      if (conn.Changes() == 0) return std::optional<std::string>(window.period);
    }
    BERTH_RETURN_IF_ERROR(txn->Commit());
    return std::optional<std::string>();
  });
}

Status SqliteStore::SettleBudget(const std::string& user_id,
                                 const std::vector<std::string>& periods,
                                 const BudgetCharge& reserved, const BudgetCharge& spent) {
  return WithConnection(*pool_, [&](SqliteConnection& conn) -> Status {
    auto txn = SqliteTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    for (const std::string& period : periods) {
      auto stmt = conn.Prepare(kSettle);
      if (!stmt.ok()) return stmt.status();
      rows::BindSettlement(*stmt, user_id, period, reserved, spent);
      BERTH_RETURN_IF_ERROR(stmt->Run());
    }
    return txn->Commit();
  });
}

Status SqliteStore::PruneBudgets(int64_t now_ms) {
  auto pruned = Write(*pool_, kPruneBudgets, [&](SqliteStatement& s) { s.Bind(1, now_ms); });
  return pruned.ok() ? Status::Ok() : pruned.status();
}

}  // namespace berth::store
