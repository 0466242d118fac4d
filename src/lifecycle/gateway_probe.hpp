#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace berth::lifecycle {

// Seam for the HTTP probes berth sends to agent gateways (`/readyz`), so the manager's logic is
// testable without containers. Thread-safe.
class GatewayProbe {
 public:
  virtual ~GatewayProbe() = default;
  // The status code of `GET http://host:port/path`, or kUnavailable when nothing answers within
  // `timeout` (connection refused, reset, deadline).
  virtual Result<int> Get(const std::string& host, int port, const std::string& path,
                          std::chrono::milliseconds timeout) = 0;
  // The status code of `POST http://host:port/path` with a JSON body and a bearer token, its
  // answer read to the end (a warm-pool agent's first turn: WarmPool); errors as Get's.
  virtual Result<int> Post(const std::string& host, int port, const std::string& path,
                           const std::string& bearer, const std::string& json_body,
                           std::chrono::milliseconds timeout) = 0;
};
using GatewayProbePtr = std::shared_ptr<GatewayProbe>;

// Plain HTTP/1.1 over TCP with one deadline for connect, write and read; body capped at 64 KiB.
class HttpGatewayProbe final : public GatewayProbe {
 public:
  Result<int> Get(const std::string& host, int port, const std::string& path,
                  std::chrono::milliseconds timeout) override;
  Result<int> Post(const std::string& host, int port, const std::string& path,
                   const std::string& bearer, const std::string& json_body,
                   std::chrono::milliseconds timeout) override;

 private:
  // One GET, or a POST with `bearer` and `json_body`.
  Result<int> Exchange(bool post, const std::string& host, int port, const std::string& path,
                       const std::string& bearer, const std::string& json_body,
                       std::chrono::milliseconds timeout);
};

}  // namespace berth::lifecycle
