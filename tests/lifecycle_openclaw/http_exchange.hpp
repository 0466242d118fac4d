#pragma once

// A small blocking HTTP/1.1 client for slow exchanges: the agent gateway in its container (at the
// container's IP), whose streamed answers it also times, and berth's agent start, which waits for
// the gateway longer than support/http_client's fixed 10 s. It sends one request with
// `Connection: close` and reads until the server closes, so chunked, Content-Length and
// close-delimited answers are all read whole.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "support/http_client.hpp"

namespace berth::testing {

struct ExchangeResult {
  HttpResult http;             // status 0 when the exchange failed; body de-chunked
  std::string error;           // why it failed, when it did
  std::size_t body_reads = 0;  // socket reads that delivered body bytes
  // From the first to the last body byte received.
  std::chrono::milliseconds body_span{0};
};

// Every read waits at most `timeout` (also the bound for connecting).
ExchangeResult HttpExchange(const std::string& ip, unsigned short port, const std::string& method,
                            const std::string& target, const std::string& body = "",
                            const std::map<std::string, std::string>& headers = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(150));

// The `data:` payloads of a text/event-stream body, in order.
std::vector<std::string> SseData(const std::string& body);

}  // namespace berth::testing
