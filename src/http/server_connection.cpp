#include "http/server_connection.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <iterator>
#include <span>

#include "common/ids.hpp"

namespace berth::http::server_detail {
namespace {

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace

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

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

// REQUIRES: on the connection's strand.
void CloseConnection(Connection& conn) {
  conn.closed = true;
  beast::error_code ec;
  conn.stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  conn.stream.close();
}

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

}  // namespace berth::http::server_detail
