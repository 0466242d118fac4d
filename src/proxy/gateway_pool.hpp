#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/asio.hpp"

namespace berth::proxy {

// Idle keep-alive connections to agent gateways, by "host:port", so that a chat does not pay a
// TCP handshake when the last one to the same gateway just ended. Bounded: at most
// max_idle_per_endpoint per gateway, none older than idle_ttl (below Node's 5 s keep-alive
// timeout, so the gateway seldom closes one just as berth reuses it). Take() drops connections
// the gateway has closed meanwhile.
//
// It keeps plain descriptors, not sockets: a socket belongs to one io_context, and the pool may
// outlive the one that made it or hand the connection to another. Thread-safe.
class GatewayPool {
 public:
  using Socket = net::ip::tcp::socket;
  struct Options {
    std::size_t max_idle_per_endpoint = 64;
    std::chrono::milliseconds idle_ttl{4000};
  };
  explicit GatewayPool(Options options) : options_(options) {}
  GatewayPool() : GatewayPool(Options{}) {}
  ~GatewayPool();
  GatewayPool(const GatewayPool&) = delete;
  GatewayPool& operator=(const GatewayPool&) = delete;

  // Opens `socket` on the most recently used idle connection to `endpoint` that is still open;
  // false when there is none. REQUIRES: `socket` is not open.
  bool Take(const std::string& endpoint, Socket& socket);
  // Keeps the connection of `socket` (which is left closed). REQUIRES: it is open and idle, and
  // its last response was read whole.
  void Give(const std::string& endpoint, Socket& socket);
  std::size_t idle() const;

 private:
  // Owns one descriptor.
  struct Idle {
    Idle(int fd_in, bool v6_in) : fd(fd_in), v6(v6_in), since(std::chrono::steady_clock::now()) {}
    Idle(Idle&& other) noexcept;
    Idle& operator=(Idle&& other) noexcept;
    ~Idle();
    int fd;
    bool v6;
    std::chrono::steady_clock::time_point since;
  };
  const Options options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::deque<Idle>> idle_;  // guarded by mu_; newest at back
  std::size_t count_ = 0;                                   // guarded by mu_
};

}  // namespace berth::proxy
