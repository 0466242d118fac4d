#pragma once

#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.hpp"
#include "store/sqlite_statement.hpp"

namespace berth::store {

// One open sqlite3 connection configured for berth: extended result codes, a busy timeout,
// WAL journal, synchronous=NORMAL, foreign_keys=ON; plus a cache of prepared statements keyed by
// their SQL text (prepared once with SQLITE_PREPARE_PERSISTENT, finalized when the connection
// closes).
//
// Thread-compatible, not thread-safe: one thread at a time (SqlitePool hands it out). Opened in
// SQLite's multi-thread mode (SQLITE_OPEN_NOMUTEX), which is safe under that rule.
class SqliteConnection {
 public:
  // Opens an existing database file (never creates one: a file that vanished must not be
  // silently replaced by an empty database; SqliteStore creates the file before the first open).
  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path,
                                                        std::chrono::milliseconds busy_timeout);

  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // A cached statement for `sql`, which must hold exactly one SQL statement. The returned handle
  // resets the statement when destroyed. kInternal when the statement is still in use on this
  // connection (a programming error) or does not compile.
  Result<SqliteStatement> Prepare(std::string_view sql);

  // Runs one cached statement that returns no rows.
  Status Exec(std::string_view sql);
  // Runs a script of several statements (not cached); used by migrations.
  Status ExecScript(const std::string& sql);

  // Rows changed by the most recent INSERT/UPDATE/DELETE on this connection (not counting
  // cascades and triggers).
  int64_t Changes() const { return sqlite3_changes64(db_); }
  // True when no explicit transaction is open.
  bool InAutocommit() const { return sqlite3_get_autocommit(db_) != 0; }

  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  Status Configure(std::chrono::milliseconds busy_timeout);

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };
  using StatementPtr = std::unique_ptr<sqlite3_stmt, Finalizer>;

  sqlite3* db_;
  std::unordered_map<std::string, StatementPtr, StringHash, std::equal_to<>> statements_;
};

}  // namespace berth::store
