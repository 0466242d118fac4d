// PostgresStore's LLM usage (store.hpp): per user, provider, model and day, added up in batches
// from every replica (an upsert adds; concurrent batches lock rows in key order); the users'
// limits and the budget windows that enforce them. A reservation's conditional UPDATE waits for
// another replica's on the same row and re-checks its condition on the row that one left
// (READ COMMITTED), so reservations from any number of replicas never overshoot together.
#include <algorithm>
#include <tuple>

#include "store/postgres_store.hpp"
#include "store/postgres_store_helpers.hpp"
#include "store/usage_rows.hpp"

namespace berth::store {
namespace {

using namespace postgres_helpers;  // NOLINT: this file's vocabulary

constexpr const char kAddUsage[] =
    "INSERT INTO llm_usage (user_id, provider, model, day, requests, input_tokens, "
    "output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, "
    "unpriced_requests) SELECT $1, $2, $3, $4, $5::bigint, $6::bigint, $7::bigint, $8::bigint, "
    "$9::bigint, $10::bigint, $11::bigint, $12::bigint "
    "WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) "
    "ON CONFLICT (user_id, day, provider, model) DO UPDATE SET "
    "requests = llm_usage.requests + EXCLUDED.requests, "
    "input_tokens = llm_usage.input_tokens + EXCLUDED.input_tokens, "
    "output_tokens = llm_usage.output_tokens + EXCLUDED.output_tokens, "
    "cache_read_tokens = llm_usage.cache_read_tokens + EXCLUDED.cache_read_tokens, "
    "cache_write_tokens = llm_usage.cache_write_tokens + EXCLUDED.cache_write_tokens, "
    "reasoning_tokens = llm_usage.reasoning_tokens + EXCLUDED.reasoning_tokens, "
    "cost_nano_usd = llm_usage.cost_nano_usd + EXCLUDED.cost_nano_usd, "
    "unpriced_requests = llm_usage.unpriced_requests + EXCLUDED.unpriced_requests";

constexpr const char kListUsage[] = "SELECT " BERTH_USAGE_COLUMNS
                                    " FROM llm_usage WHERE day >= $1 AND day <= $2 "
                                    "ORDER BY day, user_id, provider, model LIMIT $3::bigint";
constexpr const char kListUserUsage[] = "SELECT " BERTH_USAGE_COLUMNS
                                        " FROM llm_usage WHERE user_id = $4 AND day >= $1 AND "
                                        "day <= $2 ORDER BY day, provider, model LIMIT $3::bigint";

constexpr const char kSetLimits[] =
    "INSERT INTO llm_limits (user_id, nano_usd_per_day, nano_usd_per_month, tokens_per_day, "
    "tokens_per_month, requests_per_minute, tokens_per_minute, updated_at) "
    "SELECT $1, $2::bigint, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::bigint, "
    "$8::bigint WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) "
    "ON CONFLICT (user_id) DO UPDATE SET nano_usd_per_day = EXCLUDED.nano_usd_per_day, "
    "nano_usd_per_month = EXCLUDED.nano_usd_per_month, tokens_per_day = EXCLUDED.tokens_per_day, "
    "tokens_per_month = EXCLUDED.tokens_per_month, "
    "requests_per_minute = EXCLUDED.requests_per_minute, "
    "tokens_per_minute = EXCLUDED.tokens_per_minute, updated_at = EXCLUDED.updated_at";
constexpr const char kGetLimits[] =
    "SELECT user_id, nano_usd_per_day, nano_usd_per_month, tokens_per_day, tokens_per_month, "
    "requests_per_minute, tokens_per_minute, updated_at FROM llm_limits WHERE user_id = $1";
constexpr const char kOpenWindow[] =
    "INSERT INTO llm_budget (user_id, period, spent_nano_usd, spent_tokens, requests, "
    "reserved_nano_usd, reserved_tokens, expires_at) VALUES ($1, $2, 0, 0, 0, 0, 0, $3::bigint) "
    "ON CONFLICT (user_id, period) DO NOTHING";
constexpr const char kReserve[] =
    "UPDATE llm_budget SET reserved_nano_usd = reserved_nano_usd + $3::bigint, "
    "reserved_tokens = reserved_tokens + $4::bigint, requests = requests + $5::bigint "
    "WHERE user_id = $1 AND period = $2 "
    "AND ($6::bigint IS NULL OR spent_nano_usd + reserved_nano_usd + $3::bigint <= $6::bigint) "
    "AND ($7::bigint IS NULL OR spent_tokens + reserved_tokens + $4::bigint <= $7::bigint) "
    "AND ($8::bigint IS NULL OR requests + $5::bigint <= $8::bigint)";
constexpr const char kSettle[] =
    "UPDATE llm_budget SET reserved_nano_usd = GREATEST(0, reserved_nano_usd - $3::bigint), "
    "reserved_tokens = GREATEST(0, reserved_tokens - $4::bigint), "
    "spent_nano_usd = spent_nano_usd + $5::bigint, spent_tokens = spent_tokens + $6::bigint "
    "WHERE user_id = $1 AND period = $2";
constexpr const char kPruneBudgets[] = "DELETE FROM llm_budget WHERE expires_at < $1::bigint";

}  // namespace

Status PostgresStore::AddUsage(const std::vector<UsageRow>& rows) {
  if (rows.empty()) return Status::Ok();
  // In key order, so that two replicas' batches never wait on each other in a cycle.
  std::vector<const UsageRow*> ordered;
  ordered.reserve(rows.size());
  for (const UsageRow& row : rows) ordered.push_back(&row);
  std::sort(ordered.begin(), ordered.end(), [](const UsageRow* a, const UsageRow* b) {
    return std::tie(a->user_id, a->day, a->provider, a->model) <
           std::tie(b->user_id, b->day, b->provider, b->model);
  });
  const auto deadline = Deadline();
  return WithConnection(*pool_, deadline, [&](PgConnection& conn) -> Status {
    auto txn = PgTransaction::Begin(conn, deadline);
    if (!txn.ok()) return txn.status();
    for (const UsageRow* row : ordered) {
      PgParams p;
      rows::BindUsage(p, *row);
      BERTH_RETURN_IF_ERROR(conn.Execute(kAddUsage, p, deadline));
    }
    return txn->Commit();
  });
}

Result<std::vector<UsageRow>> PostgresStore::ListUsage(const UsageQuery& query) {
  return QueryAll(
      *pool_, Deadline(), query.user_id ? kListUserUsage : kListUsage,
      [&](PgParams& p) {
        p.Bind(1, query.from_day);
        p.Bind(2, query.to_day);
        p.Bind(3, static_cast<int64_t>(kMaxUsageRows));
        if (query.user_id) p.Bind(4, *query.user_id);
      },
      [](const PgRow& r) { return rows::ReadUsage(r); });
}

Status PostgresStore::SetLlmLimits(const LlmLimits& limits) {
  auto changed =
      Run(*pool_, Deadline(), kSetLimits, [&](PgParams& p) { rows::BindLimits(p, limits); });
  if (!changed.ok()) return changed.status();
  return changed->affected() == 0 ? NotFound("user not found") : Status::Ok();
}

Result<std::optional<LlmLimits>> PostgresStore::GetLlmLimits(const std::string& user_id) {
  auto found = QueryAll(
      *pool_, Deadline(), kGetLimits, [&](PgParams& p) { p.Bind(1, user_id); },
      [](const PgRow& r) { return rows::ReadLimits(r); });
  if (!found.ok()) return found.status();
  if (found->empty()) return std::optional<LlmLimits>();
  return std::optional<LlmLimits>(std::move(found->front()));
}

Result<std::optional<std::string>> PostgresStore::ReserveBudget(
    const std::string& user_id, const std::vector<BudgetWindow>& windows,
    const BudgetCharge& charge) {
  using Out = Result<std::optional<std::string>>;
  const auto deadline = Deadline();
  return WithConnection(*pool_, deadline, [&](PgConnection& conn) -> Out {
    auto txn = PgTransaction::Begin(conn, deadline);
    if (!txn.ok()) return txn.status();
    for (const BudgetWindow& window : windows) {
      PgParams open;
      open.Bind(1, user_id);
      open.Bind(2, window.period);
      open.Bind(3, window.expires_at_ms);
      auto opened = conn.Execute(kOpenWindow, open, deadline);
      if (!opened.ok()) return opened.status();
      PgParams p;
      rows::BindReservation(p, user_id, window, charge);
      auto reserved = conn.Execute(kReserve, p, deadline);
      if (!reserved.ok()) return reserved.status();
      // The transaction is dropped unfinished: nothing of this reservation stays.
      if (reserved->affected() == 0) return std::optional<std::string>(window.period);
    }
    BERTH_RETURN_IF_ERROR(txn->Commit());
    return std::optional<std::string>();
  });
}

Status PostgresStore::SettleBudget(const std::string& user_id,
                                   const std::vector<std::string>& periods,
                                   const BudgetCharge& reserved, const BudgetCharge& spent) {
  const auto deadline = Deadline();
  return WithConnection(*pool_, deadline, [&](PgConnection& conn) -> Status {
    auto txn = PgTransaction::Begin(conn, deadline);
    if (!txn.ok()) return txn.status();
    for (const std::string& period : periods) {
      PgParams p;
      rows::BindSettlement(p, user_id, period, reserved, spent);
      auto settled = conn.Execute(kSettle, p, deadline);
      if (!settled.ok()) return settled.status();
    }
    return txn->Commit();
  });
}

Status PostgresStore::PruneBudgets(int64_t now_ms) {
  auto pruned = Run(*pool_, Deadline(), kPruneBudgets, [&](PgParams& p) { p.Bind(1, now_ms); });
  return pruned.ok() ? Status::Ok() : pruned.status();
}

}  // namespace berth::store
