#include "support/http_client.hpp"

#include <cctype>
#include <chrono>
#include <cstdint>
#include <limits>

#include "common/asio.hpp"

namespace berth::testing {
namespace {

using tcp = net::ip::tcp;

// Every operation gets a deadline so that a broken server fails a test instead of hanging it.
// Beast's deadlines apply to async operations only, hence async calls run to completion here.
// Long enough for an agent's cold start on a loaded machine: POST /api/agent/start waits for it.
constexpr std::chrono::seconds kRequestTimeout{120};
constexpr std::chrono::seconds kRawTimeout{5};

// Runs one async operation on `ioc` to completion and returns its error.
template <typename Initiate>
beast::error_code RunOp(net::io_context& ioc, Initiate initiate) {
  beast::error_code result;
  initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

bool Connect(net::io_context& ioc, beast::tcp_stream& stream, const std::string& host,
             unsigned short port) {
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return false;
  ec = RunOp(ioc, [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
  return !ec;
}

}  // namespace

nlohmann::json HttpResult::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

HttpResult HttpRequest(const std::string& method, const std::string& host, unsigned short port,
                       const std::string& target, const std::string& body,
                       const std::map<std::string, std::string>& headers) {
  HttpResult result;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(kRequestTimeout);
  if (!Connect(ioc, stream, host, port)) return result;

  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  bool has_host = false;
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    req.set(name, value);
    has_host |= beast::iequals(name, "host");
    has_content_type |= beast::iequals(name, "content-type");
  }
  if (!has_host) req.set(bhttp::field::host, host + ":" + std::to_string(port));
  if (!body.empty()) {
    if (!has_content_type) req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();

  // A write error does not end the exchange: a server refusing a request (413) may stop reading
  // and close after answering, and that answer is what the test wants to see.
  stream.expires_after(kRequestTimeout);
  RunOp(ioc, [&](auto handler) { bhttp::async_write(stream, req, std::move(handler)); });

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  // Beast 1.74 checks a Content-Length body against boost::none as if it were a zero limit and
  // refuses it; the largest limit means none.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (method == "HEAD") parser.skip(true);
  stream.expires_after(kRequestTimeout);
  beast::error_code ec = RunOp(
      ioc, [&](auto handler) { bhttp::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec) return result;

  const auto& res = parser.get();
  result.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[name] = std::string(field.value());
  }
  result.body = res.body();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return result;
}

std::string RawExchange(const std::string& host, unsigned short port, const std::string& bytes) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(kRawTimeout);
  if (!Connect(ioc, stream, host, port)) return {};
  // One deadline for the whole exchange.
  stream.expires_after(kRawTimeout);
  RunOp(ioc,
        [&](auto handler) { net::async_write(stream, net::buffer(bytes), std::move(handler)); });
  std::string out;
  char chunk[4096];
  for (;;) {
    std::size_t n = 0;
    beast::error_code ec = RunOp(ioc, [&](auto handler) {
      stream.async_read_some(net::buffer(chunk), [&n, handler = std::move(handler)](
                                                     beast::error_code e, std::size_t got) mutable {
        n = got;
        handler(e);
      });
    });
    out.append(chunk, n);
    if (ec) break;  // EOF, reset or the deadline
  }
  return out;
}

}  // namespace berth::testing
