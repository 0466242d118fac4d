#pragma once

#include "store/records.hpp"

// UsageRow <-> row mapping shared by the SQL backends, as record_rows.hpp's. Private to the
// store module.
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

}  // namespace berth::store::rows
