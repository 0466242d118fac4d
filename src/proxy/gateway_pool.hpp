#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/asio.hpp"
#include "common/clock.hpp"

namespace berth::proxy {

// Idle keep-alive connections to agent gateways, by "host:port", so that a chat does not pay a
// TCP handshake when the last one to the same gateway just ended. Bounded: at most
// max_idle_per_endpoint per gateway and io_context, none older than idle_ttl (below Node's 5 s
// keep-alive timeout, so the gateway seldom closes one just as berth reuses it). Take() drops
// connections the gateway has closed meanwhile.
//
// Connections are kept as sockets of the io_context that used them, and only handed out again
// on that context: a socket moves to the next exchange without a system call (no deregistering
// from and registering with the event loop, no descriptor mode changes). The idle sockets of a
// context live in a service of that context, so they are closed when it is destroyed, before
// the socket machinery they depend on; the pool object may outlive the contexts or die first.
// Thread-safe.
class GatewayPool {
 public:
  using Socket = net::ip::tcp::socket;
  struct Options {
    std::size_t max_idle_per_endpoint = 64;
    std::chrono::milliseconds idle_ttl{4000};
    // What idle_ttl is measured on (SteadyNow); tests move it by hand.
    ClockPtr clock = std::make_shared<SystemClock>();
  };
  explicit GatewayPool(Options options);
  GatewayPool() : GatewayPool(Options{}) {}
  GatewayPool(const GatewayPool&) = delete;
  GatewayPool& operator=(const GatewayPool&) = delete;

  // Moves into `socket` the most recently used idle connection to `endpoint` that is still
  // open and belongs to the io_context of `socket`'s executor; false when there is none.
  // REQUIRES: `socket` is not open.
  bool Take(const std::string& endpoint, Socket& socket);
  // Keeps the connection of `socket` (which is left closed). REQUIRES: it is open and idle, and
  // its last response was read whole.
  void Give(const std::string& endpoint, Socket& socket);
  // Idle connections held for this pool, over every io_context.
  std::size_t idle() const { return count_->load(); }

 private:
  class Service;
  const Options options_;
  const std::uint64_t id_;  // this pool's share of each context's service
  std::shared_ptr<std::atomic<std::size_t>> count_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace berth::proxy
