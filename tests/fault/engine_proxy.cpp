#include "fault/engine_proxy.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace berth::testing {
namespace {

int ConnectUnix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The request line, when `chunk` starts a request.
std::string RequestLine(const char* data, size_t size) {
  const std::string head(data, std::min<size_t>(size, 512));
  const size_t end = head.find("\r\n");
  return end == std::string::npos ? "" : head.substr(0, end);
}

}  // namespace

EngineProxy::EngineProxy(std::string socket_path, std::string engine_path)
    : socket_path_(std::move(socket_path)), engine_path_(std::move(engine_path)) {
  Listen();
}

bool EngineProxy::Listen() {
  ::unlink(socket_path_.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof(addr.sun_path) - 1);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 128) != 0) {
    if (fd >= 0) ::close(fd);
    return false;
  }
  listen_fd_ = fd;
  std::lock_guard lock(mu_);
  threads_.emplace_back([this, fd] { Accept(fd); });
  return true;
}

EngineProxy::~EngineProxy() {
  stopping_ = true;
  Vanish();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

void EngineProxy::SetDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delay_ = delay;
}

void EngineProxy::HoldRequests(const std::string& needle, Hold when) {
  std::lock_guard lock(mu_);
  needle_ = needle;
  when_ = when;
}

bool EngineProxy::WaitHeld(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return held_ > 0; });
}

void EngineProxy::Release() {
  std::lock_guard lock(mu_);
  needle_.clear();
  cv_.notify_all();
}

void EngineProxy::Vanish() {
  const int fd = listen_fd_.exchange(-1);
  if (fd >= 0) {
    ::shutdown(fd, SHUT_RDWR);
    ::unlink(socket_path_.c_str());
  }
  std::lock_guard lock(mu_);
  ++generation_;
  for (int open : fds_) ::shutdown(open, SHUT_RDWR);
  cv_.notify_all();
}

bool EngineProxy::Return() {
  if (listen_fd_ >= 0) return true;
  return Listen();
}

void EngineProxy::Accept(int listen_fd) {
  while (!stopping_ && listen_fd_ == listen_fd) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int client = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard lock(mu_);
    fds_.insert(client);
    threads_.emplace_back([this, client] { Pump(client); });
  }
  ::close(listen_fd);
}

bool EngineProxy::WaitWhileHeld(std::unique_lock<std::mutex>& lock) {
  const long generation = generation_;
  ++held_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return needle_.empty() || generation_ != generation || stopping_; });
  --held_;
  return generation_ == generation && !stopping_;
}

void EngineProxy::Pump(int client) {
  const int engine = ConnectUnix(engine_path_);
  long generation = 0;
  {
    std::lock_guard lock(mu_);
    generation = generation_;
    if (engine >= 0) fds_.insert(engine);
  }
  bool awaiting_answer = false;  // a request went on and its answer has not started yet
  bool hold_answer = false;      // that request matched: hold its answer (kAfterEngine)
  char buf[64 * 1024];
  bool open = engine >= 0;
  while (open && !stopping_) {
    pollfd p[2] = {{client, POLLIN, 0}, {engine, POLLIN, 0}};
    if (::poll(p, 2, 100) < 0) break;
    {
      std::lock_guard lock(mu_);
      if (generation_ != generation) break;
    }
    if (p[0].revents != 0) {
      const ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      const std::string line = RequestLine(buf, static_cast<size_t>(n));
      if (!line.empty()) {
        std::unique_lock lock(mu_);
        awaiting_answer = true;
        if (!needle_.empty() && line.find(needle_) != std::string::npos) {
          if (when_ == Hold::kBeforeEngine) {
            if (!WaitWhileHeld(lock)) break;
          } else {
            hold_answer = true;
          }
        }
      }
      open = SendAll(engine, buf, static_cast<size_t>(n));
    }
    if (open && p[1].revents != 0) {
      const ssize_t n = ::recv(engine, buf, sizeof buf, 0);
      if (n <= 0) break;
      if (awaiting_answer) {
        std::unique_lock lock(mu_);
        if (hold_answer && !WaitWhileHeld(lock)) break;
        const auto delay = delay_;
        const long seen = generation_;
        lock.unlock();
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        lock.lock();
        if (generation_ != seen) break;  // vanished while the answer waited
        awaiting_answer = false;
        hold_answer = false;
      }
      open = SendAll(client, buf, static_cast<size_t>(n));
    }
  }
  std::lock_guard lock(mu_);
  fds_.erase(client);
  ::close(client);
  if (engine >= 0) {
    fds_.erase(engine);
    ::close(engine);
  }
}

}  // namespace berth::testing
