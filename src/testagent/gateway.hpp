#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/asio.hpp"
#include "common/result.hpp"

namespace berth::testagent {

namespace detail {
struct GatewayConnection;
}  // namespace detail

struct GatewayOptions {
  std::string host = "0.0.0.0";
  unsigned short port = 18789;  // 0 = ephemeral, see Gateway::port()
  std::string gateway_token;    // bearer token of /v1/*
  // /readyz answers 503 before this instant (BERTH_TEST_AGENT_READY_DELAY_MS).
  std::chrono::steady_clock::time_point ready_at{};
  std::size_t body_limit = 4 << 20;
  std::size_t header_limit = 16 << 10;
  std::chrono::seconds read_timeout{75};       // keep-alive gap plus one whole request
  std::chrono::seconds write_timeout{30};      // each write to the client
  std::chrono::seconds connect_timeout{10};    // connecting to the provider, sending the request
  std::chrono::seconds upstream_timeout{300};  // waiting for the provider's next bytes
  // A chat (with the right token) whose body holds "fault:hang" is read and never answered (the
  // connection stays open until the client closes it); "fault:garbage" gets bytes that are not
  // HTTP, then the connection closes; "fault:cut" gets a 200 event stream with one event, then
  // the connection closes mid-stream; "fault:ok" gets a canned completion at once, with no
  // provider. Off by default (BERTH_TEST_AGENT_CHAT_FAULTS).
  bool chat_faults = false;
};

// The test agent's HTTP side, shaped like the OpenClaw gateway's (ARCHITECTURE.md, "Gateway
// facts"): GET /healthz, GET /readyz (no auth); GET /v1/models and POST /v1/chat/completions with
// the gateway token. Chats go to the provider's <baseUrl>/chat/completions; the provider's answer
// (status, content type, body) streams back as it arrives: with a Content-Length when the
// provider sent one for a non-SSE body, else chunked, one chunk per piece read, never buffered
// whole. A client that disconnects mid-stream gets the provider connection closed at once.
// 502 in the OpenAI error shape when the provider cannot be reached or answers garbage.
//
// Threading: everything runs on `ioc`, which must be run by exactly one thread; Listen(),
// Start(), Stop() and SetConfig() are called on that thread or before it runs.
class Gateway {
 public:
  Gateway(net::io_context& ioc, GatewayOptions options);
  ~Gateway();

  // Binds and listens. kInvalidArgument for a bad address, kUnavailable when it cannot bind.
  Status Listen();
  unsigned short port() const { return port_; }
  // Starts accepting. REQUIRES: Listen() succeeded.
  void Start();
  // Stops accepting and closes every connection (streams in flight end).
  void Stop();

  // The config chats are planned against; replaced whole on hot reload (requests in flight keep
  // the one they started with).
  void SetConfig(nlohmann::json config);

 private:
  using Connection = detail::GatewayConnection;
  net::awaitable<void> AcceptLoop();
  net::awaitable<void> Session(std::shared_ptr<Connection> conn);

  net::io_context& ioc_;
  GatewayOptions options_;
  net::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  bool stopping_ = false;
  std::shared_ptr<const nlohmann::json> config_;
  std::list<std::weak_ptr<Connection>> connections_;
};

}  // namespace berth::testagent
