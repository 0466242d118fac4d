#pragma once

#include "common/result.hpp"
#include "store/sqlite_connection.hpp"

namespace berth::store {

// A write transaction: BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy
// timeout), so a transaction never fails halfway with SQLITE_BUSY when it upgrades from read to
// write. Rolls back on destruction unless Commit() succeeded. Move-only; must not outlive the
// connection.
class SqliteTransaction {
 public:
  static Result<SqliteTransaction> Begin(SqliteConnection& conn);

  ~SqliteTransaction();
  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

  // On failure the transaction is rolled back (by the destructor, or already by SQLite).
  Status Commit();

 private:
  explicit SqliteTransaction(SqliteConnection* conn) : conn_(conn) {}

  SqliteConnection* conn_;  // null once committed or moved from
};

}  // namespace berth::store
