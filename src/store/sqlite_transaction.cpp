#include "store/sqlite_transaction.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace berth::store {

Result<SqliteTransaction> SqliteTransaction::Begin(SqliteConnection& conn) {
  BERTH_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  return SqliteTransaction(&conn);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() {
  // Some errors (SQLITE_FULL, IOERR, ...) make SQLite roll back on its own; ROLLBACK would then
  // fail with "no transaction is active".
  if (conn_ == nullptr || conn_->InAutocommit()) return;
  if (Status rolled_back = conn_->Exec("ROLLBACK"); !rolled_back.ok()) {
    spdlog::warn("sqlite: rolling back a transaction failed: {}", rolled_back.message());
  }
}

Status SqliteTransaction::Commit() {
  if (conn_ == nullptr) return Internal("sqlite: transaction already finished");
  Status status = conn_->Exec("COMMIT");
  if (status.ok()) conn_ = nullptr;
  return status;
}

}  // namespace berth::store
