#include "store/sqlite_pool.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace berth::store {

SqlitePool::Lease::~Lease() {
  if (conn_ == nullptr) return;  // moved from
  if (!conn_->InAutocommit()) {
    if (Status rolled_back = conn_->Exec("ROLLBACK"); !rolled_back.ok()) {
      spdlog::warn("sqlite: rolling back a returned connection failed: {}", rolled_back.message());
    }
  }
  pool_->Return(std::move(conn_));
}

SqlitePool::SqlitePool(std::string path, Options options, std::unique_ptr<SqliteConnection> first)
    : path_(std::move(path)), options_(options) {
  if (options_.max_connections == 0) options_.max_connections = 1;
  if (first != nullptr) {
    idle_.push_back(std::move(first));
    open_ = 1;
  }
}

Result<SqlitePool::Lease> SqlitePool::Acquire() {
  {
    std::unique_lock lock(mu_);
    const bool ready = available_.wait_for(lock, options_.acquire_timeout, [this] {
      return !idle_.empty() || open_ < options_.max_connections;
    });
    if (!ready) {
      return Unavailable("database connection pool exhausted: all " +
                         std::to_string(options_.max_connections) + " connections busy");
    }
    if (!idle_.empty()) {
      std::unique_ptr<SqliteConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // reserve the slot; open outside the lock
  }
  auto conn = SqliteConnection::Open(path_, options_.busy_timeout);
  if (!conn.ok()) {
    {
      std::lock_guard lock(mu_);
      --open_;
    }
    available_.notify_one();
    return conn.status();
  }
  return Lease(this, std::move(*conn));
}

void SqlitePool::Return(std::unique_ptr<SqliteConnection> conn) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(conn));
  }
  available_.notify_one();
}

}  // namespace berth::store
