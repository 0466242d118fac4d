#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace berth::http {

// Limits failed authentication attempts per peer address on the internal endpoint (agents are
// untrusted: a compromised one must not be able to guess other containers' tokens at speed).
// After `max_failures` failures within `window`, the peer is refused for `block`. Memory is
// bounded: at `max_peers` tracked addresses, expired entries are dropped, then the table is
// cleared. Thread-safe.
class AttemptLimiter {
 public:
  struct Options {
    int max_failures = 10;
    std::chrono::seconds window{60};
    std::chrono::seconds block{300};
    std::size_t max_peers = 100000;
  };
  AttemptLimiter() : AttemptLimiter(Options{}) {}
  explicit AttemptLimiter(Options options) : options_(options) {}

  // Seconds the peer must still wait, or 0 when it may try.
  long BlockedFor(const std::string& peer, std::chrono::steady_clock::time_point now);
  void RecordFailure(const std::string& peer, std::chrono::steady_clock::time_point now);
  // Addresses currently tracked (for tests and metrics).
  std::size_t tracked();

 private:
  struct Peer {
    int failures = 0;
    std::chrono::steady_clock::time_point window_start;
    std::chrono::steady_clock::time_point blocked_until;
  };
  const Options options_;
  std::mutex mu_;
  std::unordered_map<std::string, Peer> peers_;  // guarded by mu_
};

}  // namespace berth::http
