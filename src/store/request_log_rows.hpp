#pragma once

#include <cstdint>

#include "store/records.hpp"

// LlmRequestLogEntry <-> row mapping shared by the SQL backends, as record_rows.hpp's. Private to
// the store module.
namespace berth::store::rows {

// The columns, in the order of BindRequestLog's parameters 1..15; ReadRequestLog reads them and
// then the id.
#define BERTH_REQUEST_LOG_COLUMNS                                                        \
  "user_id, at_ms, provider, model, api, status, outcome, input_tokens, output_tokens, " \
  "cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, priced, duration_ms"

template <typename Params>
void BindRequestLog(Params& p, const LlmRequestLogEntry& e) {
  p.Bind(1, e.user_id);
  p.Bind(2, e.at_ms);
  p.Bind(3, e.provider);
  p.Bind(4, e.model);
  p.Bind(5, e.api);
  p.Bind(6, static_cast<int64_t>(e.status));
  p.Bind(7, e.outcome);
  p.Bind(8, e.input_tokens);
  p.Bind(9, e.output_tokens);
  p.Bind(10, e.cache_read_tokens);
  p.Bind(11, e.cache_write_tokens);
  p.Bind(12, e.reasoning_tokens);
  p.Bind(13, e.cost_nano_usd);
  p.Bind(14, static_cast<int64_t>(e.priced ? 1 : 0));
  p.Bind(15, e.duration_ms);
}

template <typename Row>
LlmRequestLogEntry ReadRequestLog(const Row& r) {
  LlmRequestLogEntry e;
  e.user_id = r.Text(0);
  e.at_ms = r.Int64(1);
  e.provider = r.Text(2);
  e.model = r.Text(3);
  e.api = r.Text(4);
  e.status = static_cast<int>(r.Int64(5));
  e.outcome = r.Text(6);
  e.input_tokens = r.Int64(7);
  e.output_tokens = r.Int64(8);
  e.cache_read_tokens = r.Int64(9);
  e.cache_write_tokens = r.Int64(10);
  e.reasoning_tokens = r.Int64(11);
  e.cost_nano_usd = r.Int64(12);
  e.priced = r.Int64(13) != 0;
  e.duration_ms = r.Int64(14);
  e.id = r.Int64(15);
  return e;
}

// Parameters 1..8 in BudgetRow's order; ReadBudget reads the columns in the same order.
#define BERTH_BUDGET_COLUMNS                                                     \
  "user_id, period, spent_nano_usd, spent_tokens, requests, reserved_nano_usd, " \
  "reserved_tokens, expires_at"

template <typename Params>
void BindBudget(Params& p, const BudgetRow& b) {
  p.Bind(1, b.user_id);
  p.Bind(2, b.period);
  p.Bind(3, b.spent_nano_usd);
  p.Bind(4, b.spent_tokens);
  p.Bind(5, b.requests);
  p.Bind(6, b.reserved_nano_usd);
  p.Bind(7, b.reserved_tokens);
  p.Bind(8, b.expires_at_ms);
}

template <typename Row>
BudgetRow ReadBudget(const Row& r) {
  BudgetRow b;
  b.user_id = r.Text(0);
  b.period = r.Text(1);
  b.spent_nano_usd = r.Int64(2);
  b.spent_tokens = r.Int64(3);
  b.requests = r.Int64(4);
  b.reserved_nano_usd = r.Int64(5);
  b.reserved_tokens = r.Int64(6);
  b.expires_at_ms = r.Int64(7);
  return b;
}

}  // namespace berth::store::rows
