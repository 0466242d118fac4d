#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "store/sqlite_connection.hpp"

namespace berth::store {

// A bounded pool of SqliteConnections to one database file. Connections are opened lazily up to
// `max_connections`; when all are lent out, Acquire() waits up to `acquire_timeout` and then
// fails with kUnavailable. Idle connections are reused most-recently-returned first, so their
// statement caches stay warm. Thread-safe. Every Lease must be destroyed before the pool.
class SqlitePool {
 public:
  struct Options {
    std::size_t max_connections = 8;
    std::chrono::milliseconds busy_timeout{5000};
    std::chrono::milliseconds acquire_timeout{10000};
  };

  // Exclusive use of one connection until destruction, which returns it to the pool (rolling
  // back a transaction a caller left open).
  class Lease {
   public:
    Lease(SqlitePool* pool, std::unique_ptr<SqliteConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    ~Lease();
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    SqliteConnection& operator*() const { return *conn_; }
    SqliteConnection* operator->() const { return conn_.get(); }

   private:
    SqlitePool* pool_;
    std::unique_ptr<SqliteConnection> conn_;
  };

  // REQUIRES: options.max_connections >= 1. `first` (already open) becomes the first idle
  // connection.
  SqlitePool(std::string path, Options options, std::unique_ptr<SqliteConnection> first);
  SqlitePool(const SqlitePool&) = delete;
  SqlitePool& operator=(const SqlitePool&) = delete;

  Result<Lease> Acquire();

 private:
  void Return(std::unique_ptr<SqliteConnection> conn);

  const std::string path_;
  Options options_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;  // guarded by mu_
  std::size_t open_ = 0;  // guarded by mu_; idle plus lent out plus being opened
};

}  // namespace berth::store
