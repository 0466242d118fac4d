#pragma once

#include <memory>
#include <string>

#include "common/result.hpp"

namespace berth::store {

// SQLite allows one berth at a time: berth keeps what it knows about running agents in memory,
// so two processes on one SQLite file would start, stop and reap the same containers without
// knowing of each other. `berth serve` (and `berth db copy`, which must not read or write a
// database someone is changing) hold a ServeLock for their lifetime.
//
// For a SQLite database it is an exclusive flock(2) on "<database path>.lock" (created 0600
// beside the file, holding the holder's pid for the message), released by the kernel when the
// process exits however it exits. For PostgreSQL it holds nothing: several replicas may serve
// one database.
class ServeLock {
 public:
  // kUnavailable, naming the lock file and the holder's pid, when another process holds it;
  // kInvalidArgument for a URL OpenStore() would not accept.
  static Result<std::unique_ptr<ServeLock>> Acquire(const std::string& database_url);

  ~ServeLock();
  ServeLock(const ServeLock&) = delete;
  ServeLock& operator=(const ServeLock&) = delete;

 private:
  explicit ServeLock(int fd) : fd_(fd) {}
  int fd_;  // -1 for PostgreSQL
};

}  // namespace berth::store
