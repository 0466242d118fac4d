#pragma once

#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "store/postgres_connection.hpp"
#include "store/postgres_pool.hpp"
#include "store/record_rows.hpp"

// Statement plumbing of PostgresStore (postgres_store.cpp, postgres_snapshot.cpp). Private to
// the store module.
namespace berth::store::postgres_helpers {

// The shared row readers (record_rows.hpp), as callables over a result row.
inline constexpr auto ReadUser = [](const PgRow& r) { return rows::ReadUser(r); };
inline constexpr auto ReadApiToken = [](const PgRow& r) { return rows::ReadApiToken(r); };
inline constexpr auto ReadProvider = [](const PgRow& r) { return rows::ReadProvider(r); };
inline constexpr auto ReadAgentConfig = [](const PgRow& r) { return rows::ReadAgentConfig(r); };
inline constexpr auto ReadUserContainer = [](const PgRow& r) { return rows::ReadUserContainer(r); };
inline constexpr auto ReadSystemContainer = [](const PgRow& r) {
  return rows::ReadSystemContainer(r);
};

template <typename Read>
using RowOf = rows::RowOf<Read, PgRow>;

// Runs `f(connection)` on a pooled connection, waiting for one until `deadline`.
template <typename F>
auto WithConnection(PgPool& pool, PgDeadline deadline, F&& f)
    -> std::invoke_result_t<F, PgConnection&> {
  auto lease = pool.Acquire(deadline);
  if (!lease.ok()) return lease.status();
  return std::forward<F>(f)(**lease);
}

// Runs one statement whose parameters `bind(PgParams&)` sets, on a pooled connection.
template <typename Bind>
Result<PgResult> Run(PgPool& pool, PgDeadline deadline, const char* sql, Bind&& bind) {
  return WithConnection(pool, deadline, [&](PgConnection& conn) {
    PgParams params;
    bind(params);
    return conn.Execute(sql, params, deadline);
  });
}

// Every row of `result`, read with `read`.
template <typename Read>
Result<std::vector<RowOf<Read>>> ReadRows(const PgResult& result, Read&& read) {
  std::vector<RowOf<Read>> rows;
  rows.reserve(static_cast<std::size_t>(result.rows()));
  for (int i = 0; i < result.rows(); ++i) {
    if constexpr (std::is_same_v<RowOf<Read>, std::invoke_result_t<Read, const PgRow&>>) {
      rows.push_back(read(result.row(i)));
    } else {
      auto value = read(result.row(i));
      if (!value.ok()) return value.status();
      rows.push_back(std::move(*value));
    }
  }
  return rows;
}

// The single row `sql` selects, or kNotFound(not_found).
template <typename Bind, typename Read>
Result<RowOf<Read>> QueryOne(PgPool& pool, PgDeadline deadline, const char* sql, Bind&& bind,
                             Read&& read, const char* not_found) {
  auto result = Run(pool, deadline, sql, std::forward<Bind>(bind));
  if (!result.ok()) return result.status();
  if (result->rows() == 0) return NotFound(not_found);
  return read(result->row(0));
}

// Every row `sql` selects, in its order.
template <typename Bind, typename Read>
Result<std::vector<RowOf<Read>>> QueryAll(PgPool& pool, PgDeadline deadline, const char* sql,
                                          Bind&& bind, Read&& read) {
  auto result = Run(pool, deadline, sql, std::forward<Bind>(bind));
  if (!result.ok()) return result.status();
  return ReadRows(*result, std::forward<Read>(read));
}

}  // namespace berth::store::postgres_helpers
