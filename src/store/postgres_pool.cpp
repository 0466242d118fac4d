#include "store/postgres_pool.hpp"

#include <utility>

namespace berth::store {

PgPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Return(std::move(conn_));
}

PgPool::PgPool(Options options, std::unique_ptr<PgConnection> first)
    : options_(std::move(options)) {
  if (first != nullptr) {
    idle_.push_back(std::move(first));
    open_ = 1;
  }
}

std::size_t PgPool::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

Result<PgPool::Lease> PgPool::Acquire(PgDeadline deadline) {
  const std::size_t max = options_.max_connections == 0 ? 1 : options_.max_connections;
  std::unique_lock lock(mu_);
  for (;;) {
    const bool ready =
        available_.wait_until(lock, deadline, [&] { return !idle_.empty() || open_ < max; });
    if (!ready) {
      return Unavailable("postgres: connection pool exhausted: all " + std::to_string(max) +
                         " connections busy");
    }
    if (idle_.empty()) break;
    std::unique_ptr<PgConnection> conn = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    if (conn->StillUsable()) return Lease(this, std::move(conn));
    conn.reset();  // closed by the server meanwhile: drop it and look again
    lock.lock();
    --open_;
  }
  ++open_;  // reserve the slot; connect outside the lock
  lock.unlock();
  auto conn =
      PgConnection::Open(options_.conninfo, options_.display, options_.statement_timeout, deadline);
  if (!conn.ok()) {
    lock.lock();
    --open_;
    lock.unlock();
    available_.notify_one();
    return conn.status();
  }
  return Lease(this, std::move(*conn));
}

void PgPool::Return(std::unique_ptr<PgConnection> conn) {
  const bool keep = !conn->broken() && !conn->InTransaction();
  if (!keep) conn.reset();  // closes it outside the lock
  {
    std::lock_guard lock(mu_);
    if (keep) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  available_.notify_one();
}

}  // namespace berth::store
