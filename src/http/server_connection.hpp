#pragma once

// Private to the HTTP server (server.cpp, server_session.cpp): one client connection, its
// writer, and the rules every request and answer on it follows.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/request.hpp"
#include "http/response_writer.hpp"
#include "http/server.hpp"

namespace berth::http::server_detail {

using tcp = net::ip::tcp;
// One io_context per thread, as nginx runs one event loop per worker: a connection lives on one
// context, run by one thread, so its timer handler, session coroutine and Stop()'s close never
// run concurrently without a strand, and none of its wake-ups crosses threads (one context run
// by every thread, with a strand per connection, made the threads wake each other through a
// futex for completions).
using Executor = net::io_context::executor_type;
using Strand = net::strand<Executor>;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Stream = beast::basic_stream<tcp, Executor>;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kFirstReadSize = 8192;
// After an error response with request bytes still unread, keep reading (and discarding) for up
// to this long before closing: closing with unread data makes the kernel send a reset, which can
// destroy the response before the client reads it.
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::size_t kMaxRequestIdLength = 64;

inline std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

// A fresh request id, as random as NewId(): drawing one NewId() per request costs a CSPRNG call
// (with a getpid() fork check) on the hot path, about 5% of the server's CPU for a small JSON
// answer. So each thread draws one batch and slices it: any 22 characters of base64url over
// random bytes carry 132 random bits, like a NewId() of 16 bytes.
std::string NextRequestId();

// The client's X-Request-Id when it is safe to log and echo, else a fresh one.
std::string PickRequestId(const BeastRequest& req);

// A name berth may resolve to listen on.
bool IsValidHostName(std::string_view host);

// "1.2.3.4" or "[::1]" (an IPv4-mapped address as IPv4), and with ":port".
std::string FormatAddress(const tcp::endpoint& ep);
std::string FormatEndpoint(const tcp::endpoint& ep);

// What a proxy in front of berth and berth could read differently (request smuggling), or what
// hides a second credential: refused before routing.
std::optional<std::string> HeadProblem(const BeastRequest& head);

// The answer to a connection beyond max_connections_per_address, sent before reading anything.
inline constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 429 Too Many Requests\r\nServer: berth\r\nContent-Type: application/json\r\n"
    "Retry-After: 5\r\nConnection: close\r\nContent-Length: 116\r\n\r\n"
    "{\"error\":{\"code\":\"resource_exhausted\",\"message\":\"too many connections from your "
    "address\",\"type\":\"rate_limit_error\"}}";

// A parse error of the request (answered 400), not a transport failure.
bool IsHttpParseError(const beast::error_code& ec);

struct Connection {
  explicit Connection(Socket socket) : stream(std::move(socket)) {}

  Stream stream;
  std::string peer;     // address:port
  std::string address;  // the peer's address alone, for the per-address limit
  // Position in Server::Impl::connections_, guarded by its mutex.
  std::list<std::weak_ptr<Connection>>::iterator position;
  bool over_address_limit = false;  // set before the session starts; not counted for its address
  // Written on the connection's strand; read by the accept loop to find one to shed.
  std::atomic<bool> idle{false};  // waiting for a request's first byte: may be closed at once
  bool closed = false;  // closed by Stop() or shed; whatever a pending read returns is discarded
};
using ConnectionPtr = std::shared_ptr<Connection>;

// REQUIRES: on the connection's strand.
void CloseConnection(Connection& conn);

// Bytes of request bodies in flight, bounded (ServerOptions::body_memory_limit).
class BodyBudget {
 public:
  explicit BodyBudget(std::size_t limit) : limit_(limit) {}
  bool TryReserve(std::size_t bytes) {
    if (limit_ == 0) return true;
    std::size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ - std::min(used, limit_)) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void Release(std::size_t bytes) {
    if (limit_ != 0) used_.fetch_sub(bytes, std::memory_order_relaxed);
  }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

// One request's share of the BodyBudget: what its body may take while it is received, then (cut
// to the body's size) what it holds until the request has been answered. Held to the end because
// the body lives that long: a body released once read let clients refill the budget while earlier
// bodies still waited for or went through their handlers, and berth then held about twice the
// budget (bench/README.md, "Reliability").
class BodyReservation {
 public:
  explicit BodyReservation(BodyBudget& budget) : budget_(budget) {}
  ~BodyReservation() { Release(); }
  void Release() {
    budget_.Release(bytes_);
    bytes_ = 0;
  }
  // Returns what was taken beyond `bytes` (a body shorter than reserved, a chunked one).
  void ShrinkTo(std::size_t bytes) {
    if (bytes >= bytes_) return;
    budget_.Release(bytes_ - bytes);
    bytes_ = bytes;
  }
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;
  bool Take(std::size_t bytes) {
    if (!budget_.TryReserve(bytes)) return false;
    bytes_ += bytes;
    return true;
  }

 private:
  BodyBudget& budget_;
  std::size_t bytes_ = 0;
};

// Completes a response the way every answer goes out.
void Finalize(Response& res, unsigned version, bool head, const std::string& request_id,
              bool keep_alive);

// The ResponseWriter of one request on one connection. Lives on the connection's coroutine
// frame for the handler's call.
class ConnectionWriter final : public ResponseWriter {
 public:
  ConnectionWriter(const ServerOptions& options, const std::atomic<bool>& stopping,
                   ConnectionPtr conn, const Request& request)
      : options_(options), stopping_(stopping), conn_(std::move(conn)), request_(request) {}
  ~ConnectionWriter() override { StopWatching(); }

  net::awaitable<bool> Send(Response& response) override;
  net::awaitable<bool> Begin(ResponseHead& head) override;
  net::awaitable<bool> Write(std::string_view data) override;
  net::awaitable<bool> Flush() override;
  net::awaitable<bool> End(std::string_view data) override;
  void WatchClient(std::function<void()> on_gone) override;
  bool client_gone() const override { return gone_ || watch_->gone; }
  bool started() const override { return started_; }
  net::any_io_executor executor() override { return conn_->stream.get_executor(); }

  // The connection may serve another request: the answer went out whole, with keep-alive.
  bool reusable() const { return complete_ && keep_alive_ && !client_gone(); }
  // Whether the answer went out whole (a stream cut short did not).
  bool complete() const { return complete_; }
  // What the access log and metrics record: 499 (nginx's "client closed request") when the
  // client went away before any answer.
  unsigned status() const { return status_ == 0 && client_gone() ? 499 : status_; }
  void StopWatching();

 private:
  struct Watch {
    bool active = false;
    bool gone = false;
    std::function<void()> on_gone;
  };
  bool Failed() {
    gone_ = true;
    return false;
  }
  // Writes the held head, then `data` as one chunk (when not empty), then the last chunk when
  // `last`: a single gathered write.
  net::awaitable<bool> WriteBody(std::string_view data, bool last);

  const ServerOptions& options_;
  const std::atomic<bool>& stopping_;
  ConnectionPtr conn_;
  const Request& request_;
  std::shared_ptr<Watch> watch_ = std::make_shared<Watch>();
  std::string head_;  // the serialized head Begin() holds until the first write
  bool started_ = false;
  bool chunked_ = false;
  bool keep_alive_ = false;
  bool complete_ = false;
  bool gone_ = false;
  unsigned status_ = 0;
};

}  // namespace berth::http::server_detail
