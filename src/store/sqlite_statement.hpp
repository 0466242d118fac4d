#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace berth::store {

// A borrowed, ready-to-run prepared statement from a SqliteConnection's cache. Destruction
// resets the statement and clears its bindings, so the cached statement is clean (and holds no
// read snapshot) for the next user. Move-only; must not outlive its connection.
//
// Binding errors are remembered and reported by the next Step()/Run(), so binds can be written
// one per line without checking each.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are 1-based (?1, ?2, ...). Text is copied (SQLITE_TRANSIENT), so temporaries are
  // fine. A nullopt binds NULL.
  void Bind(int index, std::string_view value);
  void Bind(int index, const std::optional<std::string>& value);
  void Bind(int index, int64_t value);
  void Bind(int index, const std::optional<int64_t>& value);
  void Bind(int index, int value) { Bind(index, static_cast<int64_t>(value)); }
  void Bind(int index, const std::optional<int>& value);
  void Bind(int index, bool value) { Bind(index, static_cast<int64_t>(value ? 1 : 0)); }
  // Without these, a string literal would pick the bool overload.
  void Bind(int index, const char* value) { Bind(index, std::string_view(value)); }
  void Bind(int index, const std::string& value) { Bind(index, std::string_view(value)); }

  // Advances: true when a row is available, false when the statement is done.
  Result<bool> Step();
  // Steps a statement that returns no rows to completion.
  Status Run();

  // Column accessors for the current row; 0-based. NULL reads as "" / 0 in the plain forms.
  bool IsNull(int column) const;
  std::string Text(int column) const;
  std::optional<std::string> OptionalText(int column) const;
  int64_t Int64(int column) const;
  std::optional<int64_t> OptionalInt64(int column) const;
  std::optional<int> OptionalInt(int column) const;
  bool Bool(int column) const { return Int64(column) != 0; }

 private:
  void Release();

  sqlite3_stmt* stmt_;
  sqlite3* db_;
  int bind_error_ = SQLITE_OK;
};

}  // namespace berth::store
