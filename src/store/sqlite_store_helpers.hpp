#pragma once

#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "store/record_rows.hpp"
#include "store/sqlite_connection.hpp"
#include "store/sqlite_pool.hpp"
#include "store/sqlite_statement.hpp"

// Statement plumbing of SqliteStore (sqlite_store.cpp, sqlite_snapshot.cpp). Private to the
// store module.
namespace berth::store::sqlite_helpers {

// The shared row readers (record_rows.hpp), as callables over a stepped statement.
inline constexpr auto ReadUser = [](const SqliteStatement& s) { return rows::ReadUser(s); };
inline constexpr auto ReadApiToken = [](const SqliteStatement& s) { return rows::ReadApiToken(s); };
inline constexpr auto ReadProvider = [](const SqliteStatement& s) { return rows::ReadProvider(s); };
inline constexpr auto ReadAgentConfig = [](const SqliteStatement& s) {
  return rows::ReadAgentConfig(s);
};
inline constexpr auto ReadUserContainer = [](const SqliteStatement& s) {
  return rows::ReadUserContainer(s);
};
inline constexpr auto ReadSystemContainer = [](const SqliteStatement& s) {
  return rows::ReadSystemContainer(s);
};

template <typename Read>
using RowOf = rows::RowOf<Read, SqliteStatement>;

// Runs `f(connection)` on a pooled connection.
template <typename F>
auto WithConnection(SqlitePool& pool, F&& f) -> std::invoke_result_t<F, SqliteConnection&> {
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  return std::forward<F>(f)(**lease);
}

// The single row `sql` selects, or kNotFound(not_found).
template <typename Bind, typename Read>
Result<RowOf<Read>> QueryOne(SqlitePool& pool, std::string_view sql, Bind&& bind, Read&& read,
                             const char* not_found) {
  return WithConnection(pool, [&](SqliteConnection& conn) -> Result<RowOf<Read>> {
    auto stmt = conn.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    bind(*stmt);
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound(not_found);
    return read(*stmt);
  });
}

// Every row `sql` selects on `conn`, in its order (inside the caller's transaction, if any).
template <typename Bind, typename Read>
Result<std::vector<RowOf<Read>>> CollectAll(SqliteConnection& conn, std::string_view sql,
                                            Bind&& bind, Read&& read) {
  auto stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  bind(*stmt);
  std::vector<RowOf<Read>> rows;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return rows;
    if constexpr (std::is_same_v<RowOf<Read>, std::invoke_result_t<Read, const SqliteStatement&>>) {
      rows.push_back(read(*stmt));
    } else {
      auto value = read(*stmt);
      if (!value.ok()) return value.status();
      rows.push_back(std::move(*value));
    }
  }
}

// Every row `sql` selects, in its order.
template <typename Bind, typename Read>
Result<std::vector<RowOf<Read>>> QueryAll(SqlitePool& pool, std::string_view sql, Bind&& bind,
                                          Read&& read) {
  return WithConnection(pool, [&](SqliteConnection& conn) {
    return CollectAll(conn, sql, std::forward<Bind>(bind), std::forward<Read>(read));
  });
}

// Runs one writing statement; returns the number of rows it changed.
template <typename Bind>
Result<int64_t> Write(SqlitePool& pool, std::string_view sql, Bind&& bind) {
  return WithConnection(pool, [&](SqliteConnection& conn) -> Result<int64_t> {
    auto stmt = conn.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    bind(*stmt);
    BERTH_RETURN_IF_ERROR(stmt->Run());
    return conn.Changes();
  });
}

}  // namespace berth::store::sqlite_helpers
