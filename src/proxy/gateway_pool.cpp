#include "proxy/gateway_pool.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace berth::proxy {
namespace {

// True when the peer has not closed the connection and sent nothing unasked (an idle HTTP
// connection has nothing to read).
bool LooksIdleAndOpen(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

GatewayPool::Idle::Idle(Idle&& other) noexcept
    : fd(std::exchange(other.fd, -1)), v6(other.v6), since(other.since) {}

GatewayPool::Idle& GatewayPool::Idle::operator=(Idle&& other) noexcept {
  if (this != &other) {
    if (fd >= 0) ::close(fd);
    fd = std::exchange(other.fd, -1);
    v6 = other.v6;
    since = other.since;
  }
  return *this;
}

GatewayPool::Idle::~Idle() {
  if (fd >= 0) ::close(fd);
}

GatewayPool::~GatewayPool() = default;

bool GatewayPool::Take(const std::string& endpoint, Socket& socket) {
  const auto now = std::chrono::steady_clock::now();
  std::optional<Idle> found;
  {
    std::lock_guard lock(mu_);
    auto it = idle_.find(endpoint);
    if (it == idle_.end()) return false;
    std::deque<Idle>& list = it->second;
    while (!list.empty() && !found) {
      Idle entry = std::move(list.back());
      list.pop_back();
      --count_;
      if (now - entry.since < options_.idle_ttl && LooksIdleAndOpen(entry.fd)) {
        found.emplace(std::move(entry));
      }
    }
    // Whatever is left is older still: drop what expired.
    while (!list.empty() && now - list.front().since >= options_.idle_ttl) {
      list.pop_front();
      --count_;
    }
    if (list.empty()) idle_.erase(it);
  }
  if (!found) return false;
  beast::error_code ec;
  socket.assign(found->v6 ? net::ip::tcp::v6() : net::ip::tcp::v4(), found->fd, ec);
  if (ec) return false;  // `found` still owns the descriptor and closes it
  found->fd = -1;        // the socket owns it now
  return true;
}

void GatewayPool::Give(const std::string& endpoint, Socket& socket) {
  beast::error_code ec;
  const bool v6 = socket.local_endpoint(ec).protocol() == net::ip::tcp::v6();
  if (ec) return;
  const int fd = socket.release(ec);
  if (ec) return;
  std::lock_guard lock(mu_);
  std::deque<Idle>& list = idle_[endpoint];
  if (list.size() >= options_.max_idle_per_endpoint) {
    list.pop_front();
    --count_;
  }
  list.emplace_back(fd, v6);
  ++count_;
}

std::size_t GatewayPool::idle() const {
  std::lock_guard lock(mu_);
  return count_;
}

}  // namespace berth::proxy
