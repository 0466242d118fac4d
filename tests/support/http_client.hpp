#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace berth::testing {

struct HttpResult {
  int status = 0;                              // 0 when the connection failed
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  nlohmann::json Json() const;  // parsed body; null json when it does not parse
};

// Minimal blocking HTTP/1.1 client for tests (Beast over TCP, one connection per request).
// Headers given are sent as-is; Content-Type defaults to application/json when a body is sent.
HttpResult HttpRequest(const std::string& method, const std::string& host, unsigned short port,
                       const std::string& target, const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});

// Sends raw bytes and returns whatever the server answered until it closed (or 5 s passed),
// for malformed-request tests.
std::string RawExchange(const std::string& host, unsigned short port, const std::string& bytes);

}  // namespace berth::testing
