#include "store/sqlite_error.hpp"

#include <string>
#include <string_view>

namespace berth::store {

Status SqliteStatus(int rc, sqlite3* db) {
  // sqlite3_errmsg describes the most recent failure on the connection; fall back to the code's
  // text when it belongs to something else (or there is no connection).
  std::string message = sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) message = sqlite3_errmsg(db);
  const std::string text = "sqlite: " + message;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable("database is busy (" + text + ")");
    case SQLITE_CANTOPEN:
      return Unavailable("database cannot be opened (" + text + ")");
    // The disk holding the database is full: the write is rolled back whole and the next one
    // works once space is freed, so callers get 503 (reads go on), not an internal error.
    case SQLITE_FULL:
      return Unavailable("database disk is full (" + text + ")");
    case SQLITE_CONSTRAINT:
      switch (rc) {
        case SQLITE_CONSTRAINT_PRIMARYKEY:
        case SQLITE_CONSTRAINT_UNIQUE:
          return AlreadyExists(text);
        case SQLITE_CONSTRAINT_TRIGGER:
          if (std::string_view(message).starts_with("UNIQUE constraint failed")) {
            return AlreadyExists(text);
          }
          return Internal(text);
        case SQLITE_CONSTRAINT_FOREIGNKEY:
          return NotFound(text);
        default:
          return Internal(text);
      }
    default:
      return Internal(text);
  }
}

}  // namespace berth::store
