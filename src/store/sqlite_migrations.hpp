#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/status.hpp"
#include "store/sqlite_connection.hpp"

namespace berth::store {

// One schema step. Versions are strictly increasing; a released migration is never edited,
// only followed by a new one.
struct SqliteMigration {
  int64_t version;
  const char* name;
  const char* sql;  // a script of one or more statements
};

// The schema this binary knows, oldest first.
std::span<const SqliteMigration> SqliteMigrations();

// Brings the database up to the last of `migrations`: creates schema_migrations(version, name,
// applied_at) when missing, then applies each migration not yet recorded in its own
// BEGIN IMMEDIATE transaction together with its schema_migrations row, so a failed migration
// leaves no trace and concurrent openers apply each migration once. Idempotent.
// kInvalidArgument when the database records a version newer than the last one known here (it
// was written by a newer berth); the message names both versions.
Status ApplySqliteMigrations(SqliteConnection& conn, std::span<const SqliteMigration> migrations);

}  // namespace berth::store
