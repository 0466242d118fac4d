#include "docker/transport.hpp"

#include <openssl/ssl.h>
#include <sys/un.h>

#include <atomic>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdint>
#include <limits>
#include <optional>

#include "docker/tls_context.hpp"

namespace berth::docker {
namespace {

namespace ssl = net::ssl;
using Clock = std::chrono::steady_clock;
using UnixStream = beast::basic_stream<net::local::stream_protocol>;
using TcpStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::size_t kStreamReadSize = 16 * 1024;

// Runs the handlers of `ioc` until no operation is pending. Every call owns its io_context and
// only the calling thread runs it, so this is how an asynchronous operation (with the deadline
// of its stream) becomes a synchronous call.
void Drain(net::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

std::string Describe(const EngineEndpoint& endpoint, const HttpRequest& request) {
  return "docker engine at " + endpoint.ToString() + ": " +
         std::string(bhttp::to_string(request.method)) + " " + request.target;
}

std::string Millis(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000) + " s";
  return std::to_string(timeout.count()) + " ms";
}

// The Status for a failed I/O step.
Status IoError(const std::string& what, const char* step, const beast::error_code& ec,
               std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    return Unavailable(what + ": no answer within " + Millis(timeout) + " (" + step + ")");
  }
  if (ec == bhttp::error::body_limit) return Internal(what + ": the response is too large");
  if (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream ||
      ec == net::error::eof) {
    return Unavailable(what + ": " + step + ": the engine closed the connection");
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    return Internal(what + ": the response is not valid HTTP: " + ec.message());
  }
  return Unavailable(what + ": " + step + ": " + ec.message());
}

bool IsIpAddress(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

beast::error_code Connect(net::io_context& ioc, UnixStream& stream, const EngineEndpoint& endpoint,
                          Clock::time_point deadline) {
  if (endpoint.socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
    return net::error::name_too_long;
  }
  beast::error_code result = net::error::would_block;
  stream.expires_at(deadline);
  stream.async_connect(net::local::stream_protocol::endpoint(endpoint.socket_path),
                       [&](beast::error_code ec) { result = ec; });
  Drain(ioc);
  return result;
}

beast::error_code Connect(net::io_context& ioc, TcpStream& stream, const EngineEndpoint& endpoint,
                          Clock::time_point deadline) {
  beast::error_code result = net::error::would_block;
  beast::error_code not_ip;
  const net::ip::address address = net::ip::make_address(endpoint.host, not_ip);
  if (!not_ip) {  // an IP address: nothing to resolve
    stream.expires_at(deadline);
    stream.async_connect(net::ip::tcp::endpoint(address, endpoint.port),
                         [&](beast::error_code ec) { result = ec; });
    Drain(ioc);
    return result;
  }
  // The resolver has no deadline of its own: a timer cancels it. (A getaddrinfo() that hangs
  // still delays the io_context's destruction: Asio joins its resolver thread.)
  net::ip::tcp::resolver resolver(ioc);
  net::steady_timer timer(ioc);
  bool resolved = false;
  bool timed_out = false;
  net::ip::tcp::resolver::results_type endpoints;
  timer.expires_at(deadline);
  timer.async_wait([&](beast::error_code ec) {
    if (!ec && !resolved) {
      timed_out = true;
      resolver.cancel();
    }
  });
  resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                         [&](beast::error_code ec, net::ip::tcp::resolver::results_type r) {
                           resolved = true;
                           timer.cancel();
                           result = ec;
                           endpoints = std::move(r);
                         });
  Drain(ioc);
  if (timed_out) return beast::error::timeout;
  if (result) return result;
  stream.expires_at(deadline);
  stream.async_connect(endpoints,
                       [&](beast::error_code ec, const net::ip::tcp::endpoint&) { result = ec; });
  Drain(ioc);
  return result;
}

beast::error_code Connect(net::io_context& ioc, TlsStream& stream, const EngineEndpoint& endpoint,
                          Clock::time_point deadline) {
  beast::error_code result = Connect(ioc, beast::get_lowest_layer(stream), endpoint, deadline);
  if (result) return result;
  if (!IsIpAddress(endpoint.host) &&
      SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str()) != 1) {
    return beast::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
  }
  // Accepts the certificate only when it names the host (DNS name or IP address SAN).
  stream.set_verify_callback(ssl::host_name_verification(endpoint.host), result);
  if (result) return result;
  beast::get_lowest_layer(stream).expires_at(deadline);
  result = net::error::would_block;
  stream.async_handshake(ssl::stream_base::client, [&](beast::error_code ec) { result = ec; });
  Drain(ioc);
  return result;
}

template <class Body>
void PrepareHeaders(bhttp::request<Body>& req, const EngineEndpoint& endpoint,
                    const HttpRequest& request) {
  req.version(11);
  req.method(request.method);
  req.target(request.target);
  req.set(bhttp::field::host, endpoint.HostHeader());
  req.set(bhttp::field::user_agent, "berth");
  if (!request.content_type.empty()) req.set(bhttp::field::content_type, request.content_type);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  // One connection per call: the engine may close it after answering.
  req.keep_alive(false);
}

// Writes `req` while reading the response, both bounded by `deadline`.
template <class Stream, class Body>
Result<HttpResponse> Exchange(net::io_context& ioc, Stream& stream, bhttp::request<Body>& req,
                              Clock::time_point deadline, std::size_t body_limit,
                              const std::string& what, std::chrono::milliseconds timeout) {
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(body_limit);
  beast::error_code write_ec = net::error::would_block;
  beast::error_code read_ec = net::error::would_block;
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_at(deadline);
  bhttp::async_write(stream, req, [&](beast::error_code ec, std::size_t) { write_ec = ec; });
  // The answer is complete (or failed): a write still pending is of no use any more.
  auto finish_read = [&](beast::error_code ec) {
    read_ec = ec;
    if (write_ec == net::error::would_block) lowest.cancel();
  };
  bhttp::async_read_header(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
    if (ec) return finish_read(ec);
    // Beast 1.74 does not hold a Content-Length against body_limit (chunked bodies it does).
    if (auto length = parser.content_length(); length && *length > body_limit) {
      return finish_read(bhttp::error::body_limit);
    }
    bhttp::async_read(stream, buffer, parser,
                      [&](beast::error_code ec, std::size_t) { finish_read(ec); });
  });
  Drain(ioc);
  if (read_ec) {
    // A refused upload (e.g. the engine closed the connection) explains more than the read.
    if (write_ec && write_ec != net::error::operation_aborted && read_ec != beast::error::timeout) {
      return IoError(what, "sending the request", write_ec, timeout);
    }
    return IoError(what, "reading the response", read_ec, timeout);
  }
  HttpResponse response;
  response.status = static_cast<int>(parser.get().result_int());
  response.content_type = std::string(parser.get()[bhttp::field::content_type]);
  response.body = std::move(parser.get().body());
  return response;
}

template <class Stream>
Result<HttpResponse> RoundTripOn(net::io_context& ioc, Stream& stream,
                                 const EngineEndpoint& endpoint, const HttpRequest& request,
                                 std::chrono::milliseconds timeout, std::size_t body_limit) {
  const Clock::time_point deadline = Clock::now() + timeout;
  const std::string what = Describe(endpoint, request);
  if (!request.body_file.empty()) {
    bhttp::request<bhttp::file_body> req;
    PrepareHeaders(req, endpoint, request);
    beast::error_code ec;
    req.body().open(request.body_file.c_str(), beast::file_mode::scan, ec);
    if (ec) return InvalidArgument("cannot open " + request.body_file + ": " + ec.message());
    req.prepare_payload();
    if ((ec = Connect(ioc, stream, endpoint, deadline))) {
      return IoError(what, "connecting", ec, timeout);
    }
    return Exchange(ioc, stream, req, deadline, body_limit, what, timeout);
  }
  if (beast::error_code ec = Connect(ioc, stream, endpoint, deadline)) {
    return IoError(what, "connecting", ec, timeout);
  }
  bhttp::request<bhttp::string_body> req;
  PrepareHeaders(req, endpoint, request);
  req.body() = request.body;
  req.prepare_payload();
  return Exchange(ioc, stream, req, deadline, body_limit, what, timeout);
}

template <class Stream>
class StreamImpl final : public ResponseStream {
 public:
  template <class... Args>
  explicit StreamImpl(Args&&... args) : stream_(ioc_, std::forward<Args>(args)...) {
    // Unlimited. Not boost::none: Beast 1.74 compares a Content-Length against an empty
    // optional limit as "too large".
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  Status Open(const EngineEndpoint& endpoint, const HttpRequest& request,
              std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    what_ = Describe(endpoint, request);
    if (beast::error_code ec = Connect(ioc_, stream_, endpoint, deadline)) {
      return IoError(what_, "connecting", ec, timeout);
    }
    bhttp::request<bhttp::string_body> req;
    PrepareHeaders(req, endpoint, request);
    req.body() = request.body;
    req.prepare_payload();
    auto& lowest = beast::get_lowest_layer(stream_);
    lowest.expires_at(deadline);
    beast::error_code result = net::error::would_block;
    bhttp::async_write(stream_, req, [&](beast::error_code ec, std::size_t) { result = ec; });
    Drain(ioc_);
    if (result) return IoError(what_, "sending the request", result, timeout);
    result = net::error::would_block;
    lowest.expires_at(deadline);
    bhttp::async_read_header(stream_, buffer_, parser_,
                             [&](beast::error_code ec, std::size_t) { result = ec; });
    Drain(ioc_);
    if (result) return IoError(what_, "reading the response", result, timeout);
    lowest.expires_never();
    status_ = static_cast<int>(parser_.get().result_int());
    content_type_ = std::string(parser_.get()[bhttp::field::content_type]);
    return Status::Ok();
  }

  int status() const override { return status_; }
  const std::string& content_type() const override { return content_type_; }

  Result<bool> ReadSome(std::string* out) override {
    if (closed_) return Unavailable(what_ + ": stream closed");
    if (parser_.is_done()) return false;
    char chunk[kStreamReadSize];
    parser_.get().body().data = chunk;
    parser_.get().body().size = sizeof(chunk);
    beast::error_code result = net::error::would_block;
    bhttp::async_read_some(stream_, buffer_, parser_,
                           [&](beast::error_code ec, std::size_t) { result = ec; });
    Drain(ioc_);
    out->append(chunk, sizeof(chunk) - parser_.get().body().size);
    if (closed_) return Unavailable(what_ + ": stream closed");
    if (result == bhttp::error::need_buffer) result = {};
    if (result == bhttp::error::end_of_stream) {
      return Unavailable(what_ + ": the engine closed the stream");
    }
    if (result) return IoError(what_, "reading the stream", result, {});
    return !parser_.is_done();
  }

  void Close() override {
    if (closed_.exchange(true)) return;
    // Runs on the thread blocked in ReadSome (or on the next one), never concurrently with it.
    net::post(ioc_, [this] {
      beast::error_code ignored;
      auto& lowest = beast::get_lowest_layer(stream_);
      lowest.socket().shutdown(net::socket_base::shutdown_both, ignored);
      lowest.close();
    });
  }

 private:
  net::io_context ioc_{1};  // first: outlives the stream and every queued handler
  Stream stream_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::buffer_body> parser_;
  std::atomic<bool> closed_{false};
  int status_ = 0;
  std::string content_type_;
  std::string what_;
};

template <class Stream, class... Args>
Result<std::unique_ptr<ResponseStream>> OpenOn(const EngineEndpoint& endpoint,
                                               const HttpRequest& request,
                                               std::chrono::milliseconds timeout, Args&&... args) {
  auto stream = std::make_unique<StreamImpl<Stream>>(std::forward<Args>(args)...);
  BERTH_RETURN_IF_ERROR(stream->Open(endpoint, request, timeout));
  return std::unique_ptr<ResponseStream>(std::move(stream));
}

}  // namespace

Result<std::shared_ptr<const Transport>> Transport::Create(EngineEndpoint endpoint) {
  std::shared_ptr<ssl::context> tls;
  if (endpoint.kind == EngineEndpoint::Kind::kTcp && endpoint.tls) {
    auto ctx = MakeClientTlsContext(*endpoint.tls);
    if (!ctx.ok()) return ctx.status();
    tls = std::move(ctx).value();
  }
  return std::shared_ptr<const Transport>(new Transport(std::move(endpoint), std::move(tls)));
}

Result<HttpResponse> Transport::RoundTrip(const HttpRequest& request,
                                          std::chrono::milliseconds timeout,
                                          std::size_t body_limit) const {
  // An io_context needs descriptors of its own (epoll, eventfd): out of them (EMFILE), its
  // constructor throws, and the call fails like one that could not connect.
  try {
    return RoundTripOnce(request, timeout, body_limit);
  } catch (const boost::system::system_error& e) {
    return Unavailable("cannot reach the container engine: " + e.code().message());
  }
}

Result<HttpResponse> Transport::RoundTripOnce(const HttpRequest& request,
                                              std::chrono::milliseconds timeout,
                                              std::size_t body_limit) const {
  net::io_context ioc{1};
  if (endpoint_.kind == EngineEndpoint::Kind::kUnix) {
    UnixStream stream(ioc);
    return RoundTripOn(ioc, stream, endpoint_, request, timeout, body_limit);
  }
  if (tls_) {
    TlsStream stream(ioc, *tls_);
    return RoundTripOn(ioc, stream, endpoint_, request, timeout, body_limit);
  }
  TcpStream stream(ioc);
  return RoundTripOn(ioc, stream, endpoint_, request, timeout, body_limit);
}

Result<std::unique_ptr<ResponseStream>> Transport::OpenStream(
    const HttpRequest& request, std::chrono::milliseconds timeout) const {
  try {  // see RoundTrip()
    if (endpoint_.kind == EngineEndpoint::Kind::kUnix) {
      return OpenOn<UnixStream>(endpoint_, request, timeout);
    }
    if (tls_) return OpenOn<TlsStream>(endpoint_, request, timeout, *tls_);
    return OpenOn<TcpStream>(endpoint_, request, timeout);
  } catch (const boost::system::system_error& e) {
    return Unavailable("cannot reach the container engine: " + e.code().message());
  }
}

}  // namespace berth::docker
