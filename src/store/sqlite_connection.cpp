#include "store/sqlite_connection.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>
#include <utility>

#include "store/sqlite_error.hpp"

namespace berth::store {
namespace {

// Runs a pragma that answers one text value and returns it lowercased.
Result<std::string> PragmaValue(SqliteConnection& conn, std::string_view sql) {
  auto stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Internal("sqlite: '" + std::string(sql) + "' answered no row");
  std::string value = stmt->Text(0);
  for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return value;
}

}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(
    const std::string& path, std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = SqliteStatus(rc, db);
    sqlite3_close_v2(db);  // harmless on nullptr
    return status;
  }
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(db));
  BERTH_RETURN_IF_ERROR(conn->Configure(busy_timeout));
  return conn;
}

SqliteConnection::~SqliteConnection() {
  statements_.clear();  // finalize before closing
  sqlite3_close_v2(db_);
}

Status SqliteConnection::Configure(std::chrono::milliseconds busy_timeout) {
  sqlite3_extended_result_codes(db_, 1);
  // Set before anything that may take a lock: switching to WAL needs a brief exclusive lock.
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
  // WAL lets readers proceed while one writer commits; the mode is stored in the file, so this
  // is a no-op after the first connection. It fails on filesystems without shared memory.
  // The first switch needs an exclusive lock, and SQLite answers SQLITE_BUSY at once, without
  // the busy handler, when two openers of a fresh file both hold a shared lock and both try to
  // escalate (its deadlock rule). The loser retries until the busy timeout has passed.
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  auto pause = std::chrono::milliseconds(1);
  auto mode = PragmaValue(*this, "PRAGMA journal_mode=WAL");
  while (!mode.ok() && (sqlite3_errcode(db_) & 0xff) == SQLITE_BUSY &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
    mode = PragmaValue(*this, "PRAGMA journal_mode=WAL");
  }
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return Internal("sqlite: cannot enable WAL journal mode (journal_mode is '" + *mode + "')");
  }
  // NORMAL is durable against application crashes in WAL mode; a power loss may drop the last
  // commits but never corrupts the file.
  BERTH_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
  // Reads through a shared memory map instead of a pread per page miss; the map is virtual
  // address space, filled from the OS page cache that every connection shares.
  BERTH_RETURN_IF_ERROR(Exec("PRAGMA mmap_size=1073741824"));
  // Per connection and off by default: without it ON DELETE CASCADE does nothing.
  BERTH_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys=ON"));
  auto fk = PragmaValue(*this, "PRAGMA foreign_keys");
  if (!fk.ok()) return fk.status();
  if (*fk != "1") return Internal("sqlite: foreign key enforcement is not available");
  return Status::Ok();
}

Result<SqliteStatement> SqliteConnection::Prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    if (rc != SQLITE_OK) return SqliteStatus(rc, db_);
    StatementPtr stmt(raw);
    if (stmt == nullptr) return Internal("sqlite: empty statement");
    for (; tail != sql.data() + sql.size(); ++tail) {
      if (!std::isspace(static_cast<unsigned char>(*tail))) {
        return Internal("sqlite: Prepare() takes one statement; use ExecScript()");
      }
    }
    it = statements_.emplace(std::string(sql), std::move(stmt)).first;
  } else if (sqlite3_stmt_busy(it->second.get())) {
    return Internal("sqlite: statement is already in use on this connection");
  }
  return SqliteStatement(it->second.get(), db_);
}

Status SqliteConnection::Exec(std::string_view sql) {
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  // Pragmas may answer a row (e.g. the new value); drain them.
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

Status SqliteConnection::ExecScript(const std::string& sql) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db_);
  return Status::Ok();
}

}  // namespace berth::store
