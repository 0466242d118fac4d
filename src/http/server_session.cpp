// One connection's requests: read the head, admit (route and authenticate), read the body,
// run the handler, log; and the answers the server gives by itself.
#include <spdlog/spdlog.h>

#include <exception>

#include "common/logging.hpp"
#include "http/server_impl.hpp"

namespace berth::http {

using namespace server_detail;  // NOLINT: the server's own helpers

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
    reservation.ShrinkTo(request.raw.body().size());
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

}  // namespace berth::http
