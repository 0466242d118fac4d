#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "common/result.hpp"

namespace berth::store {

// What BERTH_DATABASE_URL names, parsed once for OpenStore(), the serve lock and `berth db copy`.
struct DatabaseUrl {
  enum class Kind { kSqlite, kPostgres };
  Kind kind = Kind::kSqlite;

  // kSqlite: everything after "sqlite://", verbatim (relative to the working directory unless it
  // starts with '/').
  std::string sqlite_path;

  // kPostgres: the URL as libpq takes it (berth's own parameters below removed; sslmode and
  // every other libpq parameter pass through).
  std::string postgres_conninfo;
  // berth's parameters in the query string:
  //   pool_max_conns=N    most connections the pool opens (1..1000; default 10);
  //   query_timeout_ms=N  the longest a store call waits for a free connection, and then for its
  //                       statements; also the server's statement_timeout (100..3600000;
  //                       default 10000).
  std::size_t pool_max_conns = 10;
  std::chrono::milliseconds query_timeout{10000};

  // The URL with any password replaced by "***": the only form that may be logged or shown.
  std::string display;
};

// Accepts sqlite://<path>, postgres://... and postgresql://... (schemes case-insensitive).
// kInvalidArgument naming BERTH_DATABASE_URL and the accepted forms otherwise, or for a bad
// berth parameter or sslmode value. Messages never echo the URL (it may hold a password).
Result<DatabaseUrl> ParseDatabaseUrl(const std::string& url);

// `url` with the password of its user-info part and of any password= parameter replaced by
// "***". Safe on any string.
std::string MaskDatabaseUrl(const std::string& url);

}  // namespace berth::store
