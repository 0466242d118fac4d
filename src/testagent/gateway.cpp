#include "testagent/gateway.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <exception>
#include <limits>
#include <optional>
#include <variant>

#include "common/logging.hpp"
#include "testagent/openai_api.hpp"

namespace berth::testagent {
namespace {

using tcp = net::ip::tcp;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using StringRequest = bhttp::request<bhttp::string_body>;
using StringResponse = bhttp::response<bhttp::string_body>;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::size_t kChunkBuffer = 16 << 10;

std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

StringResponse JsonResponse(bhttp::status status, const json& body) {
  StringResponse res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = body.dump();
  return res;
}

StringResponse ErrorResponse(bhttp::status status, std::string_view message,
                             std::string_view type) {
  return JsonResponse(status, OpenAiError(message, type));
}

// What the client is told when the provider cannot be used (the gateway answers the same way).
StringResponse BadGateway(const std::string& why) {
  return ErrorResponse(bhttp::status::bad_gateway, "upstream request failed: " + why,
                       "upstream_error");
}

struct ForwardResult {
  unsigned status = 0;
  bool keep_alive = false;
  std::size_t bytes = 0;
  std::size_t pieces = 0;
};

// Shared by a stream and the coroutine that watches its client for a disconnect.
struct WatchState {
  bool done = false;
};

}  // namespace

namespace detail {
struct GatewayConnection {
  explicit GatewayConnection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  std::string peer;
  std::list<std::weak_ptr<GatewayConnection>>::iterator position;
};
}  // namespace detail

namespace {

using ConnectionPtr = std::shared_ptr<detail::GatewayConnection>;

net::awaitable<beast::error_code> WriteResponse(beast::tcp_stream& stream, StringResponse res,
                                                unsigned version, bool keep_alive,
                                                std::chrono::seconds timeout) {
  beast::error_code ec;
  res.version(version);
  res.set(bhttp::field::server, "berth-test-agent");
  res.keep_alive(keep_alive);
  res.prepare_payload();
  stream.expires_after(timeout);
  co_await bhttp::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
  co_return ec;
}

enum class ChatFault { kNone, kHang, kGarbage, kCut, kOk };

ChatFault ChatFaultOf(const GatewayOptions& options, std::string_view body) {
  if (!options.chat_faults) return ChatFault::kNone;
  if (body.find("fault:hang") != std::string_view::npos) return ChatFault::kHang;
  if (body.find("fault:garbage") != std::string_view::npos) return ChatFault::kGarbage;
  if (body.find("fault:cut") != std::string_view::npos) return ChatFault::kCut;
  if (body.find("fault:ok") != std::string_view::npos) return ChatFault::kOk;
  return ChatFault::kNone;
}

json CannedCompletion() {
  return {{"id", "chatcmpl-fault-ok"},
          {"object", "chat.completion"},
          {"created", 0},
          {"model", "openclaw"},
          {"choices", json::array({{{"index", 0},
                                    {"message", {{"role", "assistant"}, {"content", "ok"}}},
                                    {"finish_reason", "stop"}}})}};
}

// The misbehaviours of GatewayOptions::chat_faults; the connection is done afterwards.
net::awaitable<void> Misbehave(ConnectionPtr conn, ChatFault fault) {
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  auto& socket = conn->stream.socket();
  if (fault == ChatFault::kHang) {
    // Readable with nothing to read is the client closing; Stop() closes the socket too.
    do {
      co_await socket.async_wait(tcp::socket::wait_read, token);
      if (ec) break;
      std::array<char, 4096> sink;
      socket.read_some(net::buffer(sink), ec);
    } while (!ec);
    co_return;
  }
  static constexpr std::string_view kGarbage =
      "\x16\x03\x01 this is not HTTP \xff\xfe\r\n{\"choices\":[\r\n\r\n";
  static constexpr std::string_view kCut =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3f\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"partial\"}}]}\n\n\r\n";
  const std::string_view bytes = fault == ChatFault::kGarbage ? kGarbage : kCut;
  co_await net::async_write(socket, net::buffer(bytes.data(), bytes.size()), token);
}

// Waits until the client's socket turns readable while a response streams to it. Readable with
// nothing to read is EOF (or an error): the client is gone, so the provider connection is closed
// at once rather than when the next piece fails to reach the client. Readable with bytes is a
// pipelined request, left for the session.
net::awaitable<void> WatchClient(ConnectionPtr conn, std::shared_ptr<beast::tcp_stream> up,
                                 std::shared_ptr<WatchState> state) {
  beast::tcp_stream& client = conn->stream;
  beast::error_code ec;
  co_await client.socket().async_wait(tcp::socket::wait_read,
                                      net::redirect_error(net::use_awaitable, ec));
  if (state->done) co_return;
  beast::error_code avail_ec;
  if (!ec && client.socket().available(avail_ec) > 0 && !avail_ec) co_return;
  spdlog::info("client went away mid-stream: closing the provider connection");
  beast::error_code ignored;
  up->socket().shutdown(tcp::socket::shutdown_both, ignored);
  up->close();
}

// Forwards one planned chat to the provider and streams its answer back to the client.
net::awaitable<ForwardResult> ForwardChat(ConnectionPtr conn, ChatPlan plan, std::string accept,
                                          unsigned version, bool client_keep_alive,
                                          GatewayOptions options) {
  beast::tcp_stream& client = conn->stream;
  auto executor = co_await net::this_coro::executor;
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  ForwardResult result;
  result.keep_alive = client_keep_alive;

  auto up = std::make_shared<beast::tcp_stream>(executor);
  std::string stage = "resolve";
  tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(plan.url.host, plan.url.port, token);
  if (!ec) {
    stage = "connect";
    up->expires_after(options.connect_timeout);
    co_await up->async_connect(endpoints, token);
  }
  if (!ec) {
    stage = "send";
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, plan.url.path, 11};
    req.set(bhttp::field::host, plan.url.HostHeader());
    req.set(bhttp::field::content_type, "application/json");
    req.set(bhttp::field::accept, accept.empty() ? "*/*" : accept);
    req.set(bhttp::field::user_agent, "berth-test-agent");
    if (!plan.api_key.empty()) req.set(bhttp::field::authorization, "Bearer " + plan.api_key);
    req.keep_alive(false);
    req.body() = std::move(plan.body);
    req.prepare_payload();
    co_await bhttp::async_write(*up, req, token);
  }
  beast::flat_buffer up_buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  // Not boost::none: Beast 1.74 then refuses every answer with a Content-Length ("body limit
  // exceeded"); the provider's answer is streamed, never held, so no limit is needed.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (!ec) {
    stage = "read the answer of";
    up->expires_after(options.upstream_timeout);
    co_await bhttp::async_read_header(*up, up_buffer, parser, token);
  }
  if (ec) {
    spdlog::warn("chat via {}: cannot {} {}: {}", plan.model_ref, stage, plan.url.HostHeader(),
                 ec.message());
    StringResponse res = BadGateway("cannot " + stage + " the provider at " +
                                    plan.url.HostHeader() + ": " + ec.message());
    result.status = res.result_int();
    ec = co_await WriteResponse(client, std::move(res), version, client_keep_alive,
                                options.write_timeout);
    result.keep_alive = client_keep_alive && !ec;
    co_return result;
  }

  const auto& head = parser.get();
  result.status = head.result_int();
  bhttp::response<bhttp::empty_body> out{head.result(), version};
  out.set(bhttp::field::server, "berth-test-agent");
  const std::string content_type(ToStd(head[bhttp::field::content_type]));
  if (!content_type.empty()) out.set(bhttp::field::content_type, content_type);
  if (auto cc = head.find(bhttp::field::cache_control); cc != head.end()) {
    out.set(bhttp::field::cache_control, cc->value());
  }
  const bool sse = content_type.rfind("text/event-stream", 0) == 0;
  const bool chunked = sse || parser.chunked() || !parser.content_length();
  if (chunked) {
    out.chunked(true);
  } else {
    out.content_length(*parser.content_length());
  }
  out.keep_alive(client_keep_alive);
  bhttp::response_serializer<bhttp::empty_body> serializer{out};
  client.expires_after(options.write_timeout);
  co_await bhttp::async_write_header(client, serializer, token);
  if (ec) {
    up->close();
    result.keep_alive = false;
    co_return result;
  }

  auto watch = std::make_shared<WatchState>();
  net::co_spawn(executor, WatchClient(conn, up, watch),
                [](std::exception_ptr e) { LogCoroutineException("client watch", e); });

  std::array<char, kChunkBuffer> piece;
  bool upstream_failed = false;
  bool client_failed = false;
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    up->expires_after(options.upstream_timeout);
    co_await bhttp::async_read_some(*up, up_buffer, parser, token);
    if (ec == bhttp::error::need_buffer) ec = {};
    const beast::error_code read_ec = ec;
    const std::size_t n = piece.size() - parser.get().body().size;
    if (n > 0) {
      client.expires_after(options.write_timeout);
      if (chunked) {
        co_await net::async_write(client, bhttp::make_chunk(net::buffer(piece.data(), n)), token);
      } else {
        co_await net::async_write(client, net::buffer(piece.data(), n), token);
      }
      if (ec) {
        client_failed = true;
        break;
      }
      result.bytes += n;
      ++result.pieces;
    }
    if (read_ec) {
      upstream_failed = true;
      ec = read_ec;
      break;
    }
  }
  watch->done = true;
  beast::error_code ignored;
  client.socket().cancel(ignored);  // ends the watch
  up->socket().shutdown(tcp::socket::shutdown_both, ignored);
  up->close();

  if (client_failed || upstream_failed) {
    // The status line is out: all that is left to signal a broken answer is closing.
    spdlog::warn("chat via {}: stream ended early after {} bytes: {} {}", plan.model_ref,
                 result.bytes, client_failed ? "client:" : "provider:", ec.message());
    result.keep_alive = false;
    co_return result;
  }
  if (chunked) {
    client.expires_after(options.write_timeout);
    co_await net::async_write(client, bhttp::make_chunk_last(), token);
    if (ec) result.keep_alive = false;
  }
  co_return result;
}

}  // namespace

Gateway::Gateway(net::io_context& ioc, GatewayOptions options)
    : ioc_(ioc), options_(std::move(options)), acceptor_(ioc) {}

Gateway::~Gateway() { Stop(); }

Status Gateway::Listen() {
  beast::error_code ec;
  auto address = net::ip::make_address(options_.host, ec);
  if (ec) return InvalidArgument("invalid listen address \"" + options_.host + "\"");
  tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor_.close(ignored);
    return Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                       ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

void Gateway::Start() {
  net::post(ioc_, [this] {
    net::co_spawn(ioc_, AcceptLoop(),
                  [](std::exception_ptr e) { LogCoroutineException("accept loop", e); });
  });
}

void Gateway::Stop() {
  if (stopping_) return;
  stopping_ = true;
  beast::error_code ec;
  acceptor_.close(ec);
  for (const auto& weak : connections_) {
    if (auto conn = weak.lock()) {
      conn->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      conn->stream.close();
    }
  }
}

void Gateway::SetConfig(nlohmann::json config) {
  config_ = std::make_shared<const nlohmann::json>(std::move(config));
}

net::awaitable<void> Gateway::AcceptLoop() {
  beast::error_code ec;
  net::steady_timer backoff(ioc_);
  while (!stopping_) {
    tcp::socket socket(ioc_);
    co_await acceptor_.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
    if (stopping_) break;
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) break;
      spdlog::warn("accept failed: {}", ec.message());  // EMFILE and the like: do not spin
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(net::redirect_error(net::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto remote = socket.remote_endpoint(ec);
    auto conn = std::make_shared<Connection>(std::move(socket));
    conn->peer = ec ? std::string("unknown")
                    : remote.address().to_string() + ":" + std::to_string(remote.port());
    conn->position = connections_.insert(connections_.end(), conn);
    net::co_spawn(ioc_, Session(conn), [this, conn](std::exception_ptr e) {
      LogCoroutineException("connection", e);
      connections_.erase(conn->position);
    });
  }
}

net::awaitable<void> Gateway::Session(std::shared_ptr<Connection> conn) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  while (!stopping_) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.header_limit));
    parser.body_limit(options_.body_limit);
    // One deadline covers the keep-alive gap and the whole request.
    conn->stream.expires_after(options_.read_timeout);
    co_await bhttp::async_read_header(conn->stream, buffer, parser, token);
    if (!ec && !parser.is_done()) {
      auto expect = parser.get().find(bhttp::field::expect);
      if (expect != parser.get().end() && beast::iequals(expect->value(), "100-continue")) {
        co_await net::async_write(conn->stream, net::buffer(kContinue.data(), kContinue.size()),
                                  token);
      }
      if (!ec) co_await bhttp::async_read(conn->stream, buffer, parser, token);
    }
    if (ec) {
      std::optional<StringResponse> res;
      if (ec == bhttp::error::body_limit) {
        res = ErrorResponse(bhttp::status::payload_too_large, "request body too large",
                            "invalid_request_error");
      } else if (ec == bhttp::error::header_limit) {
        res = ErrorResponse(bhttp::status::request_header_fields_too_large,
                            "request headers too large", "invalid_request_error");
      } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
                 ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        res =
            ErrorResponse(bhttp::status::bad_request, "malformed request", "invalid_request_error");
      }
      if (res)
        co_await WriteResponse(conn->stream, std::move(*res), 11, false, options_.write_timeout);
      break;
    }

    const auto start = SteadyClock::now();
    StringRequest req = parser.release();
    const bool keep_alive = req.keep_alive() && !stopping_;
    const std::string target(ToStd(req.target()));
    const std::string path = target.substr(0, target.find('?'));
    const auto method = req.method();
    const bool authorized =
        BearerMatches(ToStd(req[bhttp::field::authorization]), options_.gateway_token);
    const auto unauthorized = [] {
      return ErrorResponse(bhttp::status::unauthorized, "Unauthorized", "unauthorized");
    };

    std::optional<StringResponse> res;
    std::optional<ForwardResult> forwarded;
    std::string note;
    if (path == "/healthz" && method == bhttp::verb::get) {
      res = JsonResponse(bhttp::status::ok, {{"ok", true}, {"status", "live"}});
    } else if (path == "/readyz" && method == bhttp::verb::get) {
      const bool ready = config_ != nullptr && SteadyClock::now() >= options_.ready_at;
      res = JsonResponse(ready ? bhttp::status::ok : bhttp::status::service_unavailable,
                         {{"ready", ready}});
    } else if (path == "/v1/models" && method == bhttp::verb::get) {
      res = authorized ? JsonResponse(bhttp::status::ok, ModelList()) : unauthorized();
    } else if (path == "/v1/chat/completions" && method == bhttp::verb::post) {
      if (!authorized) {
        res = unauthorized();
      } else {
        auto header = req.find("x-openclaw-model");
        std::optional<std::string_view> model_header;
        if (header != req.end()) model_header = ToStd(header->value());
        // Planned against the config of this moment; a hot reload affects later requests.
        std::shared_ptr<const json> config = config_;
        auto plan = PlanChat(config ? *config : json::object(), req.body(), model_header);
        const ChatFault fault = ChatFaultOf(options_, req.body());
        if (fault == ChatFault::kOk) {
          res = JsonResponse(bhttp::status::ok, CannedCompletion());
        } else if (fault != ChatFault::kNone) {
          spdlog::info("chat fault on purpose ({}): misbehaving", static_cast<int>(fault));
          co_await Misbehave(conn, fault);
          break;
        } else if (!plan.ok()) {
          res = ErrorResponse(bhttp::status::bad_request, plan.status().message(),
                              "invalid_request_error");
        } else {
          note = " via " + plan->model_ref;
          forwarded = co_await ForwardChat(conn, std::move(*plan),
                                           std::string(ToStd(req[bhttp::field::accept])),
                                           req.version(), keep_alive, options_);
        }
      }
    } else if (path == "/healthz" || path == "/readyz" || path == "/v1/models" ||
               path == "/v1/chat/completions") {
      res = ErrorResponse(bhttp::status::method_not_allowed, "Method Not Allowed",
                          "invalid_request_error");
    } else {
      res = ErrorResponse(bhttp::status::not_found, "Not Found", "not_found");
    }

    unsigned status = 0;
    bool keep = keep_alive;
    if (res) {
      status = res->result_int();
      ec = co_await WriteResponse(conn->stream, std::move(*res), req.version(), keep_alive,
                                  options_.write_timeout);
      keep = keep && !ec;
    } else {
      status = forwarded->status;
      keep = forwarded->keep_alive;
      note += " (" + std::to_string(forwarded->bytes) + " bytes in " +
              std::to_string(forwarded->pieces) + " pieces)";
    }
    const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
    // Path only: a query string may carry secrets. Never headers or bodies.
    spdlog::info("http {} {} {} {:.1f}ms{} peer={}", ToStd(req.method_string()), path, status, ms,
                 note, conn->peer);
    if (!keep) break;
  }
  beast::error_code ignored;
  conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  conn->stream.close();
}

}  // namespace berth::testagent
