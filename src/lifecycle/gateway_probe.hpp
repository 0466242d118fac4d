#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace berth::lifecycle {

// A gateway's answer to a POST: its status and body (capped: HttpGatewayProbe).
struct GatewayAnswer {
  int status = 0;
  std::string body;
};

// Seam for the HTTP probes berth sends to agent gateways (`/readyz`), so the manager's logic is
// testable without containers. Thread-safe.
class GatewayProbe {
 public:
  virtual ~GatewayProbe() = default;
  // The status code of `GET http://host:port/path`, or kUnavailable when nothing answers within
  // `timeout` (connection refused, reset, deadline).
  virtual Result<int> Get(const std::string& host, int port, const std::string& path,
                          std::chrono::milliseconds timeout) = 0;
  // The answer to `POST http://host:port/path` with a JSON body and a bearer token, read to the
  // end (a warm-pool agent's first turn, its config calls: WarmPool); errors as Get's.
  virtual Result<GatewayAnswer> Post(const std::string& host, int port, const std::string& path,
                                     const std::string& bearer, const std::string& json_body,
                                     std::chrono::milliseconds timeout) = 0;
};
using GatewayProbePtr = std::shared_ptr<GatewayProbe>;

// Plain HTTP/1.1 over TCP with one deadline for connect, write and read; an answer's body is
// capped at 256 KiB (a longer one is an error).
class HttpGatewayProbe final : public GatewayProbe {
 public:
  Result<int> Get(const std::string& host, int port, const std::string& path,
                  std::chrono::milliseconds timeout) override;
  Result<GatewayAnswer> Post(const std::string& host, int port, const std::string& path,
                             const std::string& bearer, const std::string& json_body,
                             std::chrono::milliseconds timeout) override;

 private:
  // One GET, or a POST with `bearer` and `json_body`.
  Result<GatewayAnswer> Exchange(bool post, const std::string& host, int port,
                                 const std::string& path, const std::string& bearer,
                                 const std::string& json_body, std::chrono::milliseconds timeout);
};

}  // namespace berth::lifecycle
