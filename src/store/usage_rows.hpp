#pragma once

#include "store/records.hpp"

// UsageRow <-> row mapping shared by the SQL backends, as record_rows.hpp's. Private to the
// store module.
// The columns of llm_usage and llm_limits, in the order of BindUsage's and BindLimits' parameters.
#define BERTH_USAGE_COLUMNS                                                                   \
  "user_id, provider, model, day, requests, input_tokens, output_tokens, cache_read_tokens, " \
  "cache_write_tokens, reasoning_tokens, cost_nano_usd, unpriced_requests"
#define BERTH_LIMITS_COLUMNS                                                          \
  "user_id, nano_usd_per_day, nano_usd_per_month, tokens_per_day, tokens_per_month, " \
  "requests_per_minute, tokens_per_minute, updated_at"

namespace berth::store::rows {

// Parameters 1..12: user_id, provider, model, day, then the counts in UsageRow's order.
template <typename Params>
void BindUsage(Params& p, const UsageRow& u) {
  p.Bind(1, u.user_id);
  p.Bind(2, u.provider);
  p.Bind(3, u.model);
  p.Bind(4, u.day);
  p.Bind(5, u.requests);
  p.Bind(6, u.input_tokens);
  p.Bind(7, u.output_tokens);
  p.Bind(8, u.cache_read_tokens);
  p.Bind(9, u.cache_write_tokens);
  p.Bind(10, u.reasoning_tokens);
  p.Bind(11, u.cost_nano_usd);
  p.Bind(12, u.unpriced_requests);
}

// Columns in the same order as BindUsage's parameters.
template <typename Row>
UsageRow ReadUsage(const Row& r) {
  UsageRow u;
  u.user_id = r.Text(0);
  u.provider = r.Text(1);
  u.model = r.Text(2);
  u.day = r.Text(3);
  u.requests = r.Int64(4);
  u.input_tokens = r.Int64(5);
  u.output_tokens = r.Int64(6);
  u.cache_read_tokens = r.Int64(7);
  u.cache_write_tokens = r.Int64(8);
  u.reasoning_tokens = r.Int64(9);
  u.cost_nano_usd = r.Int64(10);
  u.unpriced_requests = r.Int64(11);
  return u;
}

// Parameters 1..8: user_id, the six limits in LlmLimits' order, updated_at.
template <typename Params>
void BindLimits(Params& p, const LlmLimits& l) {
  p.Bind(1, l.user_id);
  p.Bind(2, l.nano_usd_per_day);
  p.Bind(3, l.nano_usd_per_month);
  p.Bind(4, l.tokens_per_day);
  p.Bind(5, l.tokens_per_month);
  p.Bind(6, l.requests_per_minute);
  p.Bind(7, l.tokens_per_minute);
  p.Bind(8, l.updated_at);
}

// Columns in the same order as BindLimits' parameters.
template <typename Row>
LlmLimits ReadLimits(const Row& r) {
  LlmLimits l;
  l.user_id = r.Text(0);
  l.nano_usd_per_day = r.OptionalInt64(1);
  l.nano_usd_per_month = r.OptionalInt64(2);
  l.tokens_per_day = r.OptionalInt64(3);
  l.tokens_per_month = r.OptionalInt64(4);
  l.requests_per_minute = r.OptionalInt64(5);
  l.tokens_per_minute = r.OptionalInt64(6);
  l.updated_at = r.Int64(7);
  return l;
}

// ReserveBudget's window update: 1 user_id, 2 period, 3..5 the charge (nano-USD, tokens,
// requests), 6..8 the maxima (NULL: none).
template <typename Params>
void BindReservation(Params& p, const std::string& user_id, const BudgetWindow& w,
                     const BudgetCharge& c) {
  p.Bind(1, user_id);
  p.Bind(2, w.period);
  p.Bind(3, c.nano_usd);
  p.Bind(4, c.tokens);
  p.Bind(5, c.requests);
  p.Bind(6, w.max_nano_usd);
  p.Bind(7, w.max_tokens);
  p.Bind(8, w.max_requests);
}

// SettleBudget's update: 1 user_id, 2 period, 3..4 reserved back, 5..6 spent.
template <typename Params>
void BindSettlement(Params& p, const std::string& user_id, const std::string& period,
                    const BudgetCharge& reserved, const BudgetCharge& spent) {
  p.Bind(1, user_id);
  p.Bind(2, period);
  p.Bind(3, reserved.nano_usd);
  p.Bind(4, reserved.tokens);
  p.Bind(5, spent.nano_usd);
  p.Bind(6, spent.tokens);
}

}  // namespace berth::store::rows
