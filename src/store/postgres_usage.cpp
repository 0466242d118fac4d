// PostgresStore's LLM usage (store.hpp): per user, provider, model and day, added up in batches
// from every replica (an upsert adds; concurrent batches lock rows in key order).
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

#define BERTH_USAGE_COLUMNS                                                                   \
  "user_id, provider, model, day, requests, input_tokens, output_tokens, cache_read_tokens, " \
  "cache_write_tokens, reasoning_tokens, cost_nano_usd, unpriced_requests"
constexpr const char kListUsage[] = "SELECT " BERTH_USAGE_COLUMNS
                                    " FROM llm_usage WHERE day >= $1 AND day <= $2 "
                                    "ORDER BY day, user_id, provider, model LIMIT $3::bigint";
constexpr const char kListUserUsage[] = "SELECT " BERTH_USAGE_COLUMNS
                                        " FROM llm_usage WHERE user_id = $4 AND day >= $1 AND "
                                        "day <= $2 ORDER BY day, provider, model LIMIT $3::bigint";
#undef BERTH_USAGE_COLUMNS

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

}  // namespace berth::store
