#include "proxy/gateway_pool.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace berth::proxy {
namespace {

// True when the peer has not closed the connection and sent nothing unasked (an idle HTTP
// connection has nothing to read).
bool LooksIdleAndOpen(GatewayPool::Socket& socket) {
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::atomic<std::uint64_t> next_pool_id{1};

}  // namespace

// The idle connections of one io_context, for every pool.
class GatewayPool::Service : public net::execution_context::service {
 public:
  static inline net::execution_context::id id;

  explicit Service(net::execution_context& context) : net::execution_context::service(context) {}

  bool Take(const Options& options, std::uint64_t pool, const std::string& endpoint,
            Socket& socket) {
    const auto now = options.clock->SteadyNow();
    std::lock_guard lock(mu_);
    auto it = buckets_.find(Key(pool, endpoint));
    if (it == buckets_.end()) return false;
    Bucket& bucket = it->second;
    bool found = false;
    while (!bucket.idle.empty() && !found) {
      Idle& entry = bucket.idle.back();
      if (now - entry.since < options.idle_ttl && LooksIdleAndOpen(entry.socket)) {
        socket = std::move(entry.socket);
        found = true;
      }
      bucket.idle.pop_back();  // closes a socket left behind
      --*bucket.count;
    }
    // Whatever is left is older still: drop what expired.
    while (!bucket.idle.empty() && now - bucket.idle.front().since >= options.idle_ttl) {
      bucket.idle.pop_front();
      --*bucket.count;
    }
    if (bucket.idle.empty()) buckets_.erase(it);
    return found;
  }

  void Give(const Options& options, std::uint64_t pool,
            const std::shared_ptr<std::atomic<std::size_t>>& count, const std::string& endpoint,
            Socket& socket) {
    std::lock_guard lock(mu_);
    Bucket& bucket = buckets_[Key(pool, endpoint)];
    bucket.count = count;
    if (!bucket.idle.empty() && bucket.idle.size() >= options.max_idle_per_endpoint) {
      bucket.idle.pop_front();
      --*count;
    }
    bucket.idle.push_back({std::move(socket), options.clock->SteadyNow()});
    ++*count;
  }

 private:
  struct Idle {
    Socket socket;
    std::chrono::steady_clock::time_point since;
  };
  struct Bucket {
    std::shared_ptr<std::atomic<std::size_t>> count;  // the owning pool's
    std::deque<Idle> idle;                            // newest at back
  };

  static std::string Key(std::uint64_t pool, const std::string& endpoint) {
    return std::to_string(pool) + ' ' + endpoint;
  }

  // Before the socket machinery of the context goes: close what is left.
  void shutdown() override {
    std::lock_guard lock(mu_);
    for (auto& [key, bucket] : buckets_) *bucket.count -= bucket.idle.size();
    buckets_.clear();
  }

  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
};

GatewayPool::GatewayPool(Options options) : options_(options), id_(next_pool_id++) {}

bool GatewayPool::Take(const std::string& endpoint, Socket& socket) {
  auto& context = net::query(socket.get_executor(), net::execution::context);
  return net::use_service<Service>(context).Take(options_, id_, endpoint, socket);
}

void GatewayPool::Give(const std::string& endpoint, Socket& socket) {
  auto& context = net::query(socket.get_executor(), net::execution::context);
  net::use_service<Service>(context).Give(options_, id_, count_, endpoint, socket);
}

}  // namespace berth::proxy
