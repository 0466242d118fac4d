// A client's request bytes through the same Beast parser the server uses (header and body limits
// as in server_session.cpp), then what berth reads from a head before any handler runs: the
// bearer token, the method's metric label, and an error response echoing client text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/request.hpp"

namespace bh = berth::http;
namespace bhttp = berth::bhttp;
namespace beast = berth::beast;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec && !parser.is_header_done()) return 0;
  const bh::BeastRequest& head = parser.get();
  const std::optional<std::string> token = bh::BearerTokenOf(head);
  if (token) {
    // "exactly one non-empty token without whitespace"
    if (token->empty() || token->find_first_of(" \t\r\n") != std::string::npos) __builtin_trap();
  }
  (void)bh::MethodLabel(head.method());
  bh::Response r = bh::ErrorResponse(bhttp::status::not_found, "not_found",
                                     std::string(head.target().data(), head.target().size()));
  r.prepare_payload();
  return 0;
}
