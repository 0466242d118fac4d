#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "store/postgres_connection.hpp"

namespace berth::store {

// A bounded pool of PgConnections to one server. Connections are opened lazily up to
// `max_connections`; when all are lent out, Acquire() waits until its deadline and then fails
// with kUnavailable. Reconnects by itself: a connection that broke (lost, timed out) or comes
// back inside a transaction is discarded when returned, an idle one the server closed meanwhile
// (restart, failover) is discarded when next taken, and the next caller opens a fresh one. So
// while the server is down every call fails fast with kUnavailable, and once it is back calls
// succeed again without anyone resetting anything. Idle connections are reused
// most-recently-returned first, keeping their prepared statements warm. Thread-safe. Every Lease
// must be destroyed before the pool.
class PgPool {
 public:
  struct Options {
    std::string conninfo;  // as libpq takes it (may hold a password: never shown)
    std::string display;   // the same with the password masked, for messages
    std::size_t max_connections = 10;
    std::chrono::milliseconds statement_timeout{10000};  // set on each connection
  };

  // Exclusive use of one connection until destruction, which returns it to the pool.
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    ~Lease();
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    PgConnection& operator*() const { return *conn_; }
    PgConnection* operator->() const { return conn_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // REQUIRES: options.max_connections >= 1. `first` (already open, may be null) becomes the
  // first idle connection.
  PgPool(Options options, std::unique_ptr<PgConnection> first);
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // A usable connection, waiting for one to be free (or opening one) until `deadline`.
  Result<Lease> Acquire(PgDeadline deadline);

  // Connections open now (idle plus lent out), for tests.
  std::size_t open() const;

 private:
  void Return(std::unique_ptr<PgConnection> conn);

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_
  std::size_t open_ = 0;  // guarded by mu_; idle plus lent out plus being opened
};

}  // namespace berth::store
