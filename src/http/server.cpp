#include "http/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/ids.hpp"
#include "common/logging.hpp"
#include "http/response_writer.hpp"

namespace berth::http {
namespace {

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

std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// A fresh request id, as random as NewId(): drawing one NewId() per request costs a CSPRNG call
// (with a getpid() fork check) on the hot path, about 5% of the server's CPU for a small JSON
// answer. So each thread draws one batch and slices it: any 22 characters of base64url over
// random bytes carry 132 random bits, like a NewId() of 16 bytes.
std::string NextRequestId() {
  constexpr std::size_t kIdChars = 22;
  constexpr std::size_t kIdsPerBatch = 64;
  constexpr std::size_t kBatchBytes = kIdChars * kIdsPerBatch * 3 / 4;  // no base64 padding
  thread_local std::string batch;
  thread_local std::size_t next = 0;
  if (next + kIdChars > batch.size()) {
    batch = NewId(kBatchBytes);
    next = 0;
  }
  std::string id = batch.substr(next, kIdChars);
  next += kIdChars;
  return id;
}

// The client's X-Request-Id when it is safe to log and echo, else a fresh one.
std::string PickRequestId(const BeastRequest& req) {
  auto it = req.find("X-Request-Id");
  if (it != req.end() && IsValidRequestId(ToStd(it->value()))) return std::string(it->value());
  return NextRequestId();
}

bool IsValidHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

std::string FormatAddress(const tcp::endpoint& ep) {
  net::ip::address addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    addr = net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6());
  }
  return addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
}

std::string FormatEndpoint(const tcp::endpoint& ep) {
  return FormatAddress(ep) + ':' + std::to_string(ep.port());
}

// What a proxy in front of berth and berth could read differently (request smuggling), or what
// hides a second credential: refused before routing.
std::optional<std::string> HeadProblem(const BeastRequest& head) {
  auto count = [&head](bhttp::field field) {
    auto range = head.equal_range(field);
    return std::distance(range.first, range.second);
  };
  if (count(bhttp::field::authorization) > 1) return "more than one Authorization header";
  const auto hosts = count(bhttp::field::host);
  if (hosts > 1) return "more than one Host header";
  if (hosts == 0 && head.version() >= 11) return "an HTTP/1.1 request needs a Host header";
  if (head.version() < 11 && count(bhttp::field::transfer_encoding) > 0) {
    return "Transfer-Encoding is not allowed in HTTP/1.0";
  }
  return std::nullopt;
}

// The answer to a connection beyond max_connections_per_address, sent before reading anything.
constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 429 Too Many Requests\r\nServer: berth\r\nContent-Type: application/json\r\n"
    "Retry-After: 5\r\nConnection: close\r\nContent-Length: 116\r\n\r\n"
    "{\"error\":{\"code\":\"resource_exhausted\",\"message\":\"too many connections from your "
    "address\",\"type\":\"rate_limit_error\"}}";

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

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
void CloseConnection(Connection& conn) {
  conn.closed = true;
  beast::error_code ec;
  conn.stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  conn.stream.close();
}

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

// One request's share of the BodyBudget while its body is being received; returned once the body
// is in (the handler's own limits, per user, bound what it holds after) or the request ends.
class BodyReservation {
 public:
  explicit BodyReservation(BodyBudget& budget) : budget_(budget) {}
  ~BodyReservation() { Release(); }
  void Release() {
    budget_.Release(bytes_);
    bytes_ = 0;
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
              bool keep_alive) {
  res.version(version);
  res.set(bhttp::field::server, "berth");
  res.set("X-Request-Id", request_id);
  res.keep_alive(keep_alive);
  const unsigned status = res.result_int();
  // These statuses have no body; prepare_payload() throws if one is there.
  if (status / 100 == 1 || status == 204 || status == 304) res.body().clear();
  res.prepare_payload();
  // HEAD: the Content-Length of the GET answer, without its body (RFC 9110 §9.3.2).
  if (head) res.body().clear();
}

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

}  // namespace

struct Server::Impl {
  Impl(ServerOptions options_in, const Router& router_in)
      : options(std::move(options_in)),
        router(router_in),
        threads(options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
        max_connections(std::max<std::size_t>(1, options.max_connections)),
        body_budget(options.body_memory_limit),
        header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
            options.header_limit, std::numeric_limits<std::uint32_t>::max()))),
        contexts(MakeContexts(threads)),
        control(net::make_strand(*contexts.front())),
        acceptor(control),
        wakeup(control),
        grace(control) {}

  static std::vector<std::unique_ptr<net::io_context>> MakeContexts(int count) {
    std::vector<std::unique_ptr<net::io_context>> out;
    // A concurrency hint of 1: each context is run by one thread (posting from others is fine).
    for (int i = 0; i < count; ++i) out.push_back(std::make_unique<net::io_context>(1));
    return out;
  }

  Status Listen();
  Status BindTo(const tcp::endpoint& endpoint);
  void Run();
  void RunLoop(net::io_context& context);
  void Stop();
  void ReleaseWork();
  void BeginShutdown();

  net::awaitable<void> AcceptLoop();
  void StartConnection(Socket socket);
  void Unregister(const ConnectionPtr& conn);
  // Closes the longest-open idle connection, to make room at the cap; false when none is idle.
  bool ShedIdle();
  // Answers a request from its head alone (the body, if any, is not read). false: stop serving
  // the connection (the caller lingers when `linger` says so).
  net::awaitable<bool> AnswerHead(ConnectionPtr conn, Request& request, const BeastRequest& head,
                                  bool must_close, Response answer, Clock::time_point start,
                                  bool& linger);
  std::vector<ConnectionPtr> Snapshot();
  net::awaitable<void> Session(ConnectionPtr conn);
  net::awaitable<void> Handle(const Router::Route& route, Request& request, ResponseWriter& writer);
  std::optional<Response> ReadErrorResponse(const beast::error_code& ec);
  void LogAccess(std::string_view method, std::string_view target, unsigned status,
                 Clock::time_point start, const std::string& request_id, const std::string& peer);

  const ServerOptions options;
  const Router& router;
  const int threads;
  const std::size_t max_connections;
  BodyBudget body_budget;
  const std::uint32_t header_limit;

  // Connections are dealt round-robin over these; the first also runs the control strand.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::size_t next_context = 0;  // on the control strand
  // Keep every context running until shutdown: one with no connection yet has no work.
  std::vector<net::executor_work_guard<Executor>> work;  // on the control strand once running
  // Acceptor, wakeup and grace timers are used only on this strand.
  Strand control;
  net::basic_socket_acceptor<tcp, Strand> acceptor;
  net::basic_waitable_timer<Clock, net::wait_traits<Clock>, Strand> wakeup;  // paused accepts
  net::basic_waitable_timer<Clock, net::wait_traits<Clock>, Strand> grace;   // shutdown grace
  bool listening = false;
  unsigned short port = 0;

  std::atomic<bool> stopping{false};

  std::mutex connections_mu;
  std::list<std::weak_ptr<Connection>> connections;  // guarded by connections_mu
  // Open connections per peer address (those within the limit); guarded by connections_mu.
  std::unordered_map<std::string, std::size_t> per_address;

  std::mutex run_mu;
  std::condition_variable run_cv;
  bool running = false;  // guarded by run_mu
};

Status Server::Impl::Listen() {
  if (listening) return InvalidArgument("http server is already listening");
  std::string host = options.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::vector<tcp::endpoint> endpoints;
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(host, ec);
  if (!ec) {
    endpoints.emplace_back(address, options.port);
  } else {
    if (!IsValidHostName(host)) {
      return InvalidArgument("invalid listen address \"" + options.host + "\"");
    }
    tcp::resolver resolver(*contexts.front());
    auto results = resolver.resolve(host, std::to_string(options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec) return InvalidArgument("cannot resolve listen host \"" + host + "\": " + ec.message());
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    if (endpoints.empty()) return InvalidArgument("listen host \"" + host + "\" has no address");
  }
  Status last;
  for (const tcp::endpoint& endpoint : endpoints) {
    last = BindTo(endpoint);
    if (last.ok()) {
      listening = true;
      port = acceptor.local_endpoint().port();
      return Status::Ok();
    }
  }
  return last;
}

Status Server::Impl::BindTo(const tcp::endpoint& endpoint) {
  const std::string where = FormatEndpoint(endpoint);
  beast::error_code ec;
  auto fail = [&](ErrorCode code, const std::string& what) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return Status(code, "cannot " + what + " " + where + ": " + ec.message());
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "open a socket for");
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail(ErrorCode::kUnavailable, "set SO_REUSEADDR on");
  acceptor.bind(endpoint, ec);
  if (ec == boost::system::errc::address_not_available)
    return fail(ErrorCode::kInvalidArgument, "bind");
  if (ec) return fail(ErrorCode::kUnavailable, "bind");  // in use, or a privileged port
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail(ErrorCode::kUnavailable, "listen on");
  return Status::Ok();
}

void Server::Impl::Run() {
  {
    std::lock_guard lock(run_mu);
    running = true;
  }
  // co_spawn from a thread that is not running the io_context has crashed on Boost 1.74
  // (STYLE.md): spawn the accept loop from inside the context.
  net::post(control, [this] {
    net::co_spawn(control, AcceptLoop(), [](std::exception_ptr e) {
      LogCoroutineException("http server: accept loop", e);
    });
  });
  for (auto& context : contexts) work.push_back(net::make_work_guard(*context));
  std::vector<std::thread> pool;
  pool.reserve(contexts.size() - 1);
  for (std::size_t i = 1; i < contexts.size(); ++i) {
    pool.emplace_back([this, i] { RunLoop(*contexts[i]); });
  }
  RunLoop(*contexts.front());
  for (std::thread& t : pool) t.join();
  // Jobs still queued belong to sessions of these loops: drop them while the loops exist.
  if (options.work_pool) options.work_pool->Shutdown();
  std::lock_guard lock(run_mu);
  running = false;
  run_cv.notify_all();  // under the lock: ~Server may destroy run_cv as soon as it sees !running
}

void Server::Impl::RunLoop(net::io_context& context) {
  for (;;) {
    try {
      context.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("http server: io_context handler threw: {}", e.what());
    } catch (...) {
      spdlog::error("http server: io_context handler threw an unknown exception");
    }
  }
}

void Server::Impl::Stop() {
  if (stopping.exchange(true)) return;
  net::post(control, [this] { BeginShutdown(); });
}

// On the control strand, after `stopping` was set.
void Server::Impl::BeginShutdown() {
  beast::error_code ec;
  acceptor.close(ec);
  wakeup.cancel();
  std::vector<ConnectionPtr> live = Snapshot();
  if (live.empty()) return ReleaseWork();
  for (const ConnectionPtr& conn : live) {
    // A connection between requests has nothing in flight; one mid-request finishes it and then
    // closes, since its response carries Connection: close.
    net::post(conn->stream.get_executor(), [conn] {
      if (conn->idle) CloseConnection(*conn);
    });
  }
  grace.expires_after(options.shutdown_grace);
  // Cancelled by Unregister() when the last connection goes; either way, whatever is left now
  // has had its grace.
  grace.async_wait([this](beast::error_code) {
    for (const ConnectionPtr& conn : Snapshot()) {
      net::post(conn->stream.get_executor(), [conn] { CloseConnection(*conn); });
    }
    ReleaseWork();
  });
}

// On the control strand: each context returns from run() once what is still pending on it
// (a connection being closed) completes.
void Server::Impl::ReleaseWork() { work.clear(); }

std::vector<ConnectionPtr> Server::Impl::Snapshot() {
  std::vector<ConnectionPtr> out;
  std::lock_guard lock(connections_mu);
  out.reserve(connections.size());
  for (const auto& weak : connections) {
    if (ConnectionPtr conn = weak.lock()) out.push_back(std::move(conn));
  }
  return out;
}

net::awaitable<void> Server::Impl::AcceptLoop() {
  beast::error_code ec;
  // Not const: Boost 1.74's redirect_error cannot forward a const token.
  auto token = net::redirect_error(net::use_awaitable, ec);
  while (!stopping.load()) {
    std::size_t count;
    {
      std::lock_guard lock(connections_mu);
      count = connections.size();
    }
    if (count >= max_connections) {
      // Idle keep-alive connections make room first; when none is idle, wait for one to close.
      ShedIdle();
      // Unregister() cancels this wait when a connection closes. It posts that cancel to this
      // strand after updating the count, so it either runs before the check above (which then
      // sees the lower count) or after the wait began (and ends it).
      wakeup.expires_at(Clock::time_point::max());
      co_await wakeup.async_wait(token);
      continue;
    }
    net::io_context& context = *contexts[next_context];
    next_context = (next_context + 1) % contexts.size();
    Socket socket = co_await acceptor.async_accept(context.get_executor(), token);
    if (stopping.load()) break;
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) break;
      // Typically EMFILE/ENFILE: back off instead of spinning on the error.
      spdlog::warn("http server: accept failed: {}", ec.message());
      wakeup.expires_after(std::chrono::milliseconds(100));
      co_await wakeup.async_wait(token);
      continue;
    }
    StartConnection(std::move(socket));
  }
}

void Server::Impl::StartConnection(Socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  tcp::endpoint remote = socket.remote_endpoint(ec);
  auto conn = std::make_shared<Connection>(std::move(socket));
  conn->peer = ec ? std::string("unknown") : FormatEndpoint(remote);
  conn->address = ec ? std::string("unknown") : FormatAddress(remote);
  {
    std::lock_guard lock(connections_mu);
    conn->position = connections.insert(connections.end(), conn);
    if (options.max_connections_per_address > 0) {
      std::size_t& open = per_address[conn->address];
      if (open >= options.max_connections_per_address) {
        conn->over_address_limit = true;
      } else {
        ++open;
      }
    }
  }
  net::co_spawn(conn->stream.get_executor(), Session(conn), [this, conn](std::exception_ptr e) {
    LogCoroutineException("http server: connection", e);
    Unregister(conn);
  });
}

void Server::Impl::Unregister(const ConnectionPtr& conn) {
  std::size_t remaining;
  {
    std::lock_guard lock(connections_mu);
    connections.erase(conn->position);
    remaining = connections.size();
    if (options.max_connections_per_address > 0 && !conn->over_address_limit) {
      auto it = per_address.find(conn->address);
      if (it != per_address.end() && --it->second == 0) per_address.erase(it);
    }
  }
  if (remaining + 1 == max_connections) net::post(control, [this] { wakeup.cancel(); });
  if (remaining == 0 && stopping.load()) net::post(control, [this] { grace.cancel(); });
}

bool Server::Impl::ShedIdle() {
  std::lock_guard lock(connections_mu);
  for (const auto& weak : connections) {
    ConnectionPtr conn = weak.lock();
    if (!conn || !conn->idle.load()) continue;
    net::post(conn->stream.get_executor(), [conn] {
      // It may have begun a request meanwhile: then it is not idle any more, and stays.
      if (conn->idle.load() && !conn->closed) CloseConnection(*conn);
    });
    return true;
  }
  return false;
}

net::awaitable<bool> Server::Impl::AnswerHead(ConnectionPtr conn, Request& request,
                                              const BeastRequest& head, bool must_close,
                                              Response answer, Clock::time_point start,
                                              bool& linger) {
  // The writer, the access log and the metrics read the request's head.
  request.raw.base() = head.base();
  // A body left unread ends the connection: its bytes would be read as the next request.
  if (must_close) request.raw.keep_alive(false);
  ConnectionWriter writer(options, stopping, conn, request);
  co_await writer.Send(answer);
  LogAccess(ToStd(request.raw.method_string()), ToStd(request.raw.target()), writer.status(), start,
            request.request_id, conn->peer);
  if (options.on_request) options.on_request(request, writer.status(), Clock::now() - start);
  if (conn->closed || !writer.reusable()) {
    linger = !conn->closed && writer.complete();
    co_return false;
  }
  co_return true;
}

net::awaitable<void> Server::Impl::Session(ConnectionPtr conn) {
  Stream& stream = conn->stream;
  beast::flat_buffer buffer;
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  bool linger = false;

  if (conn->over_address_limit) {
    co_await net::async_write(
        stream, net::buffer(kTooManyConnections.data(), kTooManyConnections.size()), token);
    linger = !ec;
  }

  while (!linger && !stopping.load(std::memory_order_relaxed)) {
    if (buffer.size() == 0) {
      // Between requests the idle timeout applies; read_timeout starts with the first byte.
      conn->idle = true;
      stream.expires_after(options.idle_timeout);
      std::size_t n = co_await stream.async_read_some(buffer.prepare(kFirstReadSize), token);
      conn->idle = false;
      if (ec || conn->closed) break;  // idle timeout, peer closed, Stop(), or shed
      buffer.commit(n);
    }
    const Clock::time_point start = Clock::now();

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(options.body_limit);
    stream.expires_after(options.read_timeout);
    co_await bhttp::async_read_header(stream, buffer, parser, token);

    Request request;
    request.peer = conn->peer;
    Router::Admission admission;
    BodyReservation reservation(body_budget);
    if (!ec) {
      const BeastRequest& head = parser.get();
      request.request_id = PickRequestId(head);
      const bool body_pending = !parser.is_done();
      bool must_close = body_pending;  // after an early answer
      std::optional<Response> early;
      if (auto problem = HeadProblem(head)) {
        early =
            ErrorResponse(bhttp::status::bad_request, ErrorCodeName(ErrorCode::kInvalidArgument),
                          "malformed request: " + *problem);
        must_close = true;
      } else {
        admission = router.Admit(request, head);
        early = std::move(admission.answer);
      }
      if (!early && body_pending) {
        // A longer Content-Length already failed the header read with body_limit (413).
        const auto length = parser.content_length();
        const std::size_t expected =
            length ? std::min<std::size_t>(*length, options.body_limit) : options.body_limit;
        if (!reservation.Take(expected)) {
          early = ErrorResponse(bhttp::status::service_unavailable,
                                ErrorCodeName(ErrorCode::kUnavailable),
                                "too many request bodies in flight; retry shortly");
          early->set(bhttp::field::retry_after, "1");
        }
      }
      if (early) {
        if (!co_await AnswerHead(conn, request, head, must_close, std::move(*early), start,
                                 linger)) {
          break;
        }
        continue;
      }
      if (body_pending) {
        auto expect = head.find(bhttp::field::expect);
        if (expect != head.end() && beast::iequals(expect->value(), "100-continue") &&
            head.version() == 11) {
          co_await net::async_write(stream, net::buffer(kContinue.data(), kContinue.size()), token);
        }
        if (!ec) co_await bhttp::async_read(stream, buffer, parser, token);
      }
    }
    if (ec) {
      std::optional<Response> res = ReadErrorResponse(ec);
      if (!res) break;  // timeout mid-request, peer gone, or Stop()'s force close
      std::string_view method = "-";
      std::string_view target = "-";
      unsigned version = 11;
      if (parser.is_header_done()) {
        if (request.request_id.empty()) request.request_id = PickRequestId(parser.get());
        method = ToStd(parser.get().method_string());
        target = ToStd(parser.get().target());
        version = parser.get().version();
      } else {
        request.request_id = NextRequestId();
      }
      Finalize(*res, version, false, request.request_id, false);
      stream.expires_after(options.read_timeout);
      co_await bhttp::async_write(stream, *res, token);
      LogAccess(method, target, res->result_int(), start, request.request_id, conn->peer);
      linger = !ec;
      break;
    }

    request.raw = parser.release();
    reservation.Release();
    ConnectionWriter writer(options, stopping, conn, request);
    co_await Handle(*admission.route, request, writer);
    writer.StopWatching();
    LogAccess(ToStd(request.raw.method_string()), ToStd(request.raw.target()), writer.status(),
              start, request.request_id, conn->peer);
    if (options.on_request) {
      options.on_request(request, writer.status(), Clock::now() - start);
    }
    if (conn->closed || !writer.complete()) break;
    if (!writer.reusable()) {
      linger = buffer.size() > 0;  // the client pipelined requests we will not answer
      break;
    }
  }

  if (linger && !conn->closed) {
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(kLingerTimeout);  // one deadline for the whole drain
    while (!ec && !conn->closed) {
      buffer.clear();
      // Ends on EOF (the client read the answer and closed), the deadline, or Stop().
      co_await stream.async_read_some(buffer.prepare(kFirstReadSize), token);
    }
  }
  if (!conn->closed) {
    ec = {};
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
  }
}

net::awaitable<void> Server::Impl::Handle(const Router::Route& route, Request& request,
                                          ResponseWriter& writer) {
  bool threw = true;
  try {
    co_await router.Run(route, request, writer, options.work_pool.get());
    threw = false;
  } catch (const std::exception& e) {
    // The exception text may hold internals: it goes to the log, never to the client.
    spdlog::error("http {} {}: handler threw (request id {}): {}",
                  ToStd(request.raw.method_string()), request.path, request.request_id, e.what());
  } catch (...) {
    spdlog::error("http {} {}: handler threw an unknown exception (request id {})",
                  ToStd(request.raw.method_string()), request.path, request.request_id);
  }
  // A stream cut short, or a client gone before its answer: the caller closes the connection.
  if (writer.started() || writer.client_gone()) co_return;
  if (!threw) {
    spdlog::error("http {} {}: handler returned without answering (request id {})",
                  ToStd(request.raw.method_string()), request.path, request.request_id);
  }
  Response res = ErrorResponse(bhttp::status::internal_server_error,
                               ErrorCodeName(ErrorCode::kInternal), "internal error");
  co_await writer.Send(res);
}

std::optional<Response> Server::Impl::ReadErrorResponse(const beast::error_code& ec) {
  if (ec == bhttp::error::body_limit) {
    return ErrorResponse(
        bhttp::status::payload_too_large, ErrorCodeName(ErrorCode::kPayloadTooLarge),
        "request body exceeds the limit of " + std::to_string(options.body_limit) + " bytes");
  }
  if (ec == bhttp::error::header_limit) {
    return ErrorResponse(
        bhttp::status::request_header_fields_too_large, "headers_too_large",
        "request headers exceed the limit of " + std::to_string(header_limit) + " bytes");
  }
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
    return std::nullopt;
  }
  if (IsHttpParseError(ec)) {
    return ErrorResponse(bhttp::status::bad_request, ErrorCodeName(ErrorCode::kInvalidArgument),
                         "malformed request: " + ec.message());
  }
  return std::nullopt;  // beast::error::timeout, a reset, or a socket closed by Stop()
}

void Server::Impl::LogAccess(std::string_view method, std::string_view target, unsigned status,
                             Clock::time_point start, const std::string& request_id,
                             const std::string& peer) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  // A method is any token a client sends: no more of it than a real one needs.
  constexpr std::size_t kMaxLoggedMethod = 16;
  method = method.substr(0, kMaxLoggedMethod);
  // The query string may carry tokens: log the path only.
  std::string_view path = target.substr(0, target.find('?'));
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  // The same facts as fields, for JSON log consumers (common/logging.hpp).
  LogFields fields({{"request_id", request_id},
                    {"method", method},
                    {"path", path},
                    {"status", status},
                    {"duration_ms", ms},
                    {"peer", peer}});
  spdlog::info("http {} {} {} {:.2f}ms id={} peer={}", method, path, status, ms, request_id, peer);
}

// ---- ConnectionWriter ----------------------------------------------------------------------

net::awaitable<bool> ConnectionWriter::Send(Response& response) {
  started_ = true;
  status_ = response.result_int();
  // Read now, after the handler's work: a Stop() during a slow handler still closes this
  // connection.
  keep_alive_ = request_.raw.keep_alive() && !stopping_.load();
  Finalize(response, request_.raw.version(), request_.raw.method() == bhttp::verb::head,
           request_.request_id, keep_alive_);
  beast::error_code ec;
  conn_->stream.expires_after(options_.read_timeout);
  co_await bhttp::async_write(conn_->stream, response, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return Failed();
  complete_ = true;
  co_return true;
}

net::awaitable<bool> ConnectionWriter::Begin(ResponseHead& head) {
  started_ = true;
  status_ = head.result_int();
  head.version(request_.raw.version());
  head.set(bhttp::field::server, "berth");
  head.set("X-Request-Id", request_.request_id);
  head.erase(bhttp::field::content_length);
  // HTTP/1.0 has no chunked encoding: the body runs until the connection closes.
  chunked_ = request_.raw.version() >= 11;
  keep_alive_ = chunked_ && request_.raw.keep_alive() && !stopping_.load();
  head.keep_alive(keep_alive_);
  head.chunked(chunked_);
  bhttp::response_serializer<bhttp::empty_body> serializer(head);
  serializer.split(true);
  beast::error_code ec;
  while (!ec && !serializer.is_header_done()) {
    serializer.next(ec, [&](beast::error_code&, const auto& buffers) {
      for (const net::const_buffer b : beast::buffers_range_ref(buffers)) {
        head_.append(static_cast<const char*>(b.data()), b.size());
      }
      serializer.consume(beast::buffer_bytes(buffers));
    });
  }
  if (ec) {
    spdlog::error("http: cannot serialize a response head: {}", ec.message());
    co_return Failed();
  }
  co_return true;
}

net::awaitable<bool> ConnectionWriter::WriteBody(std::string_view data, bool last) {
  if (gone_) co_return false;
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  char size_line[24];
  std::array<net::const_buffer, 5> buffers;
  std::size_t count = 0;
  if (!head_.empty()) buffers[count++] = net::buffer(head_);
  if (!data.empty()) {
    if (chunked_) {
      // The chunk size in hex, then CRLF, written from the end of size_line.
      static constexpr char kHex[] = "0123456789abcdef";
      char* end = size_line + sizeof size_line;
      char* p = end;
      *--p = '\n';
      *--p = '\r';
      for (std::size_t n = data.size(); n > 0; n >>= 4) *--p = kHex[n & 15];
      buffers[count++] = net::buffer(p, static_cast<std::size_t>(end - p));
    }
    buffers[count++] = net::buffer(data.data(), data.size());
    if (chunked_) buffers[count++] = net::buffer(kCrlf.data(), kCrlf.size());
  }
  if (last && chunked_) buffers[count++] = net::buffer(kLastChunk.data(), kLastChunk.size());
  if (count > 0) {
    beast::error_code ec;
    conn_->stream.expires_after(options_.stream_write_timeout);
    co_await net::async_write(conn_->stream,
                              std::span<const net::const_buffer>(buffers.data(), count),
                              net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return Failed();
    head_.clear();
  }
  if (last) complete_ = true;
  co_return true;
}

net::awaitable<bool> ConnectionWriter::Write(std::string_view data) {
  // An empty piece sends nothing (as a chunk it would end the body), except a held head.
  return WriteBody(data, false);
}

net::awaitable<bool> ConnectionWriter::Flush() { return WriteBody({}, false); }

net::awaitable<bool> ConnectionWriter::End(std::string_view data) { return WriteBody(data, true); }

void ConnectionWriter::WatchClient(std::function<void()> on_gone) {
  watch_->on_gone = std::move(on_gone);
  if (watch_->active) return;
  if (client_gone()) {
    net::post(executor(), [watch = watch_] {
      if (watch->on_gone) watch->on_gone();
    });
    return;
  }
  watch_->active = true;
  ConnectionPtr conn = conn_;
  // A readiness wait consumes nothing: what the client sends next stays for the session.
  conn->stream.socket().async_wait(
      tcp::socket::wait_read, [conn, watch = watch_](const beast::error_code& ec) {
        if (!watch->active) return;  // the handler is done (or StopWatching cancelled the wait)
        watch->active = false;
        bool gone = true;
        if (!ec) {
          char byte;
          const ssize_t n =
              ::recv(conn->stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          // n > 0: the client pipelined more bytes; it is still there, and the watch ends.
          gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        }
        if (!gone) return;
        watch->gone = true;
        if (watch->on_gone) {
          auto on_gone = std::move(watch->on_gone);
          on_gone();
        }
      });
}

void ConnectionWriter::StopWatching() {
  if (!watch_->active) return;
  watch_->active = false;
  watch_->on_gone = nullptr;
  beast::error_code ec;
  conn_->stream.socket().cancel(ec);  // nothing else is pending on the socket now
}

Server::Server(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}

Server::~Server() {
  impl_->Stop();
  std::unique_lock lock(impl_->run_mu);
  impl_->run_cv.wait(lock, [this] { return !impl_->running; });
}

Status Server::Listen() { return impl_->Listen(); }

unsigned short Server::port() const { return impl_->port; }

void Server::Run() { impl_->Run(); }

void Server::Stop() { impl_->Stop(); }

}  // namespace berth::http
