#include "support/agent_config_stub.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace berth::testing {

AgentConfigStub::AgentConfigStub(const std::string& addr) : addr_(addr) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  socklen_t len = sizeof(sa);
  if (fd_ < 0 || ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1 ||
      ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(fd_, 64) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return;
  }
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

AgentConfigStub::~AgentConfigStub() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void AgentConfigStub::Serve() {
  static constexpr char kAnswer[] =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\n{}";
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    timeval tv{2, 0};  // a client that sends nothing does not hold the stub up
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      head.append(buf, static_cast<std::size_t>(n));
    }
    [[maybe_unused]] const ssize_t sent = ::send(c, kAnswer, sizeof(kAnswer) - 1, MSG_NOSIGNAL);
    ++requests_;
    ::close(c);
  }
}

}  // namespace berth::testing
