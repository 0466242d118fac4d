#pragma once

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/asio.hpp"
#include "common/result.hpp"
#include "docker/docker_host.hpp"

namespace berth::docker {

// Largest response body RoundTrip() reads unless told otherwise.
inline constexpr std::size_t kMaxResponseBody = 64 * 1024 * 1024;

struct HttpRequest {
  bhttp::verb method = bhttp::verb::get;
  std::string target;        // path and query, already escaped
  std::string content_type;  // sent when not empty
  // Further header fields (name, value), e.g. X-Registry-Auth.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;       // sent when body_file is empty (Content-Length always set for POST/PUT)
  std::string body_file;  // when set: this file is the body, streamed from disk, never loaded whole
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// A response whose body arrives over time (the engine's event stream). Not thread-safe except
// Close(). Owns its connection: destroying it closes the connection.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual int status() const = 0;
  virtual const std::string& content_type() const = 0;
  // Blocks until more of the body arrives and appends it to *out (possibly nothing, when only
  // framing arrived). true: more may follow; false: the body ended. kUnavailable when the
  // connection fails or after Close() ("stream closed"). There is no deadline.
  virtual Result<bool> ReadSome(std::string* out) = 0;
  // Makes a blocked or later ReadSome() return kUnavailable promptly. Thread-safe; idempotent.
  virtual void Close() = 0;
};

// HTTP/1.1 to one engine endpoint: a unix socket, TCP or TLS. Each call opens its own connection
// and runs its I/O on a private io_context on the calling thread, so calls are synchronous, have
// a real deadline, and may run concurrently from any number of threads. Immutable after Create.
//
// Errors: kUnavailable (cannot connect, TLS handshake failed, deadline passed, connection lost;
// the message names the endpoint and the request), kInvalidArgument (request body file cannot be
// opened), kInternal (the response is not HTTP or exceeds the body limit). An HTTP error status
// is not an error here: the caller maps it.
class Transport {
 public:
  // kInvalidArgument when the TLS files cannot be loaded.
  static Result<std::shared_ptr<const Transport>> Create(EngineEndpoint endpoint);

  const EngineEndpoint& endpoint() const { return endpoint_; }

  // Sends `request` and reads the whole response, all within `timeout`. While the request body is
  // being written the response is read too (the engine answers an image import with progress
  // while it is still reading the upload).
  Result<HttpResponse> RoundTrip(const HttpRequest& request, std::chrono::milliseconds timeout,
                                 std::size_t body_limit = kMaxResponseBody) const;

  // Sends `request` and reads the response header within `timeout`; the body is then read
  // incrementally through the stream, without a deadline and without a size limit.
  Result<std::unique_ptr<ResponseStream>> OpenStream(const HttpRequest& request,
                                                     std::chrono::milliseconds timeout) const;

 private:
  Transport(EngineEndpoint endpoint, std::shared_ptr<boost::asio::ssl::context> tls)
      : endpoint_(std::move(endpoint)), tls_(std::move(tls)) {}
  Result<HttpResponse> RoundTripOnce(const HttpRequest& request, std::chrono::milliseconds timeout,
                                     std::size_t body_limit) const;

  EngineEndpoint endpoint_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // set iff endpoint_.tls
};

}  // namespace berth::docker
