#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/status.hpp"

// Rules every backend's schema migrations follow (sqlite_migrations, postgres_migrations).
// Private to the store module.
namespace berth::store::migration_rules {

// kInternal unless the versions of `migrations` (with a .version) strictly increase and there
// is at least one.
template <typename Migration>
Status CheckOrder(std::span<const Migration> migrations, const std::string& backend) {
  if (migrations.empty()) return Internal(backend + ": no schema migrations");
  for (std::size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      return Internal(backend + ": schema migrations are not in increasing version order");
    }
  }
  return Status::Ok();
}

// The refusal of a database whose recorded schema version is newer than this binary knows.
inline Status TooNew(int64_t recorded, int64_t known) {
  return InvalidArgument("database schema version " + std::to_string(recorded) +
                         " is newer than the newest this berth knows (" + std::to_string(known) +
                         "); it was written by a newer berth: upgrade berth or use another "
                         "database");
}

}  // namespace berth::store::migration_rules
