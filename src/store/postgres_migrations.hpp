#pragma once

#include <cstdint>
#include <span>

#include "common/status.hpp"
#include "store/postgres_connection.hpp"

namespace berth::store {

// One schema step. Versions are strictly increasing; a released migration is never edited,
// only followed by a new one. Versions match SQLite's (sqlite_migrations.hpp) for the same
// logical schema, so "schema version N" means one thing on either backend.
struct PostgresMigration {
  int64_t version;
  const char* name;
  const char* sql;  // a script of one or more statements
};

// The schema this binary knows, oldest first.
std::span<const PostgresMigration> PostgresMigrations();

// Brings the database up to the last of `migrations`, all in one transaction that first takes
// a transaction-level advisory lock, so replicas starting together on an empty database apply
// each migration exactly once (the others wait, then find nothing to do), and a failed
// migration leaves no trace. Creates schema_migrations(version, name, applied_at) when missing.
// Idempotent. kInvalidArgument when the database records a version newer than the last one
// known here (written by a newer berth); the message names both versions.
Status ApplyPostgresMigrations(PgConnection& conn, std::span<const PostgresMigration> migrations,
                               PgDeadline deadline);

}  // namespace berth::store
