#include "proxy/gateway_pool.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace berth::proxy {
namespace {

// True when the peer has not closed the connection and sent nothing unasked (an idle HTTP
// connection has nothing to read).
bool LooksIdleAndOpen(GatewayPool::Socket& socket) {
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::optional<GatewayPool::Socket> GatewayPool::Take(const std::string& endpoint) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto it = idle_.find(endpoint);
  if (it == idle_.end()) return std::nullopt;
  std::deque<Idle>& list = it->second;
  std::optional<Socket> found;
  while (!list.empty() && !found) {
    Idle entry = std::move(list.back());
    list.pop_back();
    --count_;
    if (now - entry.since < options_.idle_ttl && LooksIdleAndOpen(entry.socket)) {
      found.emplace(std::move(entry.socket));
    }
  }
  // Whatever is left is older still: drop what expired.
  while (!list.empty() && now - list.front().since >= options_.idle_ttl) {
    list.pop_front();
    --count_;
  }
  if (list.empty()) idle_.erase(it);
  return found;
}

void GatewayPool::Give(const std::string& endpoint, Socket socket) {
  std::lock_guard lock(mu_);
  std::deque<Idle>& list = idle_[endpoint];
  if (list.size() >= options_.max_idle_per_endpoint) {
    list.pop_front();
    --count_;
  }
  list.push_back(Idle{std::move(socket), std::chrono::steady_clock::now()});
  ++count_;
}

std::size_t GatewayPool::idle() const {
  std::lock_guard lock(mu_);
  return count_;
}

}  // namespace berth::proxy
