#pragma once

#include <sqlite3.h>

#include "common/status.hpp"

namespace berth::store {

// Maps a failed sqlite3 result code (extended codes enabled) to the Store error contract:
// SQLITE_BUSY/LOCKED (after the busy timeout) and SQLITE_CANTOPEN -> kUnavailable; UNIQUE and
// PRIMARY KEY constraints, and triggers raising "UNIQUE constraint failed: ..." -> kAlreadyExists;
// FOREIGN KEY constraints -> kNotFound; anything else -> kInternal. The message is sqlite's own
// (it names tables and columns, never bound values). `db` may be null (then only the code's
// generic text is used).
Status SqliteStatus(int rc, sqlite3* db);

}  // namespace berth::store
