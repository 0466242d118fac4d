#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/asio.hpp"
#include "common/result.hpp"
#include "proxy/gateway_pool.hpp"

namespace berth::proxy {

// One request to an agent gateway.
struct GatewayRequest {
  std::string host;  // IP literal or a name the resolver knows (a container name)
  int port = 0;
  std::string token;  // the gateway token, sent as Authorization: Bearer; never logged
  bhttp::verb method = bhttp::verb::post;
  std::string target;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. x-openclaw-model
};

// One request/response exchange with an agent gateway, read as it arrives: Send() delivers the
// request and waits for the answer's status and headers, Read() then hands over the body piece
// by piece, never holding more than one buffer (the caller's pace sets the reading pace:
// backpressure, not buffering). No total deadline: only connect_timeout for the connection and
// idle_gap for any silence while waiting for the gateway.
//
// Connections come from and return to `pool`: one reused for Send() that turns out to have been
// closed by the gateway before it answered a single byte is replaced once by a fresh one.
//
// Not thread-safe: every member runs on `executor` (a connection's strand), and Cancel() is how
// another piece of work on that strand (a client that went away) stops a pending Send or Read
// at once.
class GatewayExchange {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::seconds idle_gap{300};
    std::size_t buffer_size = 8192;
  };

  GatewayExchange(net::any_io_executor executor, std::shared_ptr<GatewayPool> pool,
                  Options options);
  ~GatewayExchange();
  GatewayExchange(const GatewayExchange&) = delete;
  GatewayExchange& operator=(const GatewayExchange&) = delete;

  // kUnavailable when the gateway cannot be reached or broke off before answering (the message
  // says which, with the address; never the token). Call once.
  net::awaitable<Status> Send(const GatewayRequest& request);
  // REQUIRES: Send() succeeded.
  const bhttp::response_header<>& head() const { return parser_->get().base(); }
  // The next piece of the body (valid until the next call), or an empty view once the body is
  // complete. kUnavailable when the gateway broke off, went silent for idle_gap, or Cancel()
  // was called. REQUIRES: Send() succeeded.
  net::awaitable<Result<std::string_view>> Read();
  // The part of the body that has already arrived, without waiting: possibly empty while the
  // body goes on. Same contract as Read() otherwise.
  Result<std::string_view> ReadAvailable();
  // True once the body was handed over whole (the last piece included): the connection is
  // back in the pool, and Read() answers an empty view.
  bool done() const { return done_; }
  // Closes the connection now; a pending Send or Read fails. Idempotent.
  void Cancel();
  bool cancelled() const { return cancelled_; }

 private:
  struct State;
  void Arm(std::chrono::steady_clock::duration timeout);
  void Disarm();
  net::awaitable<beast::error_code> Connect(const GatewayRequest& request);
  Status Drain(std::size_t* filled);
  // After a Drain: the piece it filled, and the connection to the pool when the body is whole.
  std::string_view Finish(std::size_t filled);

  net::any_io_executor executor_;
  std::shared_ptr<GatewayPool> pool_;
  const Options options_;
  std::string endpoint_;
  std::shared_ptr<State> state_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
  std::unique_ptr<char[]> body_;
  bool cancelled_ = false;
  bool done_ = false;
};

}  // namespace berth::proxy
