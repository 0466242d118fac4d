#include "lifecycle_openclaw/http_exchange.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace berth::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

int WaitFor(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (n < 0 && errno == EINTR);
  return n;
}

// Connects with a deadline; -1 (and *error) on failure.
int Connect(const std::string& ip, unsigned short port, std::chrono::milliseconds timeout,
            std::string* error) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    *error = "not an IPv4 address: " + ip;
    return -1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    *error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (WaitFor(fd, POLLOUT, timeout) <= 0) {
    *error = "connect: timed out";
    ::close(fd);
    return -1;
  }
  int so_error = 0;
  socklen_t len = sizeof so_error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error != 0) {
    *error = std::string("connect: ") + std::strerror(so_error);
    ::close(fd);
    return -1;
  }
  // Blocking again; every read below is bounded by poll.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Decodes a chunked body; false when it is malformed or incomplete.
bool Dechunk(const std::string& raw, std::string* out) {
  std::size_t pos = 0;
  while (true) {
    std::size_t line_end = raw.find("\r\n", pos);
    if (line_end == std::string::npos) return false;
    std::size_t size = 0;
    try {
      size = std::stoul(raw.substr(pos, line_end - pos), nullptr, 16);
    } catch (...) {
      return false;
    }
    pos = line_end + 2;
    if (size == 0) return true;
    if (raw.size() < pos + size + 2) return false;
    out->append(raw, pos, size);
    pos += size + 2;
  }
}

}  // namespace

ExchangeResult HttpExchange(const std::string& ip, unsigned short port, const std::string& method,
                            const std::string& target, const std::string& body,
                            const std::map<std::string, std::string>& headers,
                            std::chrono::milliseconds timeout) {
  ExchangeResult answer;
  int fd = Connect(ip, port, timeout, &answer.error);
  if (fd < 0) return answer;

  std::string request = method + " " + target + " HTTP/1.1\r\nHost: " + ip + ":" +
                        std::to_string(port) + "\r\nConnection: close\r\n";
  bool has_type = false;
  for (const auto& [name, value] : headers) {
    has_type = has_type || Lower(name) == "content-type";
    request += name + ": " + value + "\r\n";
  }
  if (!body.empty()) {
    if (!has_type) request += "Content-Type: application/json\r\n";
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  if (!SendAll(fd, request)) {
    answer.error = std::string("send: ") + std::strerror(errno);
    ::close(fd);
    return answer;
  }

  std::string raw;
  std::size_t header_end = std::string::npos;
  Clock::time_point first_body, last_body;
  char buffer[16384];
  while (true) {
    int ready = WaitFor(fd, POLLIN, timeout);
    if (ready <= 0) {
      answer.error = "read: no data for " + std::to_string(timeout.count()) + " ms";
      break;
    }
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      answer.error = std::string("read: ") + std::strerror(errno);
      break;
    }
    if (n == 0) break;  // the gateway closed: the answer is complete
    const bool had_header = header_end != std::string::npos;
    raw.append(buffer, static_cast<std::size_t>(n));
    if (!had_header) header_end = raw.find("\r\n\r\n");
    const bool body_bytes =
        had_header || (header_end != std::string::npos && raw.size() > header_end + 4);
    if (body_bytes) {
      const auto now = Clock::now();
      if (answer.body_reads++ == 0) first_body = now;
      last_body = now;
    }
  }
  ::close(fd);
  if (header_end == std::string::npos) {
    if (answer.error.empty()) answer.error = "no complete response header";
    return answer;
  }
  if (answer.body_reads > 0) {
    answer.body_span =
        std::chrono::duration_cast<std::chrono::milliseconds>(last_body - first_body);
  }

  const std::string head = raw.substr(0, header_end);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  const std::size_t space = status_line.find(' ');
  if (space == std::string::npos) {
    answer.error = "bad status line: " + status_line;
    return answer;
  }
  const int status = std::atoi(status_line.c_str() + space + 1);
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    const std::string line = head.substr(pos, end - pos);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      answer.http.headers[Lower(line.substr(0, colon))] = value;
    }
    pos = end + 2;
  }
  std::string payload = raw.substr(header_end + 4);
  if (Lower(answer.http.headers["transfer-encoding"]).find("chunked") != std::string::npos) {
    std::string decoded;
    if (!Dechunk(payload, &decoded)) {
      answer.error = "incomplete or malformed chunked body";
      answer.http.body = payload;
      return answer;
    }
    payload = std::move(decoded);
  } else if (auto it = answer.http.headers.find("content-length");
             it != answer.http.headers.end()) {
    const std::size_t length = std::stoul(it->second);
    if (payload.size() < length) {
      answer.error = "body shorter than its Content-Length";
      answer.http.body = payload;
      return answer;
    }
    payload.resize(length);
  }
  answer.http.status = status;
  answer.http.body = std::move(payload);
  if (!answer.error.empty() && answer.error.rfind("read:", 0) == 0) answer.http.status = 0;
  return answer;
}

std::vector<std::string> SseData(const std::string& body) {
  std::vector<std::string> data;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("data:", 0) == 0) {
      std::string value = line.substr(5);
      if (!value.empty() && value.front() == ' ') value.erase(0, 1);
      data.push_back(std::move(value));
    }
    pos = end + 1;
  }
  return data;
}

}  // namespace berth::testing
