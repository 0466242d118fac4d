#include "lifecycle/gateway_probe.hpp"

#include "common/asio.hpp"

namespace berth::lifecycle {

using tcp = net::ip::tcp;

Result<int> HttpGatewayProbe::Get(const std::string& host, int port, const std::string& path,
                                  std::chrono::milliseconds timeout) {
  auto answer = Exchange(/*post=*/false, host, port, path, "", "", timeout);
  if (!answer.ok()) return answer.status();
  return answer->status;
}

Result<GatewayAnswer> HttpGatewayProbe::Post(const std::string& host, int port,
                                             const std::string& path, const std::string& bearer,
                                             const std::string& json_body,
                                             std::chrono::milliseconds timeout) {
  return Exchange(/*post=*/true, host, port, path, bearer, json_body, timeout);
}

Result<GatewayAnswer> HttpGatewayProbe::Exchange(bool post, const std::string& host, int port,
                                                 const std::string& path, const std::string& bearer,
                                                 const std::string& json_body,
                                                 std::chrono::milliseconds timeout) {
  const bhttp::verb verb = post ? bhttp::verb::post : bhttp::verb::get;
  const std::string what =
      std::string(bhttp::to_string(verb)) + " " + path + " on " + host + ":" + std::to_string(port);
  // Out of descriptors (EMFILE), the io_context's constructor throws: a failed probe.
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    tcp::resolver resolver(ioc);
    bhttp::request<bhttp::string_body> req(verb, path, 11);
    req.set(bhttp::field::host, host + ":" + std::to_string(port));
    req.set(bhttp::field::connection, "close");
    if (post) {
      req.set(bhttp::field::authorization, "Bearer " + bearer);
      req.set(bhttp::field::content_type, "application/json");
      req.body() = json_body;
      req.prepare_payload();
    }
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 * 1024);
    beast::error_code result;

    stream.expires_after(timeout);
    resolver.async_resolve(
        host, std::to_string(port), [&](beast::error_code ec, tcp::resolver::results_type found) {
          if (ec) {
            result = ec;
            return;
          }
          stream.async_connect(found, [&](beast::error_code ec2, const tcp::endpoint&) {
            if (ec2) {
              result = ec2;
              return;
            }
            bhttp::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
              if (ec3) {
                result = ec3;
                return;
              }
              bhttp::async_read(stream, buffer, parser,
                                [&](beast::error_code ec4, std::size_t) { result = ec4; });
            });
          });
        });
    // The resolver has no deadline of its own; names here are IPs or engine DNS, answered at once.
    ioc.run_for(timeout + std::chrono::milliseconds(100));
    if (!ioc.stopped()) {
      return Unavailable("no answer from " + host + ":" + std::to_string(port) + " within " +
                         std::to_string(timeout.count()) + " ms");
    }
    if (result) return Unavailable(what + ": " + result.message());
    return GatewayAnswer{static_cast<int>(parser.get().result_int()),
                         std::move(parser.get().body())};
  } catch (const boost::system::system_error& e) {
    return Unavailable(what + ": " + e.code().message());
  }
}

}  // namespace berth::lifecycle
