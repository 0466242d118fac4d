#include "support/tcp_forwarder.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace berth::testing {

TcpForwarder::TcpForwarder(const std::string& host, std::vector<unsigned short> backends)
    : backends_(std::move(backends)) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (fd < 0 || ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
    if (fd >= 0) ::close(fd);
    return;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
  acceptor_ = std::thread([this] { Accept(); });
}

TcpForwarder::~TcpForwarder() {
  stopping_ = true;
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  std::vector<std::thread> pumps;
  {
    std::lock_guard lock(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    pumps.swap(pumps_);
  }
  for (auto& t : pumps) t.join();
}

void TcpForwarder::AddBackend(unsigned short port) {
  std::lock_guard lock(mu_);
  backends_.push_back(port);
}

int TcpForwarder::ConnectBackend() {
  std::vector<unsigned short> backends;
  {
    std::lock_guard lock(mu_);
    backends = backends_;
  }
  for (unsigned short port : backends) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    ::close(fd);
  }
  return -1;
}

void TcpForwarder::Accept() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard lock(mu_);
    fds_.push_back(client);
    pumps_.emplace_back([this, client] { Pump(client); });
  }
}

void TcpForwarder::Pump(int client) {
  int backend = ConnectBackend();
  if (backend >= 0) {
    std::lock_guard lock(mu_);
    fds_.push_back(backend);
  }
  char buffer[16384];
  bool open = backend >= 0;
  while (open && !stopping_) {
    pollfd p[2] = {{client, POLLIN, 0}, {backend, POLLIN, 0}};
    if (::poll(p, 2, 200) < 0) break;
    for (int i = 0; i < 2 && open; ++i) {
      if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::recv(p[i].fd, buffer, sizeof buffer, 0);
      if (n <= 0 || ::send(p[1 - i].fd, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) {
        open = false;
      }
    }
  }
  std::lock_guard lock(mu_);
  for (int fd : {client, backend}) {
    if (fd < 0) continue;
    ::close(fd);
    fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
  }
}

}  // namespace berth::testing
