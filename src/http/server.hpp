#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "http/router.hpp"
#include "http/work_pool.hpp"

namespace berth::http {

struct ServerOptions {
  std::string host = "0.0.0.0";         // IPv4/IPv6 literal ("::1" or "[::1]") or a name to resolve
  unsigned short port = 3000;           // 0 = ephemeral; see Server::port()
  std::size_t body_limit = 1 << 20;     // larger bodies get 413, then the connection closes
  std::size_t header_limit = 16 << 10;  // larger request line + headers get 431, then close
  std::chrono::seconds read_timeout{30};    // whole request, from its first byte; also each write
  std::chrono::seconds idle_timeout{75};    // keep-alive gap between requests
  std::chrono::seconds shutdown_grace{10};  // in-flight requests finish within this
  // Each write of a streamed body (ResponseWriter::Write): a client that reads nothing for this
  // long is dropped, and until then the handler waits (backpressure, not buffering).
  std::chrono::seconds stream_write_timeout{300};
  // At this many open connections (min 1) the longest-open idle keep-alive connection is closed
  // to make room; when none is idle, accepts pause until one closes.
  std::size_t max_connections = 10000;
  // Open connections from one address (0 = no limit); one more is answered 429 and closed.
  std::size_t max_connections_per_address = 0;
  // Bytes of request bodies held at once (being received or answered), across connections (0 =
  // no bound): a request whose body does not fit is answered 503 with Retry-After before it is
  // read. A body of unknown length (chunked) counts as body_limit until it is in; every body
  // counts at its size until its request has been answered.
  std::size_t body_memory_limit = 64 << 20;
  // Runs synchronous handlers off the event loops (Router::Run). Null: they run inline. The
  // server shuts it down when Run() returns (its queued jobs belong to this server's loops).
  std::shared_ptr<WorkPool> work_pool;
  int threads = 0;  // 0 = hardware concurrency
  // Called once per answered request (after its last byte, or when it was cut short) with the
  // status sent (0 if none) and the time from the request's first byte: for metrics.
  std::function<void(const Request&, unsigned status, std::chrono::steady_clock::duration)>
      on_request;
};

// HTTP/1.1 server on Boost.Beast with C++20 coroutines. Keep-alive, a deadline on every read,
// header and body size limits, one access log line per request at info (method, path without
// the query string, status, duration, request id, peer; never headers, bodies or queries).
// The router must outlive the server.
//
// Every response carries Server: berth, Content-Length and X-Request-Id: the client's when it
// matches [A-Za-z0-9._-]{1,64}, else a fresh NewId(); handlers see it as Request::request_id.
// Each of the `threads` threads runs an event loop of its own, and connections are dealt to
// them in turn (as nginx deals them to its workers); a connection stays on its thread. Handlers
// run on the connection's coroutine (no thread hop): a synchronous handler holds its thread, and
// so the other connections of that thread, while it runs (keep them short: a store call); an
// asynchronous one (Router::AddAsync) yields while it waits. An exception from a handler becomes a
// 500
// {"error":{"code":"internal","message":"internal error"}}; its text goes to the log only.
// Protocol errors answer in the same JSON shape and close the connection: 400 invalid_argument
// (malformed request; also two Authorization or Host headers, none on HTTP/1.1, and
// Transfer-Encoding on HTTP/1.0, which proxies may read differently), 413 payload_too_large,
// 431 headers_too_large. A request is routed and authenticated on its head (Router::Admit)
// before its body is read; when that answers (404, 401, ...) the body is never read and the
// connection closes after the answer. A client that stalls
// mid-request past read_timeout, or idles past idle_timeout, is closed without an answer.
// `Expect: 100-continue` is answered once the headers passed the limits.
class Server {
 public:
  Server(ServerOptions options, const Router& router);
  // Stops if running and waits for Run() (on another thread) to return.
  ~Server();

  // Binds (SO_REUSEADDR) and listens; call once. kInvalidArgument for a malformed, unresolvable
  // or non-local address; kUnavailable when the port is taken or may not be bound.
  Status Listen();
  // The bound port (useful with port 0). REQUIRES: Listen() succeeded.
  unsigned short port() const;
  // Serves on options.threads threads (the caller's included) until Stop(); returns after
  // in-flight requests finished or the grace period ran out. Call at most once. Without a
  // successful Listen() it returns at once.
  void Run();
  // Closes the acceptor and idle keep-alive connections at once; requests in flight finish and
  // are answered with Connection: close; after shutdown_grace the remaining connections are
  // closed (a handler still running is not interrupted: Run() returns once it does). Idempotent;
  // may come before Run() (which then returns at once) or from inside a handler.
  // Thread-safe and async-signal-unsafe: call from a normal thread (e.g. a signal_set handler).
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::http
